"""`/api/dev/tmux/status` from the real tmux on a private socket, and the default tmux upstream (itself).

tmux is required: these tests fail, never skip, without it (CI installs it in .ci/run).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tes_contract.contract.schemas import validator_for
from tes_contract.server.tmux import parse_sessions, tmux_status

from .conftest import get_status

pytestmark = pytest.mark.tmux


@pytest.fixture
def tmux_socket():
    assert shutil.which("tmux"), "tmux is required for these tests (apt-get install tmux)"
    name = f"tes-test-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)


def _tmux(socket: str, *args: str) -> None:
    subprocess.run(["tmux", "-L", socket, *args], check=True, capture_output=True, timeout=10)


async def test_real_tmux_two_sessions_counted(tmux_socket, start_server, tiny_upstream, http):
    _tmux(tmux_socket, "new-session", "-d", "-s", "alpha", "-x", "80", "-y", "24")
    _tmux(tmux_socket, "new-session", "-d", "-s", "beta", "-x", "80", "-y", "24")
    _tmux(tmux_socket, "split-window", "-t", "beta")  # panes are not sessions
    # The default tmux upstream: the server's own /api/dev/tmux/status, over HTTP.
    base = await start_server(tmux_socket=tmux_socket, worker_api_url=tiny_upstream.url, upstream_timeout_ms=3000)

    async with http.get(f"{base}/api/dev/tmux/status") as response:
        assert response.status == 200
        listing = await response.json()
    assert list(validator_for("tmux-status").iter_errors(listing)) == []
    assert listing["online"] is True
    assert sorted(s["name"] for s in listing["sessions"]) == ["alpha", "beta"]
    assert {s["name"]: len(s["panes"]) for s in listing["sessions"]} == {"alpha": 1, "beta": 2}

    body = await get_status(http, base)
    assert body["vector"]["sessions"]["tmux"] == 2

    _tmux(tmux_socket, "kill-server")
    async with http.get(f"{base}/api/dev/tmux/status") as response:
        gone = await response.json()
    assert gone["online"] is False and gone["sessions"] == [] and gone["error"]
    assert list(validator_for("tmux-status").iter_errors(gone)) == []
    assert (await get_status(http, base))["vector"]["sessions"]["tmux"] == 0


async def test_no_tmux_server_is_offline(tmux_socket):
    listing = await tmux_status(tmux_socket)
    assert listing["online"] is False and listing["sessions"] == []
    assert "no server running" in listing["error"] or "error connecting" in listing["error"]


async def test_tmux_missing_is_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    listing = await tmux_status(None)
    assert listing == {"online": False, "sessions": [], "error": "tmux is not installed (not found on PATH)"}


def test_parse_keeps_tabs_in_free_text_and_skips_garbage():
    sessions = "$1\t2\t1\t1700000000\tmy\tname\ngarbage\n$2\tx\t0\t1\tbad\n"
    panes = "$1\t1\tvim\ttitle\twith tab\n$1\t0\tbash\t\n$9\t0\tsh\torphan\n"
    assert parse_sessions(sessions, panes) == [{
        "name": "my\tname", "windows": 2, "attached": True, "created": "2023-11-14T22:13:20Z",
        "panes": [{"index": 0, "title": "", "command": "bash"}, {"index": 1, "title": "title\twith tab",
                                                                 "command": "vim"}],
    }]
