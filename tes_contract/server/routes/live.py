"""`GET /api/dev/status/ws`: the WebSocket push of the status (the live profile), fed by `push.Broadcaster`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import hdrs, web

from tes_contract.server.http import accounted, error_response, local_port, method_not_allowed
from tes_contract.server.push import Broadcaster
from tes_contract.server.state import (
    BROADCASTER,
    GUARD,
    SNAPSHOTS,
    SOURCES,
    TRAFFIC,
    UPSTREAMS,
    WEBSOCKETS,
)

LIVE_PATH = "/api/dev/status/ws"
#: aiohttp pings every HEARTBEAT_S and closes a peer that has not answered within half of it.
HEARTBEAT_S = 20.0
#: How long a close waits for the client's close frame (SIGTERM closes every socket within the stop budget).
CLOSE_TIMEOUT_S = 1.0


def _refusal(request: web.Request) -> web.Response | None:
    """The app's `Guard`: 403 for a foreign Host (DEV-HOST) or Origin (DEV-ORIGIN; no token: the push is a
    read), then 426 for a GET without an upgrade (LIVE-UPGRADE)."""
    guard = request.app[GUARD]
    if not guard.host_ok(request.headers.get(hdrs.HOST)):
        return error_response(403, "host not allowed", "use a host name in TES_ALLOWED_HOSTS")
    refusal = guard.refusal(request.headers, local_port(request), auth=False)
    if refusal is not None:
        return error_response(refusal.status, refusal.error, refusal.resolution, refusal.headers)
    ready = web.WebSocketResponse().can_prepare(request)
    if not ready.ok:
        return error_response(426, f"{LIVE_PATH} is a WebSocket endpoint", "send a WebSocket upgrade (RFC 6455)",
                              {hdrs.UPGRADE: "websocket", hdrs.CONNECTION: "Upgrade"})
    return None


async def live_handler(request: web.Request) -> web.StreamResponse:
    """Upgrade, send the first status frame, then read (pings, closes) while the broadcaster pushes."""
    app = request.app
    traffic = app[TRAFFIC]
    traffic.touch_route(request.match_info.route)
    started = time.perf_counter()
    refusal = _refusal(request)
    if refusal is not None:
        traffic.record(refusal.status, (time.perf_counter() - started) * 1000)
        return refusal
    # No compression: a deflate context per socket would cost more memory than the frames it saves.
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, timeout=CLOSE_TIMEOUT_S, compress=False,
                               max_msg_size=64 * 1024)
    await ws.prepare(request)
    traffic.record(101, (time.perf_counter() - started) * 1000)  # the handshake is one completed request
    broadcaster = app[BROADCASTER]
    async with app[WEBSOCKETS].hold(ws), broadcaster.subscribe(ws) as subscriber:
        await broadcaster.greet(subscriber)
        async for _message in ws:  # clients send nothing we act on; reading answers pings and sees closes
            pass
    return ws


async def _broadcaster_ctx(app: web.Application) -> AsyncIterator[None]:
    """The broadcaster, once the upstreams exist (this ctx runs after the app's upstreams ctx)."""
    broadcaster = Broadcaster(app[SOURCES], app[UPSTREAMS])
    app[BROADCASTER] = broadcaster
    app[SNAPSHOTS].observer = broadcaster.observe
    app[TRAFFIC].on_record = broadcaster.request_recorded
    broadcaster.start()
    try:
        yield
    finally:
        app[SNAPSHOTS].observer = None
        app[TRAFFIC].on_record = None
        await broadcaster.aclose()


def setup(app: web.Application) -> None:
    """Register the push endpoint (GET only; other methods get the JSON 405) and its broadcaster."""
    resource = app.router.add_resource(LIVE_PATH)
    resource.add_route(hdrs.METH_GET, live_handler)
    resource.add_route(hdrs.METH_ANY, accounted(app[TRAFFIC], method_not_allowed(hdrs.METH_GET), route_served=False))
    app.cleanup_ctx.append(_broadcaster_ctx)
