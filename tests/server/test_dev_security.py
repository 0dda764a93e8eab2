"""Every guarded route of the spec (an operation with `security`) on the real app: refused without the token,
with a foreign Origin and with a foreign Host, with no side effect on the real tmux or the worker mock.

tmux is required: these tests fail, never skip, without it.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
import yaml

from tes_contract.contract.schemas import openapi_path
from tes_contract.mocks import MockUpstreams

pytestmark = pytest.mark.tmux
TOKEN = "security-test-token-0123456789"
FILLS = {"name": "keep", "index": "0", "id": "worker-1"}
BODIES = {"createTmuxSession": b'{"name": "made"}'}


def guarded_operations() -> list[tuple[str, str, str]]:
    """(operationId, METHOD, path with its parameters filled) of every operation the spec guards."""
    spec = yaml.safe_load(openapi_path().read_text(encoding="utf-8"))
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("security"):
                filled = path.format(**FILLS)
                found.append((operation["operationId"], method.upper(), filled))
    return found


def test_the_spec_guards_every_state_change_and_both_sensitive_reads():
    ids = {op for op, _, _ in guarded_operations()}
    assert ids == {"createTmuxSession", "killTmuxSession", "captureTmuxPane", "getWorkerSnapshot"}
    spec = yaml.safe_load(openapi_path().read_text(encoding="utf-8"))
    changes = {op["operationId"] for item in spec["paths"].values() for method, op in item.items()
               if method in ("post", "put", "patch", "delete")}
    assert changes <= ids


@pytest.fixture
def tmux_socket():
    assert shutil.which("tmux"), "tmux is required for these tests (apt-get install tmux)"
    name = f"tes-test-{uuid.uuid4().hex[:10]}"
    subprocess.run(["tmux", "-L", name, "new-session", "-d", "-s", "keep", "sleep", "600"], check=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)


def _sessions(socket: str) -> list[str]:
    done = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True,
                          text=True, timeout=10)
    return sorted(done.stdout.split())


@pytest.fixture
async def mocks():
    async with MockUpstreams() as upstreams:
        yield upstreams


REFUSALS = [
    ("no token", {}, 401),
    ("a wrong token", {"Authorization": "Bearer nope"}, 401),
    ("a prefix of the token", {"Authorization": f"Bearer {TOKEN[:-1]}"}, 401),
    ("a foreign Origin", {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}, 403),
    ("Origin null", {"Authorization": f"Bearer {TOKEN}", "Origin": "null"}, 403),
    ("a look-alike Origin", {"Authorization": f"Bearer {TOKEN}", "Origin": "http://127.0.0.1.evil.example"}, 403),
    ("a foreign Host", {"Authorization": f"Bearer {TOKEN}", "Host": "evil.example"}, 403),
    ("a rebinding Host", {"Authorization": f"Bearer {TOKEN}", "Host": "127.0.0.1.evil.example"}, 403),
]


@pytest.mark.parametrize(("operation", "method", "path"), guarded_operations(), ids=lambda v: str(v))
async def test_every_guarded_route_refuses_without_side_effect(operation, method, path, tmux_socket, mocks,
                                                              start_server, http):
    base = await start_server(tmux_socket=tmux_socket, tmux_status_url=mocks.tmux_url,
                              worker_api_url=mocks.worker_url, dev_token=TOKEN)
    await mocks.clear_journal("worker")
    for what, headers, status in REFUSALS:
        async with http.request(method, base + path, headers=headers, data=BODIES.get(operation)) as response:
            assert response.status == status, (what, await response.text())
            if status == 401:
                assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.headers.get("Access-Control-Allow-Origin") != "*"
    assert _sessions(tmux_socket) == ["keep"]  # nothing made, nothing killed
    assert [e for e in await mocks.journal("worker") if e["path"].endswith("/snapshot")] == []
    async with http.request(method, base + path, headers={"Authorization": f"Bearer {TOKEN}"},
                            data=BODIES.get(operation)) as response:
        assert response.status < 400, await response.text()  # the same request with the token acts
