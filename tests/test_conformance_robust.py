"""The harness against a server that misbehaves: a crash mid-run is one finding, reported at once (managed
and live mode), and a payload group never shrinks towards a dead server."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from tes_contract.conformance.managed import ManagedServer
from tes_contract.conformance.runner import Options, arun_conformance, run_conformance
from tes_contract.errors import SetupError

HOSTILE = Path(__file__).resolve().parent / "servers" / "hostile"


def test_server_killed_mid_run_is_one_finding_and_no_failure() -> None:
    began = time.monotonic()
    command = shlex.join([sys.executable, str(HOSTILE / "crash_after.py"), "1.5"])
    result = run_conformance(server=command, groups=("recovery",), seed=1)
    wall = time.monotonic() - began
    assert [(e.group, e.returncode) for e in result.server_exits] == [("recovery", -9)]
    assert "SIGKILL" in result.server_exits[0].description
    # What the dying server answered is its exit (one SERVER-ALIVE failure), not failures of the clauses in play.
    assert result.failed_clauses() == {"SERVER-ALIVE"}, result.failures
    [failure] = result.failures
    assert "killed by signal SIGKILL" in failure.observed and "listening" in failure.observed
    assert result.exit_code == 1
    assert "recovery" in result.stopped_groups
    # The recovery group takes ~6 s on a healthy server; a crash must not make it longer (30 s: a busy CI).
    assert wall < 30, wall


def test_start_failure_names_the_group_and_the_output() -> None:
    command = shlex.join([sys.executable, "-c", "import sys; print('state file locked'); sys.exit(2)"])
    began = time.monotonic()
    with pytest.raises(SetupError) as caught:
        run_conformance(server=command, groups=("tmux", "worker"), seed=1)
    assert time.monotonic() - began < 30
    message = str(caught.value)
    assert message.startswith("group ") and "exited with code 2" in message and "state file locked" in message


def test_payload_group_stops_on_a_dead_server_without_shrinking() -> None:
    began = time.monotonic()
    command = shlex.join([sys.executable, str(HOSTILE / "crash_after.py"), "1"])
    events: list[str] = []
    result = run_conformance(server=command, groups=("payloads-worker",), seed=1, examples=300,
                             on_event=lambda kind, text: events.append(text))
    # 300 examples take ~30 s on a healthy server; the crash ends the group at once (20 s: a busy CI).
    assert time.monotonic() - began < 20, events
    assert [(e.group, e.returncode) for e in result.server_exits] == [("payloads-worker", -9)], events
    assert result.failed_clauses() == {"SERVER-ALIVE"}, result.failures
    assert not any("minimal failing payload" in text for text in events)


async def test_live_server_going_away_mid_run_is_reported_once() -> None:
    env = {"TES_TMUX_STATUS_URL": "http://127.0.0.1:9/tmux", "TES_WORKER_API_URL": "http://127.0.0.1:9"}
    command = shlex.join([sys.executable, str(HOSTILE.parent / "py_status_server.py")])
    began = time.monotonic()
    async with ManagedServer(command, env, name="live-target") as server:
        assert server.process is not None
        pgid = server.process.pid
        killer = asyncio.get_running_loop().call_later(1.5, os.killpg, pgid, signal.SIGKILL)
        try:
            result = await arun_conformance(Options(url=server.url, groups=("http",), examples=500))
        finally:
            killer.cancel()
    # 500 examples take over a minute on a live server; it is gone 1.5 s in, seen ~1.5 s later (30 s: busy CI).
    assert time.monotonic() - began < 30
    assert len(result.server_exits) == 1, (result.stopped_groups, result.failed_clauses())
    [gone] = result.server_exits
    assert gone.group == "http" and gone.description == f"stopped accepting connections at {server.url}"
    assert result.exit_code == 1
    assert "http" in result.stopped_groups
