"""The control API (its own port, so `down` can close a mock's listener) and `MockControl`, its client."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tes_contract.errors import ToolError
from tes_contract.mocks.scenarios import UPSTREAMS

if TYPE_CHECKING:
    import httpx

    from tes_contract.mocks.upstreams import MockUpstreams

MOCKS: web.AppKey[MockUpstreams] = web.AppKey("mocks")
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
    name = request.match_info["name"]
    if name not in UPSTREAMS:
        raise ToolError(f"unknown upstream {name!r}; known: {', '.join(UPSTREAMS)}")
    return name


async def put_scenario(request: web.Request) -> web.Response:
    """PUT /upstreams/{name}/scenario: switch a mock's scenario."""
    name = _upstream(request)
    return web.json_response(await request.app[MOCKS].set(name, await _json_object(request)))


async def get_scenario(request: web.Request) -> web.Response:
    """GET /upstreams/{name}/scenario."""
    return web.json_response(request.app[MOCKS].get(_upstream(request)))


async def get_journal(request: web.Request) -> web.Response:
    """GET /upstreams/{name}/journal: the requests the mock received, oldest first."""
    name = _upstream(request)
    return web.json_response({"upstream": name, "entries": request.app[MOCKS].journal(name)})


async def delete_journal(request: web.Request) -> web.Response:
    """DELETE /upstreams/{name}/journal."""
    name = _upstream(request)
    return web.json_response({"upstream": name, "cleared": request.app[MOCKS].clear_journal(name)})


async def post_reset(request: web.Request) -> web.Response:
    """POST /reset: both mocks healthy, journals empty, timeline stopped."""
    mocks = request.app[MOCKS]
    await mocks.reset()
    return web.json_response({"reset": True, "upstreams": {name: mocks.get(name) for name in UPSTREAMS}})


async def put_settings(request: web.Request) -> web.Response:
    """PUT /settings {"client_timeout_ms": N}: the timeout `"0.8x"` delays are fractions of."""
    document = await _json_object(request)
    unknown = sorted(set(document) - {"client_timeout_ms"})
    if unknown:
        raise ToolError(f"unknown setting {unknown[0]!r}; known: client_timeout_ms")
    mocks = request.app[MOCKS]
    if "client_timeout_ms" in document:
        mocks.set_client_timeout(document["client_timeout_ms"])
    return web.json_response(mocks.settings_dict())


async def get_settings(request: web.Request) -> web.Response:
    """GET /settings."""
    return web.json_response(request.app[MOCKS].settings_dict())


async def put_timeline(request: web.Request) -> web.Response:
    """PUT /timeline: run a timeline document (JSON form of the YAML file) from now."""
    mocks = request.app[MOCKS]
    await mocks.run_timeline(await _json_object(request))
    return web.json_response({"upstreams": {name: mocks.get(name) for name in UPSTREAMS}})


async def get_index(request: web.Request) -> web.Response:
    """GET /: the URLs of the mocks."""
    return web.json_response(request.app[MOCKS].urls())


def create_control_app(mocks: MockUpstreams) -> web.Application:
    """Build the control API application for a running `MockUpstreams`."""
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


class MockControlError(ToolError):
    """The control API refused a request (its 400 message is the text)."""


class MockControl:
    """Async client of the control API, for mocks running in another process.

    Example:
        async with MockControl("http://127.0.0.1:3005") as control:
            await control.set("worker", "slow", delay="0.8x")
            entries = await control.journal("worker")
    """

    def __init__(self, control_url: str, timeout_s: float = 10.0) -> None:
        # Imported here: httpx costs ~0.1 s to import, which `import tes_contract` would pay for everyone.
        import httpx

        self.control_url = control_url.rstrip("/")
        self._client: httpx.AsyncClient = httpx.AsyncClient(base_url=self.control_url, timeout=timeout_s)
        self._errors: tuple[type[Exception], ...] = (httpx.HTTPError,)

    async def __aenter__(self) -> MockControl:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except self._errors as exc:
            raise MockControlError(f"control API {self.control_url} unreachable: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise MockControlError(f"control API {method} {path}: {response.status_code} {message}")
        return response.json()

    async def set(self, upstream: str, scenario: str | dict[str, Any], **params: Any) -> dict[str, Any]:
        """Set an upstream's scenario; same semantics as `MockUpstreams.set`."""
        request = {"scenario": scenario, **params} if isinstance(scenario, str) else {**scenario, **params}
        result: dict[str, Any] = await self._call("PUT", f"/upstreams/{upstream}/scenario", request)
        return result

    async def get(self, upstream: str) -> dict[str, Any]:
        """Return the scenario of an upstream."""
        result: dict[str, Any] = await self._call("GET", f"/upstreams/{upstream}/scenario")
        return result

    async def journal(self, upstream: str) -> list[dict[str, Any]]:
        """Return the journal entries of an upstream, oldest first."""
        result: list[dict[str, Any]] = (await self._call("GET", f"/upstreams/{upstream}/journal"))["entries"]
        return result

    async def clear_journal(self, upstream: str) -> int:
        """Forget an upstream's journal; return how many entries it had."""
        return int((await self._call("DELETE", f"/upstreams/{upstream}/journal"))["cleared"])

    async def clear(self, upstream: str) -> int:
        """Alias of `clear_journal`."""
        return await self.clear_journal(upstream)

    async def reset(self) -> None:
        """Both mocks healthy, journals empty, timeline stopped."""
        await self._call("POST", "/reset")

    async def set_client_timeout(self, client_timeout_ms: float) -> None:
        """Tell the mocks the server's upstream timeout."""
        await self._call("PUT", "/settings", {"client_timeout_ms": client_timeout_ms})

    async def run_timeline(self, document: dict[str, Any]) -> dict[str, Any]:
        """Run a timeline document from now."""
        result: dict[str, Any] = await self._call("PUT", "/timeline", document)
        return result

    async def urls(self) -> dict[str, str]:
        """Return the URLs of the mocks."""
        result: dict[str, str] = await self._call("GET", "/")
        return result
