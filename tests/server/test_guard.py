"""The guard of the whole server (DEV-HOST, DEV-ORIGIN, DEV-AUTH, the 64 KiB bound) on a real socket.

A test feature registers one guarded POST that counts its calls: every refusal must leave the count at 0
(DEV-NOSIDE), and the refusals come in the pinned order Host -> route/method -> Origin -> token -> size.
"""

from __future__ import annotations

import io
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import hdrs, web
from aiohttp.test_utils import TestServer

from tes_contract.errors import ConfigError
from tes_contract.server import Settings, create_app, logs
from tes_contract.server.http import accounted, guarded, json_response, method_not_allowed
from tes_contract.server.security import MAX_BODY_BYTES, TOKEN_FILE, load_token
from tes_contract.server.state import GUARD, TRAFFIC

ACTION = "/api/dev/test-action"
TOKEN = "s3cret-Token_value"
CALLS = web.AppKey("calls", list)


def _feature(app: web.Application) -> None:
    app[CALLS] = []

    async def act(request: web.Request, body: bytes) -> web.StreamResponse:
        request.app[CALLS].append(body)
        return json_response({"ok": True})

    resource = app.router.add_resource(ACTION)
    resource.add_route(hdrs.METH_POST, accounted(app[TRAFFIC], guarded(act)))
    resource.add_route(hdrs.METH_ANY, accounted(app[TRAFFIC], method_not_allowed("POST"), route_served=False))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestServer, aiohttp.ClientSession]]:
    app = create_app(Settings(dev_token=TOKEN, state_dir=str(tmp_path)), features=(_feature,))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield server, session
    await server.close()


async def _post(served: tuple[TestServer, aiohttp.ClientSession], headers: dict[str, str],
                body: bytes = b"{}", path: str = ACTION, method: str = "POST") -> aiohttp.ClientResponse:
    server, session = served
    async with session.request(method, server.make_url(path), data=body, headers=headers) as response:
        await response.read()
        return response


GOOD = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("authorization", [None, "Bearer", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN.upper()}",
                                           f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer other"])
async def test_missing_or_wrong_token_is_401_without_side_effect(served, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await _post(served, headers)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert served[0].app[CALLS] == []


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_right_token_in_any_scheme_case_reaches_the_handler(served, scheme):
    response = await _post(served, {"Authorization": f"{scheme} {TOKEN}", "Origin": f"http://127.0.0.1:{served[0].port}"})
    assert response.status == 200 and served[0].app[CALLS] == [b"{}"]


@pytest.mark.parametrize("origin", ["null", "http://127.0.0.1.evil.example", "http://evil.example",
                                    "http://localhost:1"])
async def test_foreign_origin_is_403_before_the_token(served, origin):
    for headers in ({"Origin": origin}, {**GOOD, "Origin": origin}):
        response = await _post(served, headers)
        assert response.status == 403
    assert served[0].app[CALLS] == []


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "evil.example:80", "localhost.evil"])
async def test_foreign_host_is_403_on_every_route_first(served, host):
    for path, method in ((ACTION, "POST"), (ACTION, "GET"), ("/api/dev/status", "GET"), ("/nowhere", "GET")):
        response = await _post(served, {**GOOD, "Host": host, "Origin": "http://evil.example"}, path=path,
                               method=method)
        assert response.status == 403, (path, method)
    assert served[0].app[CALLS] == []


async def test_method_is_judged_before_origin_and_token(served):
    response = await _post(served, {"Origin": "http://evil.example"}, method="PUT")
    assert response.status == 405 and response.headers["Allow"] == "POST"


async def test_body_past_64_kib_is_413_after_the_token(served):
    assert (await _post(served, {}, b"x" * (MAX_BODY_BYTES + 1))).status == 401
    assert (await _post(served, GOOD, b"x" * (MAX_BODY_BYTES + 1))).status == 413
    assert served[0].app[CALLS] == []
    assert (await _post(served, GOOD, b"x" * MAX_BODY_BYTES)).status == 200


def test_generated_token_file_is_0600_new_each_start_and_never_the_env_default(tmp_path: Path):
    settings = Settings(state_dir=str(tmp_path / "state"))
    first, path = load_token(settings)
    assert path == tmp_path / "state" / TOKEN_FILE and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first and len(first) >= 43  # 32 random bytes, URL-safe base64
    path.chmod(0o644)
    second, _ = load_token(settings)
    assert second != first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token(Settings(dev_token=TOKEN, state_dir=str(tmp_path / "other"))) == (TOKEN, None)
    assert not (tmp_path / "other").exists()


async def test_the_log_names_the_token_file_never_the_token(tmp_path: Path):
    stream = io.StringIO()
    handler = logs.configure("debug", stream)
    try:
        app = create_app(Settings(state_dir=str(tmp_path)), features=(_feature,))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        token = app[GUARD].token
        async with aiohttp.ClientSession() as session:
            async with session.post(server.make_url(ACTION), headers={"Authorization": f"Bearer {token}x"}) as r:
                assert r.status == 401
        await server.close()
    finally:
        logs.logger.removeHandler(handler)
    text = stream.getvalue()
    assert str(tmp_path / TOKEN_FILE) in text and token not in text


def test_a_state_dir_that_is_a_file_is_a_config_error_naming_it(tmp_path: Path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="TES_STATE_DIR='.*file': cannot write the dev token"):
        load_token(Settings(state_dir=str(tmp_path / "file")))
