"""The HTTP surface of the reference server over a real socket: headers, schema, errors, routes, WebSockets."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
from aiohttp import web

from tes_contract.contract.schemas import validator_for
from tes_contract.server import Settings, create_app
from tes_contract.server.state import SOURCES, WEBSOCKETS

from .conftest import get_status

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def test_status_healthy_headers_and_body(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url,
                              primary_region="eu-west-3")
    async with http.get(f"{base}/api/dev/status?x=1&y") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Cache-Control"] == "no-cache, no-store"
        assert response.headers["X-TES-Status-Version"] == "2.0"
        body = await response.json()
    assert list(validator_for("status").iter_errors(body)) == []
    sessions = body["vector"]["sessions"]
    assert sessions == {"tmux": 2, "activeWorkers": 3, "apiSessions": 1, "websocketConnections": 0}
    assert body["meta"] == {"totalEndpoints": 11, "telemetryStatus": "healthy", "statusVersion": "2.0"}
    assert body["vector"]["directions"]["primaryRegion"] == "eu-west-3"
    assert TIMESTAMP.match(body["timestamp"])
    flow = body["vector"]["directions"]["requestFlow"]
    # GET and HEAD of six paths (status, tmux status, workers, metrics, the dashboard's page and files), GET
    # of the push, the four dev control routes (create, kill, capture, snapshot); the status route itself
    # is active.
    assert flow["totalRoutes"] == 17
    assert flow["activeRoutes"] == body["vector"]["directions"]["activeRoutes"] == 1
    assert tiny_upstream.scripts["tmux"].calls == 1
    assert tiny_upstream.scripts["worker"].calls == 1


async def test_monotonic_fields_and_units(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    first = await get_status(http, base)
    sum(i * i for i in range(300_000))  # burn some CPU so cpu must move
    await asyncio.sleep(0.3)
    second = await get_status(http, base)
    a, b = first["vector"]["others"], second["vector"]["others"]
    assert second["timestamp"] > first["timestamp"]
    assert b["uptime"] - a["uptime"] >= 0.29
    assert b["cpu"] > a["cpu"] and isinstance(b["cpu"], int)
    assert b["memory"] > 1 << 20
    # uptime is the process's: it matches psutil's start time within a second.
    import psutil

    assert abs(b["uptime"] - (time.time() - psutil.Process().create_time())) < 1.0


async def test_other_methods_405_with_allow_and_json(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    for path in ("/api/dev/status", "/api/dev/tmux/status", "/api/dev/workers"):
        for method in ("PUT", "POST", "DELETE", "PATCH", "OPTIONS"):
            async with http.request(method, f"{base}{path}") as response:
                assert response.status == 405
                assert response.headers["Allow"] == "GET, HEAD"
                body = await response.json()
                assert list(validator_for("error").iter_errors(body)) == []
                assert body["error"] == f"method {method} not allowed on {path}"


async def test_head_where_get(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.head(f"{base}/api/dev/status") as response:
        assert response.status == 200
        assert response.headers["X-TES-Status-Version"] == "2.0"
        assert await response.read() == b""


async def test_unknown_path_json_404_without_control_characters(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/nothing/%1B[31mred") as response:
        assert response.status == 404
        body = await response.json()
    assert list(validator_for("error").iter_errors(body)) == []
    assert "\x1b" not in body["error"] and body["error"].startswith("no endpoint at /nothing/")
    assert "/api/dev/status" in body["resolution"]


async def test_assembly_failure_is_json_503_without_trace(aiohttp_server, tiny_upstream, http, caplog):
    app = create_app(Settings(port=0, tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url,
                                    history=False))

    async def break_process_metrics(app: web.Application) -> None:
        def fail() -> int:
            raise RuntimeError("\x1b[31mboom\x1b[0m")

        app[SOURCES].process.memory = fail  # type: ignore[method-assign]

    app.on_startup.append(break_process_metrics)
    server = await aiohttp_server(app)
    async with http.get(server.make_url("/api/dev/status")) as response:
        assert response.status == 503
        assert response.headers["Content-Type"] == "application/json"
        text = await response.text()
    body = await response.json()
    assert set(body) == {"error", "resolution"}
    assert "\x1b" not in text and "Traceback" not in text and "boom" not in text
    assert any(record.getMessage() == "status_assembly_failed" for record in caplog.records)


async def test_websocket_connections_counted(aiohttp_server, tiny_upstream, http):
    app = create_app(Settings(port=0, tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url,
                                    history=False))

    async def ws_handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async with request.app[WEBSOCKETS].hold(ws):
            async for _ in ws:
                pass
        return ws

    app.router.add_get("/test/ws", ws_handler)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    assert (await get_status(http, base))["vector"]["sessions"]["websocketConnections"] == 0
    first = await http.ws_connect(f"{base}/test/ws")
    second = await http.ws_connect(f"{base}/test/ws")
    body = await get_status(http, base)
    assert body["vector"]["sessions"]["websocketConnections"] == 2
    # An open WebSocket is not an HTTP request in flight.
    assert body["vector"]["sessions"]["apiSessions"] == 1
    await first.close()
    for _ in range(50):
        if (await get_status(http, base))["vector"]["sessions"]["websocketConnections"] == 1:
            break
        await asyncio.sleep(0.02)
    assert (await get_status(http, base))["vector"]["sessions"]["websocketConnections"] == 1
    await second.close()


async def test_api_sessions_counts_requests_in_flight(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url,
                              upstream_timeout_ms=1500)
    slow = tiny_upstream.set("worker", body={"connected": 1}, delay_s=0.6)
    held = [asyncio.ensure_future(get_status(http, base)) for _ in range(3)]
    bodies = await asyncio.gather(*held)
    # The three were in flight together while the shared worker call ran; they share the snapshot taken
    # when the call's answer came, when all three were in flight.
    assert [b["vector"]["sessions"]["apiSessions"] for b in bodies] == [3, 3, 3]
    assert bodies[0] == bodies[1] == bodies[2]
    assert slow.calls == 1  # single-flight: one worker call for the three
    # A request alone afterwards: a new call and a snapshot of its own, counting only itself.
    alone = await get_status(http, base)
    assert alone["vector"]["sessions"]["apiSessions"] == 1 and slow.calls == 2
    assert alone["timestamp"] > bodies[0]["timestamp"]


async def test_workers_endpoint(start_server, tiny_upstream, closed_port_url, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/api/dev/workers") as response:
        assert response.status == 200
        body = await response.json()
    assert list(validator_for("worker-list").iter_errors(body)) == []
    assert body["connected"] == 3 and body["workers"][0]["id"] == "w-1"
    tiny_upstream.set("worker", body={"connected": True, "workers": []})
    async with http.get(f"{base}/api/dev/workers") as response:
        assert response.status == 502
        assert "error" in await response.json()
    down = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=closed_port_url)
    async with http.get(f"{down}/api/dev/workers") as response:
        assert response.status == 503
        body = await response.json()
    assert body["error"].startswith("worker API unreachable") and body["resolution"]


async def test_client_session_closed_on_shutdown(tiny_upstream):
    app = create_app(Settings(port=0, tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url,
                                    history=False))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    from tes_contract.server.state import SESSION

    session = app[SESSION]
    assert isinstance(session, aiohttp.ClientSession) and not session.closed
    await runner.cleanup()
    assert session.closed
