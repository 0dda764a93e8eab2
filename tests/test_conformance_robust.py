"""The harness against a server that misbehaves: a crash mid-run is one finding, reported at once."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from tes_contract.conformance.runner import run_conformance
from tes_contract.errors import SetupError

HOSTILE = Path(__file__).resolve().parent / "servers" / "hostile"


def test_server_killed_mid_run_is_one_finding_and_no_failure() -> None:
    began = time.monotonic()
    command = shlex.join([sys.executable, str(HOSTILE / "crash_after.py"), "1.5"])
    result = run_conformance(server=command, groups=("recovery",), seed=1)
    wall = time.monotonic() - began
    assert [(e.group, e.returncode) for e in result.server_exits] == [("recovery", -9)]
    assert "SIGKILL" in result.server_exits[0].description
    # What the dying server answered is its exit, not failures of the clauses in play.
    assert result.failed_clauses() == set()
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
