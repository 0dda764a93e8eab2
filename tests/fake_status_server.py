"""A small, independent status server for the harness's own tests, with bugs to switch on.

Written from BRIEF.md alone (no reference-server code), so that with no bug it is a second correct
implementation the harness must pass, and with a bug it is a broken one the harness must catch by clause.

    FAKE_BUGS=wrong_version,count_panes python tests/fake_status_server.py    # reads the TES_* environment

`live` (not a bug) adds the WebSocket push of the live profile; `live_bad_push` pushes a wrong message.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

BUGS = frozenset({
    "wrong_version", "no_cache_control", "methods_404", "count_panes", "parse_error_offline", "connected_bool_ok",
    "sequential", "no_timeout", "worker_twice", "zero_traffic", "strict_thresholds", "latency_seconds",
    "region_ignored", "uptime_ms", "live", "live_bad_push",
})
STARTED = time.time()


def _settings(env: dict[str, str]) -> dict[str, Any]:
    port = env.get("TES_PORT", "3002")
    return {
        "host": env.get("TES_HOST", "127.0.0.1"), "port": int(port),
        "tmux": env.get("TES_TMUX_STATUS_URL") or f"http://127.0.0.1:{port}/api/dev/tmux/status",
        "worker": env.get("TES_WORKER_API_URL") or "http://127.0.0.1:3003",
        "timeout_s": int(env.get("TES_UPSTREAM_TIMEOUT_MS") or 5000) / 1000,
        "region": env.get("TES_PRIMARY_REGION") or "us-east-1",
    }


async def _get(session: aiohttp.ClientSession, url: str, timeout_s: float | None) -> tuple[bool, int | None, Any]:
    """(answered, status, parsed body or None)."""
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with session.get(url, timeout=timeout) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False, None, None
    try:
        return True, status, json.loads(raw)
    except ValueError:
        return True, status, None


def create_app(env: dict[str, str], bugs: frozenset[str] = frozenset()) -> web.Application:
    """The fake server's application."""
    unknown = bugs - BUGS
    assert not unknown, f"unknown bugs {unknown}"
    settings = _settings(env)
    window: deque[tuple[float, int, float]] = deque()  # (completed_at, status, latency ms)
    in_flight = [0]
    timeout = None if "no_timeout" in bugs else settings["timeout_s"]

    @web.middleware
    async def account(request: web.Request, handler: Any) -> web.StreamResponse:
        in_flight[0] += 1
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            in_flight[0] -= 1
            window.append((time.time(), status, (time.perf_counter() - started) * 1000))

    sockets: set[web.WebSocketResponse] = set()

    async def status(request: web.Request) -> web.Response:
        document, headers = await snapshot(request.app)
        return web.json_response(document, headers=headers)

    async def push(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.add(ws)
        try:
            document, _ = await snapshot(request.app)
            await ws.send_json({"type": "status", "data": {} if "live_bad_push" in bugs else document})
            async for _ in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    async def snapshot(app: web.Application) -> tuple[dict[str, Any], dict[str, str]]:
        session: aiohttp.ClientSession = app["session"]
        tmux_call = _get(session, settings["tmux"], timeout)
        worker_call = _get(session, settings["worker"] + "/workers/status", timeout)
        if "sequential" in bugs:
            tmux, worker = await tmux_call, await worker_call
        else:
            tmux, worker = await asyncio.gather(tmux_call, worker_call)
        if "worker_twice" in bugs:
            await _get(session, settings["worker"] + "/workers/status", timeout)
        answered, code, body = tmux
        sessions = 0
        if answered and code is not None and 200 <= code < 300 and isinstance(body, dict) \
                and isinstance(body.get("online"), bool) and isinstance(body.get("sessions"), list):
            if body["online"]:
                listed = body["sessions"]
                sessions = sum(len(s.get("panes", [])) for s in listed if isinstance(s, dict)) \
                    if "count_panes" in bugs else len(listed)
        answered, code, body = worker
        if not answered:
            workers, telemetry = 0, "offline"
        elif body is None and "parse_error_offline" in bugs:
            workers, telemetry = 0, "offline"
        else:
            connected = body.get("connected") if isinstance(body, dict) else None
            ok_type = isinstance(connected, int) and ("connected_bool_ok" in bugs or not isinstance(connected, bool))
            if code is not None and 200 <= code < 300 and ok_type and connected > 0:
                workers, telemetry = int(connected), "healthy"
            else:
                workers, telemetry = 0, "degraded"
        now = time.time()
        while window and window[0][0] < now - 60:
            window.popleft()
        uptime = now - STARTED
        count = len(window)
        rate = sum(1 for _, s, _ in window if s >= 500) / count if count else 0.0
        latency = sum(ms for _, _, ms in window) / count if count else 0.0
        rps = count / min(60.0, max(uptime, 1e-3))
        if "latency_seconds" in bugs:
            latency /= 1000
        if "zero_traffic" in bugs:
            rate = latency = rps = 0.0
        if "strict_thresholds" in bugs:
            mode = "isolated" if rate > 0.5 else "degraded" if rate > 0.1 else "normal"
        else:
            mode = "isolated" if rate > 0.5 else "degraded" if rate >= 0.1 else "normal"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        moment = datetime.now(UTC)
        document = {
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "vector": {
                "sessions": {"tmux": sessions, "activeWorkers": workers, "apiSessions": max(1, in_flight[0]),
                             "websocketConnections": len(sockets)},
                "directions": {"primaryRegion": "us-east-1" if "region_ignored" in bugs else settings["region"],
                               "trafficMode": mode,
                               "requestFlow": {"totalRoutes": 3, "activeRoutes": 3, "avgLatency": round(latency, 3),
                                               "requestsPerSecond": round(rps, 4)}, "activeRoutes": 3},
                "others": {"memory": usage.ru_maxrss * 1024, "cpu": int((usage.ru_utime + usage.ru_stime) * 1000),
                           "errorRate": round(rate, 4), "uptime": uptime * (1000 if "uptime_ms" in bugs else 1)},
            },
            "meta": {"totalEndpoints": 2, "telemetryStatus": telemetry, "statusVersion": "2.0"},
        }
        headers = {"Cache-Control": "no-cache", "X-TES-Status-Version": "2.1" if "wrong_version" in bugs else "2.0"}
        if "no_cache_control" in bugs:
            del headers["Cache-Control"]
        return document, headers

    async def refuse(request: web.Request) -> web.Response:
        if "methods_404" in bugs:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"error": f"{request.method} not allowed"}, status=405, headers={"Allow": "GET"})

    async def workers(request: web.Request) -> web.Response:
        answered, code, body = await _get(request.app["session"], settings["worker"] + "/workers/status", timeout)
        if not answered:
            return web.json_response({"error": "worker API unreachable", "resolution": "start it"}, status=503)
        return web.json_response({"workers": body.get("workers", []) if isinstance(body, dict) else []})

    async def session_ctx(app: web.Application) -> Any:
        app["session"] = aiohttp.ClientSession()
        yield
        await app["session"].close()

    app = web.Application(middlewares=[account])
    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/api/dev/status", status, allow_head=False)
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        app.router.add_route(method, "/api/dev/status", refuse)
    app.router.add_get("/api/dev/workers", workers, allow_head=False)
    if bugs & {"live", "live_bad_push"}:
        app.router.add_get("/api/dev/status/ws", push, allow_head=False)

    async def not_found(request: web.Request) -> web.Response:
        return web.json_response({"error": f"no route for {request.path}"}, status=404)

    app.router.add_route("*", r"/{tail:[\s\S]*}", not_found)  # JSON 404 for any other path (ERROR-BODY)
    return app


if __name__ == "__main__":
    env = dict(os.environ)
    bugs = frozenset(b for b in env.get("FAKE_BUGS", "").split(",") if b)
    settings = _settings(env)
    web.run_app(create_app(env, bugs), host=settings["host"], port=settings["port"], print=None)
