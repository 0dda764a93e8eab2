#!/usr/bin/env python3
"""Benchmark of the reference server's push (live profile): figures printed, not a test.

    python benchmarks/bench_push.py [--counts 1,100,1000] [--flips 20]

The server (`python -m tes_contract serve`) runs in its own process on loopback, against a tiny in-process
worker/tmux upstream whose answer the benchmark flips (healthy <-> 503). Per subscriber count N:
  change-to-push  flip the worker, GET /api/dev/status (the server observes the new telemetryStatus), then
                  time from that answer to the push at every subscriber: P50 / P99 over flips x N
  CPU per tick    the server process's CPU time over 5 s of ticks, per tick
  memory          the server's RSS growth per subscriber (psutil), after N connected
  upstream calls  worker-upstream calls per tick while N are connected
The subscribers are aiohttp clients in this process, so at N = 1,000 the latency includes the client side
reading 1,000 frames on one core: an upper bound for the server's share. Bounded: every wait has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web

from tes_contract.conformance.managed import free_port

ROOT = Path(__file__).resolve().parent.parent
WORKERS = {"connected": 2, "workers": []}
TMUX = {"online": True, "sessions": []}



class Upstream:
    """The worker and tmux upstreams, counting worker calls; `healthy` flips the worker's answer."""

    def __init__(self) -> None:
        self.healthy = True
        self.calls = 0

    async def worker(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.json_response(WORKERS) if self.healthy else web.json_response({"error": "down"}, status=503)

    async def tmux(self, request: web.Request) -> web.Response:
        return web.json_response(TMUX)


async def _wait_listening(url: str, deadline_s: float = 20.0) -> None:
    async with aiohttp.ClientSession() as http:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        raise SystemExit(f"server did not answer {url} within {deadline_s} s")


async def _next_status(ws: aiohttp.ClientWebSocketResponse) -> tuple[float, dict[str, object]]:
    while True:
        message = await ws.receive(timeout=5.0)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise SystemExit(f"subscriber got {message.type.name}")
        document = json.loads(message.data)
        if document.get("type") == "status":
            return time.perf_counter(), document["data"]


async def _measure(base: str, upstream: Upstream, process: psutil.Process, n: int, flips: int) -> dict[str, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        rss_before = process.memory_info().rss
        sockets = []
        for start in range(0, n, 50):
            batch = await asyncio.gather(*(http.ws_connect(base + "/api/dev/status/ws", autoping=True)
                                           for _ in range(start, min(n, start + 50))))
            sockets.extend(batch)
        await asyncio.gather(*(_next_status(ws) for ws in sockets))
        await asyncio.sleep(1.0)
        rss_per = (process.memory_info().rss - rss_before) / n
        cpu0, calls0, t0 = process.cpu_times(), upstream.calls, time.monotonic()
        await asyncio.sleep(5.0)  # 5 ticks at the default 1000 ms
        cpu1, calls1, t1 = process.cpu_times(), upstream.calls, time.monotonic()
        ticks = (t1 - t0) / 1.0
        latencies: list[float] = []
        for flip in range(flips):
            upstream.healthy = flip % 2 == 1
            # Drain pending tick frames so the next status read is the change push.
            readers = [asyncio.create_task(_wait_change(ws, upstream.healthy)) for ws in sockets]
            async with http.get(base + "/api/dev/status") as response:
                await response.read()
            answered = time.perf_counter()
            arrivals = await asyncio.gather(*readers)
            latencies.extend(max(0.0, at - answered) * 1000 for at in arrivals)
        for ws in sockets:
            await ws.close()
    latencies.sort()
    return {"p50_ms": statistics.median(latencies), "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
            "cpu_ms_per_tick": ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) * 1000 / ticks,
            "kib_per_subscriber": rss_per / 1024, "worker_calls_per_tick": (calls1 - calls0) / ticks}


async def _wait_change(ws: aiohttp.ClientWebSocketResponse, healthy: bool) -> float:
    wanted = "healthy" if healthy else "degraded"
    while True:
        at, data = await _next_status(ws)
        if data["meta"]["telemetryStatus"] == wanted:  # type: ignore[index]
            return at


async def main(counts: list[int], flips: int) -> None:
    upstream = Upstream()
    app = web.Application()
    app.router.add_get("/workers/status", upstream.worker)
    app.router.add_get("/tmux", upstream.tmux)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    up_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", up_port).start()
    port = free_port()
    env = {**os.environ, "TES_PORT": str(port), "TES_WORKER_API_URL": f"http://127.0.0.1:{up_port}",
           "TES_TMUX_STATUS_URL": f"http://127.0.0.1:{up_port}/tmux", "TES_PUSH_INTERVAL_MS": "1000"}
    server = subprocess.Popen([sys.executable, "-m", "tes_contract", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_listening(base + "/api/dev/status")
        process = psutil.Process(server.pid)
        print(f"{'subscribers':>11} {'P50 ms':>8} {'P99 ms':>8} {'CPU ms/tick':>12} {'KiB/sub':>8} {'calls/tick':>10}")
        for n in counts:
            figures = await asyncio.wait_for(_measure(base, upstream, process, n, flips), 300)
            print(f"{n:>11} {figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} {figures['cpu_ms_per_tick']:>12.2f} "
                  f"{figures['kib_per_subscriber']:>8.1f} {figures['worker_calls_per_tick']:>10.2f}", flush=True)
        print("targets: P99 <= 10 ms at 100, <= 50 ms at 1000; <= 32 KiB/subscriber; 1 call per upstream per tick")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,100,1000")
    parser.add_argument("--flips", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main([int(c) for c in args.counts.split(",")], args.flips))
