"""`create_app(settings)`: the aiohttp application of the reference server, state typed with `web.AppKey`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import hdrs, web
from jsonschema.protocols import Validator
from multidict import CIMultiDict, CIMultiDictProxy

from tes_contract.contract.schemas import validator_for
from tes_contract.server.breaker import SingleFlight
from tes_contract.server.collectors import (
    STATUS_VERSION,
    Clock,
    ProcessMetrics,
    RouteCounts,
    SharedSnapshot,
    StatusSources,
    Upstreams,
    dumps,
)
from tes_contract.server.logs import log_event
from tes_contract.server.settings import Settings
from tes_contract.server.tmux import tmux_status
from tes_contract.server.traffic import TrafficWindow
from tes_contract.server.upstreams import fetch_json, worker_reason
from tes_contract.server.websockets import WebSocketRegistry

STATUS_PATH = "/api/dev/status"
TMUX_PATH = "/api/dev/tmux/status"
WORKERS_PATH = "/api/dev/workers"
#: Matches every path; registered last, it answers the JSON 404.
FALLBACK_PATH = "/{tail:.*}"
#: tmux itself answers in milliseconds; a stuck tmux server must not hold the endpoint longer than this.
TMUX_TIMEOUT_S = 2.0


class SelfAddress:
    """The server's own base URL, learnt from the socket a request arrived on (the port may be 0 at start)."""

    __slots__ = ("base",)

    def __init__(self) -> None:
        self.base: str | None = None

    def learn(self, request: web.Request) -> None:
        """Remember `http://HOST:PORT` of the local end of this request's connection."""
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        if isinstance(sockname, tuple) and len(sockname) >= 2:
            host = str(sockname[0])
            self.base = f"http://[{host}]:{sockname[1]}" if ":" in host else f"http://{host}:{sockname[1]}"

    def tmux_url(self) -> str:
        """The default tmux-status upstream: this server's own /api/dev/tmux/status."""
        return f"{self.base or 'http://127.0.0.1:3002'}{TMUX_PATH}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS = web.AppKey("settings", Settings)
TRAFFIC = web.AppKey("traffic", TrafficWindow)
WEBSOCKETS = web.AppKey("websockets", WebSocketRegistry)
SELF_ADDRESS = web.AppKey("self_address", SelfAddress)
SESSION = web.AppKey("client_session", aiohttp.ClientSession)
UPSTREAMS = web.AppKey("upstreams", Upstreams)
SOURCES = web.AppKey("status_sources", StatusSources)
SNAPSHOTS = web.AppKey("shared_snapshot", SharedSnapshot)
TMUX_LISTING = web.AppKey("tmux_listing", SingleFlight[dict[str, Any]])
WORKER_VALIDATOR = web.AppKey("worker_validator", Validator)


#: The contract's headers on every JSON answer: the type, no-cache and the status version (built once; aiohttp
#: copies them into each response, cheaper than setting them one by one).
JSON_HEADERS = CIMultiDictProxy(CIMultiDict({hdrs.CONTENT_TYPE: "application/json", hdrs.CACHE_CONTROL: "no-cache",
                                             "X-TES-Status-Version": STATUS_VERSION}))


