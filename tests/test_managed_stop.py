"""`ManagedServer.stop()` reaps its process even when the caller is cancelled while it waits.

A group is cancelled when its server exits mid-run (and on Ctrl-C); before, that cut `stop()` short while it
awaited `process.wait()`, the child was never reaped, and a later test failed on the ResourceWarning
"subprocess N is still running" from `Popen.__del__` (warnings are errors here).
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from tes_contract.conformance.managed import ManagedServer

# Listens on TES_PORT; on SIGTERM takes 1 s to exit, so a stop() cancelled 0.2 s in is still waiting.
SLOW_EXIT = textwrap.dedent("""
    import os, signal, socket, sys, time
    def leave(*_):
        time.sleep(1.0)
        sys.exit(0)
    signal.signal(signal.SIGTERM, leave)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(os.environ["TES_PORT"])))
    sock.listen()
    while True:
        sock.accept()[0].close()
""")


async def test_a_cancelled_stop_still_reaps_the_process(tmp_path: Path) -> None:
    script = tmp_path / "slow_exit.py"
    script.write_text(SLOW_EXIT)
    server = ManagedServer(f"{sys.executable} {script}", {}, name="slow-exit")
    await server.start()
    process = server.process
    assert process is not None
    stopping = asyncio.ensure_future(server.stop())
    await asyncio.sleep(0.2)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping  # the cancellation still reaches the caller, after the reaping
    assert process.returncode == 0, "stop() returned before the process was reaped"
    assert server.process is None
