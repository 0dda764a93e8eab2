#!/usr/bin/env python3
"""Run the independent Python status server, then SIGKILL it (and this wrapper) N s after it listens.

    python tests/servers/hostile/crash_after.py SECONDS

A server that crashes mid-run: the harness must report the exit once, not a flood of failures.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "py_status_server.py"


def main() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    child = os.fork()
    if child == 0:
        os.execv(sys.executable, [sys.executable, str(SERVER)])
    port = int(os.environ.get("TES_PORT", "3002"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(delay)
    os.kill(child, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main()
