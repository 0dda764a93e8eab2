"""The control API of the mocks, on its own port (so `down` can close a mock's listener).

Its handlers drive any `MockApi`: `MockUpstreams` serves it; `MockControl` is its HTTP client.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tes_contract.errors import ToolError
from tes_contract.mocks.api import MockApi
from tes_contract.mocks.scenarios import UPSTREAMS, check_upstream

MOCKS: web.AppKey[MockApi] = web.AppKey("mocks", MockApi)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def _errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bad input is a 400 naming the bad part; unknown paths and methods answer JSON too."""
    try:
        return await handler(request)
    except ToolError as exc:  # ScenarioError, ConfigError of a timeline...: the caller's input is wrong
        return _error(400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _error(exc.status, f"{exc.reason}: {request.method} {request.path}")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        document = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ToolError(f"request body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ToolError("request body must be a JSON object")
    return document


def _upstream(request: web.Request) -> str:
    return check_upstream(request.match_info["name"])


async def put_scenario(request: web.Request) -> web.Response:
    """PUT /upstreams/{name}/scenario: switch a mock's scenario."""
    name = _upstream(request)
    return web.json_response(await request.app[MOCKS].set(name, await _json_object(request)))


async def get_scenario(request: web.Request) -> web.Response:
    """GET /upstreams/{name}/scenario."""
    return web.json_response(await request.app[MOCKS].get(_upstream(request)))


async def get_journal(request: web.Request) -> web.Response:
    """GET /upstreams/{name}/journal: the requests the mock received, oldest first."""
    name = _upstream(request)
    return web.json_response({"upstream": name, "entries": await request.app[MOCKS].journal(name)})


async def delete_journal(request: web.Request) -> web.Response:
    """DELETE /upstreams/{name}/journal."""
    name = _upstream(request)
    return web.json_response({"upstream": name, "cleared": await request.app[MOCKS].clear_journal(name)})


async def _all_scenarios(mocks: MockApi) -> dict[str, Any]:
    return {name: await mocks.get(name) for name in UPSTREAMS}


async def post_reset(request: web.Request) -> web.Response:
    """POST /reset: every mock healthy, journals empty, timeline stopped."""
    mocks = request.app[MOCKS]
    await mocks.reset()
    return web.json_response({"reset": True, "upstreams": await _all_scenarios(mocks)})


async def put_settings(request: web.Request) -> web.Response:
    """PUT /settings {"client_timeout_ms": N}: the timeout `"0.8x"` delays are fractions of."""
    document = await _json_object(request)
    unknown = sorted(set(document) - {"client_timeout_ms"})
    if unknown:
        raise ToolError(f"unknown setting {unknown[0]!r}; known: client_timeout_ms")
    mocks = request.app[MOCKS]
    if "client_timeout_ms" in document:
        return web.json_response(await mocks.set_client_timeout(document["client_timeout_ms"]))
    return web.json_response(await mocks.settings())


async def get_settings(request: web.Request) -> web.Response:
    """GET /settings."""
    return web.json_response(await request.app[MOCKS].settings())


async def put_timeline(request: web.Request) -> web.Response:
    """PUT /timeline: run a timeline document (JSON form of the YAML file) from now."""
    return web.json_response(await request.app[MOCKS].run_timeline(await _json_object(request)))


async def get_index(request: web.Request) -> web.Response:
    """GET /: the URLs of the mocks."""
    return web.json_response(await request.app[MOCKS].urls())


def create_control_app(mocks: MockApi) -> web.Application:
    """Build the control API application for running mocks."""
    app = web.Application(middlewares=[_errors_as_json])
    app[MOCKS] = mocks
    app.router.add_get("/", get_index)
    app.router.add_put("/upstreams/{name}/scenario", put_scenario)
    app.router.add_get("/upstreams/{name}/scenario", get_scenario)
    app.router.add_get("/upstreams/{name}/journal", get_journal)
    app.router.add_delete("/upstreams/{name}/journal", delete_journal)
    app.router.add_post("/reset", post_reset)
    app.router.add_get("/settings", get_settings)
    app.router.add_put("/settings", put_settings)
    app.router.add_put("/timeline", put_timeline)
    return app
