"""Exact traffic accounting on a fresh server: k 200s, m 503s (/api/dev/workers, worker API down), n 404s."""

from __future__ import annotations

import time

import pytest

from .conftest import get_status


async def test_exact_error_rate_traffic_mode_latency_and_rps(start_server, tiny_upstream, closed_port_url, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=closed_port_url)
    counts = {"ok": 0, "server_error": 0, "not_found": 0}
    client_ms: list[float] = []

    async def send(path: str, expected: int) -> None:
        started = time.perf_counter()
        async with http.get(f"{base}{path}") as response:
            await response.read()
            assert response.status == expected
        client_ms.append((time.perf_counter() - started) * 1000)
        counts[{200: "ok", 503: "server_error", 404: "not_found"}[expected]] += 1

    async def check(expected_mode: str) -> dict:
        started = time.perf_counter()
        body = await get_status(http, base)
        client_ms.append((time.perf_counter() - started) * 1000)
        k, m, n = counts["ok"], counts["server_error"], counts["not_found"]
        others, flow = body["vector"]["others"], body["vector"]["directions"]["requestFlow"]
        assert others["errorRate"] == (m / (k + m + n) if k + m + n else 0)
        assert body["vector"]["directions"]["trafficMode"] == expected_mode
        total = k + m + n
        assert flow["requestsPerSecond"] * min(60.0, others["uptime"]) == pytest.approx(total, rel=1e-9, abs=1e-9)
        counts["ok"] += 1  # this status request is complete from now on
        return body

    first = await check("normal")  # fresh: nothing completed yet
    assert first["vector"]["others"]["errorRate"] == 0
    assert first["vector"]["directions"]["requestFlow"]["avgLatency"] == 0

    # One deliberately slow request (tmux upstream answering at 300 ms) so a unit error shows.
    tiny_upstream.set("tmux", body={"online": True, "sessions": []}, delay_s=0.3)
    await send("/api/dev/status", 200)
    tiny_upstream.set("tmux", body={"online": True, "sessions": []})
    for _ in range(4):
        await send("/api/dev/status", 200)
    for _ in range(3):
        await send("/no/such/path", 404)
    await send("/api/dev/workers", 503)
    # k = 1 + 5 = 6, n = 3, m = 1: errorRate exactly 0.10, degraded (not normal: the boundary is inclusive).
    body = await check("degraded")
    assert body["vector"]["others"]["errorRate"] == 0.10
    avg = body["vector"]["directions"]["requestFlow"]["avgLatency"]
    completed = 10
    assert len(client_ms) == completed + 1  # the last one is the check that reported
    assert avg * completed >= 300  # the slow request alone: milliseconds, not seconds
    assert avg <= sum(client_ms[:completed]) / completed  # the server cannot see more than the client did

    for _ in range(9):
        await send("/api/dev/workers", 503)
    # k = 7, n = 3, m = 10: exactly 0.50, still degraded.
    body = await check("degraded")
    assert body["vector"]["others"]["errorRate"] == 0.50

    for _ in range(2):
        await send("/api/dev/workers", 503)
    # k = 8, n = 3, m = 12: above 0.50, isolated.
    body = await check("isolated")
    assert body["vector"]["others"]["errorRate"] == 12 / 23
