#!/usr/bin/env python3
"""Benchmark of the reference server's push (live profile): figures printed, not a test.

    python benchmarks/bench_push.py [--counts 1,100,1000] [--flips 20] [--client-procs 1] [--status-beside 100]

The server (`python -m tes_contract serve`) runs in its own process on loopback, against a tiny in-process
worker/tmux upstream whose answer the benchmark flips (healthy <-> 503). Per subscriber count N:
  change-to-push  flip the worker, GET /api/dev/status (the server observes the new telemetryStatus), then
                  time to the push at every subscriber, from that request's sending (P50 / P99 over flips x N;
                  the server cannot know of the flip earlier) and from its answer (P99 "ans")
  client ms       CPU the subscribers' processes spent per flip (their share of the 2 cores, stated)
  CPU per tick    the server process's CPU time over 5 s of ticks, per tick
  memory          the server's RSS growth per subscriber (psutil), after N connected
  upstream calls  worker-upstream calls per tick while N are connected
  status beside   then GET /api/dev/status under wrk (1 connection, bench_server's `wrk`) with 100 subscribers
                  connected and with none, alternating: P50 within 10% is the target
The subscribers are benchmarks/push_clients.py processes (raw sockets and epoll, a few us per frame), not a
WebSocket library in this process, whose reading of 1,000 frames on one core dominated the figure.
Bounded: every wait has a timeout, the client processes stop by themselves after 600 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

from tes_contract.conformance.managed import free_port

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = Path(__file__).resolve().parent / "push_clients.py"
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


class _ClientProcess:
    """One benchmarks/push_clients.py process holding `n` subscribers."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, port: int, n: int) -> _ClientProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(CLIENTS), "127.0.0.1", str(port), str(n),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        client = cls(process)
        await client.expect("ready")
        return client

    async def send(self, command: dict[str, object]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def expect(self, key: str, timeout_s: float = 60.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        answer: dict[str, Any] = json.loads(line or b"{}")
        if key not in answer:
            raise SystemExit(f"push_clients said {line!r}, expected {key!r}")
        return answer

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.send({"quit": True})
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def _flip_once(http: aiohttp.ClientSession, base: str, upstream: Upstream, clients: list[_ClientProcess],
                     healthy: bool) -> tuple[list[float], list[float], float]:
    """One flip: latencies from the status request's sending and from its answer (ms), clients' CPU ms."""
    for client in clients:
        await client.send({"arm": "healthy" if healthy else "degraded"})
    for client in clients:
        await client.expect("armed")
    upstream.healthy = healthy
    sent = time.monotonic()  # the server can learn of the flip from this request on
    async with http.get(base + "/api/dev/status") as response:
        await response.read()
    answered = time.monotonic()
    results = [await client.expect("arrivals", 10.0) for client in clients]
    arrivals = [at for result in results for at in result["arrivals"]]
    return ([(at - sent) * 1000 for at in arrivals], [max(0.0, at - answered) * 1000 for at in arrivals],
            sum(result["cpu_ms"] for result in results))


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))]


async def _measure(base: str, port: int, upstream: Upstream, process: psutil.Process, n: int, flips: int,
                   procs: int) -> dict[str, float]:
    rss_before = process.memory_info().rss
    shares = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    clients = [await _ClientProcess.start(port, share) for share in shares if share]
    try:
        await asyncio.sleep(1.0)
        rss_per = (process.memory_info().rss - rss_before) / n
        cpu0, calls0, t0 = process.cpu_times(), upstream.calls, time.monotonic()
        await asyncio.sleep(5.0)  # 5 ticks at the default 1000 ms
        cpu1, calls1, t1 = process.cpu_times(), upstream.calls, time.monotonic()
        ticks = (t1 - t0) / 1.0
        from_request: list[float] = []
        after_answer: list[float] = []
        client_cpu: list[float] = []
        async with aiohttp.ClientSession() as http:
            for flip in range(flips):
                sent, answered, cpu_ms = await _flip_once(http, base, upstream, clients, flip % 2 == 1)
                from_request += sent
                after_answer += answered
                client_cpu.append(cpu_ms)
    finally:
        for client in clients:
            await client.stop()
    return {"p50_ms": statistics.median(from_request), "p99_ms": _p99(from_request),
            "p99_after_answer_ms": _p99(after_answer), "client_cpu_ms": statistics.median(client_cpu),
            "cpu_ms_per_tick": ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) * 1000 / ticks,
            "kib_per_subscriber": rss_per / 1024, "worker_calls_per_tick": (calls1 - calls0) / ticks}


async def _status_beside(base: str, port: int, subscribers: int, rounds: int = 3, duration_s: float = 3.0) -> None:
    """bench_server's figure of the status endpoint (wrk, 1 connection) without and with `subscribers`
    connected, alternating rounds so a neighbour's load falls on both; medians printed."""
    from bench_server import wrk  # a sibling script (the benchmarks folder is sys.path[0] when run)

    figures: dict[int, list[dict[str, Any]]] = {0: [], subscribers: []}
    for round_ in range(rounds):
        for n in ((0, subscribers) if round_ % 2 == 0 else (subscribers, 0)):
            clients = [await _ClientProcess.start(port, n)] if n else []
            try:
                await asyncio.sleep(1.0)
                figures[n].append(await asyncio.to_thread(wrk, base + "/api/dev/status", 1, duration_s))
            finally:
                for client in clients:
                    await client.stop()
    print(f"\nGET /api/dev/status, wrk 1 connection, {rounds} x {duration_s:.0f} s each (medians):")
    print(f"{'subscribers':>11} {'P50 ms':>8} {'P99 ms':>8} {'req/s':>8}")
    for n, runs in figures.items():
        print(f"{n:>11} {statistics.median(r['p50_us'] for r in runs) / 1000:>8.3f} "
              f"{statistics.median(r['p99_us'] for r in runs) / 1000:>8.3f} "
              f"{statistics.median(r['rps'] for r in runs):>8.0f}")
    p50 = {n: statistics.median(r["p50_us"] for r in runs) for n, runs in figures.items()}
    print(f"target: P50 at 1 connection within 10% of without: {100 * (p50[subscribers] / p50[0] - 1):+.1f} %")


async def main(counts: list[int], flips: int, procs: int, beside: int) -> None:
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
        print(f"{'subscribers':>11} {'P50 ms':>8} {'P99 ms':>8} {'P99 ans':>8} {'client ms':>9} "
              f"{'CPU ms/tick':>12} {'KiB/sub':>8} {'calls/tick':>10}")
        for n in counts:
            f = await asyncio.wait_for(_measure(base, port, upstream, process, n, flips, procs), 300)
            print(f"{n:>11} {f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} {f['p99_after_answer_ms']:>8.2f} "
                  f"{f['client_cpu_ms']:>9.2f} {f['cpu_ms_per_tick']:>12.2f} {f['kib_per_subscriber']:>8.1f} "
                  f"{f['worker_calls_per_tick']:>10.2f}", flush=True)
        print("targets: P99 <= 10 ms at 100, <= 50 ms at 1000; <= 32 KiB/subscriber; 1 call per upstream per tick")
        if beside:
            await _status_beside(base, port, beside)
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
    parser.add_argument("--client-procs", type=int, default=1, help="processes the subscribers are spread over")
    parser.add_argument("--status-beside", type=int, default=100, metavar="N",
                        help="then bench_server's status figure with N subscribers connected vs none (0: skip)")
    args = parser.parse_args()
    asyncio.run(main([int(c) for c in args.counts.split(",") if c], args.flips, args.client_procs, args.status_beside))
