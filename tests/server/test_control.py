"""tmux control (DEV-TMUX-CONTROL) on the real tmux, a private socket per test, through the guard.

tmux is required: these tests fail, never skip, without it (CI installs it in .ci/run).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tes_contract.server.tmux_control import tmux_args

from .conftest import get_status

pytestmark = pytest.mark.tmux
TOKEN = "control-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SESSIONS = "/api/dev/tmux/sessions"


@pytest.fixture
def tmux_socket():
    assert shutil.which("tmux"), "tmux is required for these tests (apt-get install tmux)"
    name = f"tes-test-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)


def _names(socket: str) -> list[str]:
    done = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True,
                          text=True, timeout=10)
    return sorted(done.stdout.split()) if done.returncode == 0 else []


@pytest.fixture
async def base(tmux_socket, start_server, tiny_upstream):
    return await start_server(tmux_socket=tmux_socket, worker_api_url=tiny_upstream.url, dev_token=TOKEN,
                              upstream_timeout_ms=3000)


async def _call(http, method, url, **kwargs):
    async with http.request(method, url, **kwargs) as response:
        body = await response.read()
        return response.status, response.headers, body


async def test_create_is_201_with_the_session_and_the_status_shows_it(base, http, tmux_socket):
    status, headers, body = await _call(http, "POST", base + SESSIONS, headers=AUTH,
                                        json={"name": "web", "command": ["sleep", "60"]})
    assert status == 201, body
    session = json.loads(body)
    assert session["name"] == "web" and session["panes"][0]["index"] == 0
    assert headers["Location"] == f"{SESSIONS}/web"
    assert _names(tmux_socket) == ["web"]
    assert (await get_status(http, base))["vector"]["sessions"]["tmux"] == 1
    async with http.get(base + "/api/dev/tmux/status") as response:
        assert [s["name"] for s in (await response.json())["sessions"]] == ["web"]


async def test_duplicate_is_409_and_missing_kill_is_404_from_tmux_state(base, http, tmux_socket):
    assert (await _call(http, "POST", base + SESSIONS, headers=AUTH, json={"name": "dup"}))[0] == 201
    status, _, body = await _call(http, "POST", base + SESSIONS, headers=AUTH, json={"name": "dup"})
    assert status == 409 and b"duplicate session" in body
    assert (await _call(http, "DELETE", f"{base}{SESSIONS}/du", headers=AUTH))[0] == 404  # no prefix match
    assert _names(tmux_socket) == ["dup"]
    assert (await _call(http, "DELETE", f"{base}{SESSIONS}/dup", headers=AUTH))[0] == 204
    assert _names(tmux_socket) == []
    assert (await get_status(http, base))["vector"]["sessions"]["tmux"] == 0
    assert (await _call(http, "DELETE", f"{base}{SESSIONS}/dup", headers=AUTH))[0] == 404


@pytest.mark.parametrize("document", [
    {"name": "a.b"}, {"name": ""}, {"name": "x" * 65}, {"name": "a b"}, {"name": "a;b"}, {"name": 5}, {},
    {"name": "ok", "command": "sleep 5"}, {"name": "ok", "command": []}, {"name": "ok", "command": ["a", 1]},
    {"name": "ok", "command": ["X=1", "sh"]}, {"name": "ok", "extra": 1}, ["ok"],
])
async def test_bad_bodies_are_400_naming_the_field_and_leave_tmux_alone(base, http, tmux_socket, document):
    status, _, body = await _call(http, "POST", base + SESSIONS, headers=AUTH, json=document)
    assert status == 400, body
    assert any(word in body for word in (b"name", b"command", b"extra", b"object"))
    assert _names(tmux_socket) == []


async def test_not_json_is_400(base, http, tmux_socket):
    status, _, body = await _call(http, "POST", base + SESSIONS, headers=AUTH, data=b"{nope")
    assert status == 400 and b"not JSON" in body


async def test_command_is_argv_never_a_shell_nor_tmux_commands(base, http, tmux_socket, tmp_path: Path):
    marker = tmp_path / "pwned"
    command = ["sh", "-c", "sleep 60", "x;", "kill-server", f"; touch {marker}", f"$(touch {marker})"]
    status, _, body = await _call(http, "POST", base + SESSIONS, headers=AUTH, json={"name": "argv",
                                                                                      "command": command})
    assert status == 201, body
    await asyncio.sleep(0.3)
    assert _names(tmux_socket) == ["argv"] and not marker.exists()  # tmux server alive, nothing touched


def test_a_trailing_semicolon_is_escaped_for_tmux():
    assert tmux_args(["echo", "a;", ";", "a\\;", "mid;dle"]) == ["env", "--", "echo", "a\\;", "\\;", "a\\\\;",
                                                                 "mid;dle"]


async def test_capture_gives_the_last_lines_bounded(base, http, tmux_socket):
    command = ["sh", "-c", "for i in $(seq 1 30); do echo line$i; done; sleep 60"]
    created = await _call(http, "POST", base + SESSIONS, headers=AUTH, json={"name": "cap", "command": command})
    assert created[0] == 201
    url = f"{base}{SESSIONS}/cap/panes/0/capture"
    text = ""
    for _ in range(50):  # the shell prints within milliseconds; wait for it on a busy machine
        status, _, body = await _call(http, "GET", url + "?lines=3", headers=AUTH)
        assert status == 200
        text = json.loads(body)["text"]
        if text.endswith("line30"):
            break
        await asyncio.sleep(0.1)
    assert text == "line28\nline29\nline30"
    for bad in ("?lines=0", "?lines=5001", "?lines=x", "?lines=-1"):
        assert (await _call(http, "GET", url + bad, headers=AUTH))[0] == 400, bad
    assert (await _call(http, "GET", f"{base}{SESSIONS}/cap/panes/7/capture", headers=AUTH))[0] == 404
    assert (await _call(http, "GET", f"{base}{SESSIONS}/none/panes/0/capture", headers=AUTH))[0] == 404
    assert (await _call(http, "GET", f"{base}{SESSIONS}/cap/panes/x/capture", headers=AUTH))[0] == 400


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", SESSIONS, "POST"), ("GET", SESSIONS, "POST"), ("POST", SESSIONS + "/x", "DELETE"),
    ("POST", SESSIONS + "/x/panes/0/capture", "GET"),
])
async def test_other_methods_are_405_with_allow(base, http, method, path, allow):
    status, headers, _ = await _call(http, method, base + path, headers=AUTH)
    assert status == 405 and headers["Allow"] == allow
