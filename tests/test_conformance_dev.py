"""The dev groups (dev-tmux, dev-snapshot, dev-security) against the reference server, in managed mode.

Needs tmux (CI installs it): fails, never skips, without it. The run must pass every dev clause these groups
judge and leave no tmux server and no server process behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tes_contract.conformance.runner import Options, run_conformance

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("dev-tmux", "dev-snapshot", "dev-security")
JUDGED = {"DEV-TMUX-CONTROL", "DEV-SNAPSHOT", "DEV-AUTH", "DEV-ORIGIN", "DEV-HOST", "DEV-NOSIDE"}

pytestmark = pytest.mark.tmux


def test_dev_groups_pass_the_reference_server_and_leave_nothing_behind():
    assert shutil.which("tmux"), "tmux is required (apt-get install tmux)"
    result = run_conformance(Options(server=f"{sys.executable} -m tes_contract serve", profiles=("core", "dev"),
                                     groups=GROUPS, cwd=str(ROOT), seed=3))
    assert result.failures == [], "\n".join(f"{f.clause} [{f.scenario}] {f.expected}; {f.observed}"
                                            for f in result.failures[:10])
    assert {clause: result.status_of(clause) for clause in JUDGED} == dict.fromkeys(JUDGED, "passed")
    for group in GROUPS:  # private_state's socket names: the tmux server of each group is gone
        socket_name = f"tes-conform-{os.getpid()}-{group}"
        done = subprocess.run(["tmux", "-L", socket_name, "list-sessions"], capture_output=True, timeout=10)
        assert done.returncode != 0, f"tmux sessions left on {socket_name}: {done.stdout!r}"
        socket_file = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket_name
        assert not socket_file.exists(), f"tmux socket file left: {socket_file}"
    for server in result.servers:
        pid = int(str(server["pid"]))
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