def json_response(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with the contract's headers: no-cache and the status version."""
    return json_bytes_response(dumps(document), status, headers)


def json_bytes_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """`json_response` for a body already encoded."""
    response = web.Response(body=body, status=status, headers=JSON_HEADERS)  # copied, not shared
    if headers:
        response.headers.update(headers)
    return response


def error_response(status: int, error: str, resolution: str, headers: dict[str, str] | None = None) -> web.Response:
    """`{"error", "resolution"}` (schemas/error.json): plain text, no colour codes, no stack trace."""
    return json_response({"error": _printable(error), "resolution": _printable(resolution)}, status, headers)


async def status_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/status: both upstreams concurrently, then the snapshot; 503 only if assembly fails."""
    app = request.app
    address = app[SELF_ADDRESS]
    if address.base is None:
        address.learn(request)
    try:
        tmux, worker = await app[UPSTREAMS].both()
        return json_bytes_response(app[SNAPSHOTS].body(app[SOURCES], tmux, worker))
    except Exception:
        log_event("status_assembly_failed", level=logging.ERROR, exc_info=True)
        return error_response(503, "status assembly failed", "a server fault, not an upstream one: see the server "
                              "log (one JSON line per event on stderr) and retry")


async def tmux_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/tmux/status: the real tmux's sessions in the tmux-status shape."""
    return json_response(await request.app[TMUX_LISTING]())


async def workers_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/workers: the worker API's workers; 503 when it cannot be reached."""
    app = request.app
    settings = app[SETTINGS]
    answer = await fetch_json(app[SESSION], settings.worker_status_url, settings.upstream_timeout_s)
    if not answer.answered:
        return error_response(503, f"worker API unreachable at {settings.worker_status_url}: {answer.reason}",
                              "start the worker API or point TES_WORKER_API_URL at it")
    body = answer.body
    if not answer.ok or not app[WORKER_VALIDATOR].is_valid(body):
        return error_response(502, f"worker API answered badly at {settings.worker_status_url}: "
                              f"{worker_reason(answer)}", "fix the worker API (schemas/worker-status.json)")
    return json_response({"connected": body["connected"], "workers": body["workers"]})


def accounted(window: TrafficWindow, handler: Handler, *, route_served: bool = True) -> Handler:
    """`handler` inside the traffic accounting, its errors answered as JSON.

    Accounting: requests in flight, and each completed request's status and latency in `window`, the
    final status included (the JSON 500 for a bug is made here, inside the accounting). Errors: an
    `HTTPException` with status >= 400 and any other exception become JSON bodies (schemas/error.json).
    `route_served`: the request counts as its route serving one (`activeRoutes`); not for the fallbacks
    answering 404 and 405.

    Why not an aiohttp middleware: with any middleware, aiohttp runs every request through its middleware
    chain (an extra coroutine of its own, a cache lookup and ours), which cost about 15 us a status
    request under load, a seventh of the whole; wrapping each handler once does the same work for the
    routes there are, and the fallback routes (`not_found`, `method_not_allowed`) bring 404 and 405 into it.
    WebSocket routes are registered without it: an open WebSocket is counted as a WebSocket connection,
    not as an HTTP request in flight for its whole life.
    """
    record = window.record
    clock = time.perf_counter

    async def answer(request: web.Request) -> web.StreamResponse:
        if route_served:
            window.touch_route(request.match_info.route)
        window.in_flight += 1
        started = clock()
        status: int | None = None
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = error_response(exc.status, exc.reason, "see the API description (openapi.yaml)")
            except Exception:
                log_event("handler_failed", level=logging.ERROR, exc_info=True, path=request.path)
                response = error_response(500, "internal server error", "see the server log")
            status = response.status
            return response
        finally:  # status None: cancelled (shutdown) or a redirect raised, not a completed request
            window.in_flight -= 1
            if status is not None:
                record(status, (clock() - started) * 1000)

    return answer


async def not_found(request: web.Request) -> web.StreamResponse:
    """The fallback for unknown paths: a JSON 404 listing the endpoints."""
    return error_response(404, f"no endpoint at {request.path}", f"endpoints: {', '.join(_paths(request.app))}")


def method_not_allowed(allowed: str) -> Handler:
    """The fallback for other methods on a known path: a JSON 405 with `Allow`."""

    async def answer(request: web.Request) -> web.StreamResponse:
        return error_response(405, f"method {request.method} not allowed on {request.path}", f"use {allowed}",
                              {"Allow": allowed})

    return answer


def add_endpoint(app: web.Application, path: str, handler: Handler) -> None:
    """GET and HEAD on `path` through `handler`, accounted; other methods get the JSON 405."""
    traffic = app[TRAFFIC]
    resource = app.router.add_resource(path)
    answer = accounted(traffic, handler)
    for method in (hdrs.METH_GET, hdrs.METH_HEAD):  # what router.add_get does
        resource.add_route(method, answer)
    allowed = ", ".join(sorted(route.method for route in resource))
    resource.add_route(hdrs.METH_ANY, accounted(traffic, method_not_allowed(allowed), route_served=False))


def create_app(settings: Settings) -> web.Application:
    """Build the application; client session, upstream guards and metrics sources start with it.

    Args:
        settings: validated settings (`Settings.from_env()`).

    Example:
        web.run_app(create_app(Settings.from_env()), access_log=None)
    """
    traffic = TrafficWindow()
    app = web.Application()
    app[SETTINGS] = settings
    app[TRAFFIC] = traffic
    app[WEBSOCKETS] = WebSocketRegistry()
    app[SELF_ADDRESS] = SelfAddress()
    app[WORKER_VALIDATOR] = validator_for("worker-status")
    app[SNAPSHOTS] = SharedSnapshot()

    async def list_tmux() -> dict[str, Any]:
        return await tmux_status(settings.tmux_socket, min(TMUX_TIMEOUT_S, settings.upstream_timeout_s))

    app[TMUX_LISTING] = SingleFlight(list_tmux)
    add_endpoint(app, STATUS_PATH, status_handler)
    add_endpoint(app, TMUX_PATH, tmux_handler)
    add_endpoint(app, WORKERS_PATH, workers_handler)
    # Last, and indexed under "/": every known path resolves before it (aiohttp's resolver walks the
    # request path from the longest prefix down).
    app.router.add_route(hdrs.METH_ANY, FALLBACK_PATH, accounted(traffic, not_found, route_served=False))
    app.cleanup_ctx.append(_upstreams_ctx)
    app.on_shutdown.append(_close_websockets)
    return app


async def _upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    """One client session for every upstream call, and the guards around it, for the app's lifetime."""
    settings = app[SETTINGS]
    # Naive mode opens a connection per request like the original; guarded mode needs a handful at most.
    # Idle keep-alive connections are dropped after 2 s, before common servers drop theirs (Node: 5 s), so
    # a call rarely meets a connection the upstream has just closed.
    connector = aiohttp.TCPConnector(limit=0 if settings.naive else 100, keepalive_timeout=2.0)
    session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                    timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout_s))
    # aiohttp silently resends an idempotent request once after a reset or close (RFC 9112 9.3.1.1); that
    # would be a second upstream call in one status request (UPSTREAM-ONCE) and double the wait. aiohttp's
    # own TestClient switches it off through the same attribute; there is no public switch.
    session._retry_connection = False
    address = app[SELF_ADDRESS]
    upstreams = Upstreams(settings, session, address.tmux_url)
    app[SESSION] = session
    app[UPSTREAMS] = upstreams
    process = ProcessMetrics()
    app[SOURCES] = StatusSources(settings, app[TRAFFIC], process, Clock(), RouteCounts.of(app),
                                 app[WEBSOCKETS].__len__)
    log_event("upstreams", tmux=settings.tmux_status_url or "(self) " + TMUX_PATH,
              worker=settings.worker_status_url, timeout_ms=settings.upstream_timeout_ms,
              mode="naive" if settings.naive else "single-flight+breaker")
    try:
        yield
    finally:
        await upstreams.aclose()
        await app[TMUX_LISTING].aclose()
        await session.close()
        process.close()


async def _close_websockets(app: web.Application) -> None:
    await app[WEBSOCKETS].close_all()


def _paths(app: web.Application) -> list[str]:
    return sorted({route.resource.canonical for route in app.router.routes()
                   if route.resource is not None and route.method != hdrs.METH_ANY})


def _printable(text: str) -> str:
    """Drop control characters (ESC of ANSI colour codes among them) from text echoed in an error."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
