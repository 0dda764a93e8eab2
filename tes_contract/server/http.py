"""HTTP answers of the reference server: JSON with the contract's headers, errors, and the accounting wrapper.

`accounted` wraps each route's handler once (no aiohttp middleware: docs/server.md, "Request metrics",
measures why); `add_endpoint` registers GET and HEAD through it and a JSON 405 for the other methods.
`accounted` refuses a foreign Host first (DEV-HOST, every route); `guarded` adds Origin, token and body
size (DEV-ORIGIN, DEV-AUTH, 413) for state-changing and sensitive routes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy

from tes_contract.contract.clauses.metrics import UNMATCHED_ROUTE
from tes_contract.server.logs import log_event
from tes_contract.server.security import MAX_BODY_BYTES
from tes_contract.server.snapshot import STATUS_VERSION, dumps
from tes_contract.server.state import GUARD, TRAFFIC
from tes_contract.server.traffic import TrafficWindow

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: A guarded handler: the request and its body (read, at most MAX_BODY_BYTES).
BodyHandler = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]

#: The contract's headers on every JSON answer (built once; aiohttp copies them into each response). `no-store`
#: beside the contract's `no-cache`: no API answer (a pane capture, a worker list) is kept by a browser cache.
JSON_HEADERS = CIMultiDictProxy(CIMultiDict({hdrs.CONTENT_TYPE: "application/json",
                                             hdrs.CACHE_CONTROL: "no-cache, no-store",
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
    return json_response({"error": printable(error), "resolution": printable(resolution)}, status, headers)


def printable(text: str) -> str:
    """Drop control characters (ESC of ANSI colour codes among them) from text echoed in an error."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def accounted(window: TrafficWindow, handler: Handler, *, route_served: bool = True,
              route: str | None = None) -> Handler:
    """`handler` inside the traffic accounting (in flight, then status and latency), its errors as JSON.

    `route_served`: the request counts as its route serving one (`activeRoutes`); not for the fallbacks
    answering 404 and 405. WebSocket routes are not wrapped: an open socket is a WebSocket connection,
    not an HTTP request in flight for its whole life. `route`: the metrics' route label when it is not
    the matched resource's template (`unmatched` for the fallback). The same `finally` that records the
    request in the window tells `window.observer` (the metrics), so one place counts a request.
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
                if request.app[GUARD].host_ok(request.headers.get(hdrs.HOST)):
                    response = await handler(request)
                else:
                    response = error_response(403, "host not allowed", "use a host name in TES_ALLOWED_HOSTS")
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
                elapsed = clock() - started
                record(status, elapsed * 1000)
                observer = window.observer
                if observer is not None:
                    observer(request.method, route or _template(request), status, elapsed)

    return answer


def guarded(handler: BodyHandler, *, auth: bool = True) -> Handler:
    """`handler` behind DEV-ORIGIN (403), DEV-AUTH (401, unless `auth` is False) and the body bound (413).

    Wrap it in `accounted` (which checks the Host first); routing has already answered 404 and 405. The
    handler gets the body and does its own validation (400) before any side effect.

    Example:
        resource.add_route("POST", accounted(app[TRAFFIC], guarded(create_session)))
    """

    async def answer(request: web.Request) -> web.StreamResponse:
        refusal = request.app[GUARD].refusal(request.headers, local_port(request), auth=auth)
        if refusal is not None:
            return error_response(refusal.status, refusal.error, refusal.resolution, refusal.headers)
        body = await read_bounded(request)
        if body is None:
            return error_response(413, f"request body larger than {MAX_BODY_BYTES} bytes",
                                  "send a smaller body")
        return await handler(request, body)

    return answer


async def read_bounded(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None when it is (or says it is) longer than `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


def local_port(request: web.Request) -> int:
    """The port the request arrived on (0 when unknown)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if isinstance(sockname, tuple) and len(sockname) >= 2 else 0


def _template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


async def not_found(request: web.Request) -> web.StreamResponse:
    """The fallback for unknown paths: a JSON 404 listing the endpoints."""
    return error_response(404, f"no endpoint at {request.path}", f"endpoints: {', '.join(endpoint_paths(request.app))}")


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
    answer = accounted(traffic, handler, route=resource.canonical)  # the label known once, not per request
    for method in (hdrs.METH_GET, hdrs.METH_HEAD):  # what router.add_get does
        resource.add_route(method, answer)
    allowed = ", ".join(sorted(route.method for route in resource))
    resource.add_route(hdrs.METH_ANY, accounted(traffic, method_not_allowed(allowed), route_served=False,
                                                route=resource.canonical))


def add_guarded(app: web.Application, path: str, method: str, handler: BodyHandler, *, auth: bool = True) -> None:
    """`method` on `path` through `guarded(handler)`, accounted; other methods get the JSON 405 with `Allow`."""
    traffic = app[TRAFFIC]
    resource = app.router.add_resource(path)
    resource.add_route(method, accounted(traffic, guarded(handler, auth=auth), route=resource.canonical))
    resource.add_route(hdrs.METH_ANY, accounted(traffic, method_not_allowed(method), route_served=False,
                                                route=resource.canonical))


def endpoint_paths(app: web.Application) -> list[str]:
    """The paths the application serves (its fallbacks for any method left out)."""
    return sorted({route.resource.canonical for route in app.router.routes()
                   if route.resource is not None and route.method != hdrs.METH_ANY})
