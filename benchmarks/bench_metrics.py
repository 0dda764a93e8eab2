#!/usr/bin/env python3
"""Benchmark of the metrics profile: scrape cost, and what metrics cost the status path (figures, not a test).

    python benchmarks/bench_metrics.py [--duration 3] [--rounds 3] [--json PATH]

Two reference servers in their own processes against the mock upstreams (`tes-contract mock`, a third):
  on   `create_app(settings)`: every feature, metrics included
  off  the same without the metrics feature (`create_app(settings, features)`)
First 10,000 requests over all routes go to each server (status, tmux status, workers, metrics, an unknown
path, a 405), so the label sets are those of a server in use and both have the same history. Then, with wrk
(Debian package `wrk`):
  status   GET /api/dev/status on `on` and `off`, interleaved rounds (order reversed every other round), at
           1 connection (target: P50 within 5 %) and 50 connections (target: throughput within 5 %)
  scrape   GET /api/dev/metrics at 1 connection, last: P50/P99 (target P99 <= 5 ms)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_server import (  # noqa: E402
    Process,
    interleaved,
    machine,
    ms,
    row,
    start_feature_server,
    start_mocks,
    verdict,
    wrk,
)
from tes_contract.mocks import MockControl  # noqa: E402

WARM_REQUESTS = 10_000
WARM_PATHS = ("/api/dev/status", "/api/dev/tmux/status", "/api/dev/workers", "/api/dev/metrics",
              "/api/dev/no-such-path")

def start(name: str, mode: str, mocks: dict[str, str]) -> Process:
    # Each server its own state (the history database is one writer's): never the repo's `.tes` or `logs/`.
    state = tempfile.mkdtemp(prefix=f"bench-metrics-{name}-")
    env = {"TES_TMUX_STATUS_URL": mocks["tmux"], "TES_WORKER_API_URL": mocks["worker"], "TES_STATE_DIR": state,
           "TES_EVENT_LOG": str(Path(state) / "events.log")}
    return start_feature_server(name, mode, "metrics", env)


async def warm(url: str) -> dict[str, int]:
    """WARM_REQUESTS over every route, 10 at a time; the answers by status code."""
    codes: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        async def one(i: int) -> None:
            path = WARM_PATHS[i % len(WARM_PATHS)]
            method = "POST" if i % 50 == 7 else "GET"  # a 405 now and then
            async with session.request(method, url + path) as response:
                await response.read()
                codes[str(response.status)] = codes.get(str(response.status), 0) + 1

        for start_at in range(0, WARM_REQUESTS, 10):
            await asyncio.gather(*(one(i) for i in range(start_at, start_at + 10)))
    return codes


async def run(duration_s: float, rounds: int, json_path: str | None) -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: install it (Debian/Ubuntu: apt-get install -y wrk) and run again.", file=sys.stderr)
        return 2
    print("\n".join(machine()))
    mocks_process, mocks = start_mocks()
    processes = [mocks_process]
    results: dict[str, Any] = {}
    try:
        processes += [start("on", "on", mocks), start("off", "off", mocks)]
        subjects = {"metrics on": processes[1], "metrics off": processes[2]}
        async with MockControl(mocks["control"]) as control:
            await control.set("tmux", "healthy")
            await control.set("worker", "healthy")
            began = time.monotonic()
            results["warm"] = {"codes": await warm(processes[1].url), "s": round(time.monotonic() - began, 1)}
            # The same traffic to `off` (its metrics path is a 404): an A/B of servers with one history.
            await warm(processes[2].url)
            results["c1"] = await interleaved(control, subjects, 1, duration_s, rounds)
            results["c50"] = await interleaved(control, subjects, 50, duration_s, rounds)
            # The scrape last: its load on `on` alone must not weigh on the status comparison.
            async with aiohttp.ClientSession() as session, session.get(processes[1].url + "/api/dev/metrics") as r:
                body = await r.read()
            results["scrape_bytes"] = len(body)
            results["scrape_lines"] = body.count(b"\n")
            results["scrape"] = await asyncio.to_thread(wrk, processes[1].url + "/api/dev/metrics", 1, duration_s)
    finally:
        for process in reversed(processes):
            process.stop()
    report(results, rounds)
    if json_path:
        Path(json_path).write_text(json.dumps({"machine": machine(), "results": results}, indent=2, default=str))
    return 0


def report(results: dict[str, Any], rounds: int) -> None:
    warm_codes = ", ".join(f"{k}: {v}" for k, v in sorted(results["warm"]["codes"].items()))
    print(f"\nwarm-up: {WARM_REQUESTS} requests over {len(WARM_PATHS)} paths in {results['warm']['s']} s "
          f"({warm_codes})")
    scrape = results["scrape"]
    print(f"scrape of /api/dev/metrics after it: {results['scrape_bytes']} bytes, "
          f"{results['scrape_lines']} lines")
    print(row("scrape, 1 connection", scrape, calls=False))
    for key, label in (("c1", "1 connection"), ("c50", "50 connections")):
        print(f"\nstatus, {label} (median of {rounds} interleaved rounds)")
        for name, figures in results[key].items():
            print(row(name, figures))
    on1, off1 = results["c1"]["metrics on"], results["c1"]["metrics off"]
    on50, off50 = results["c50"]["metrics on"], results["c50"]["metrics off"]
    p50_ratio = on1["p50_us"] / off1["p50_us"]
    rps_ratio = on50["rps"] / off50["rps"]
    print("\ntargets (issue 11)")
    print(f"  {verdict(scrape['p99_us'] <= 5000)} scrape P99 {ms(scrape['p99_us']).strip()} <= 5 ms")
    print(f"  {verdict(p50_ratio <= 1.05)} status P50 at 1 connection: on/off = {p50_ratio:.3f} (<= 1.05)")
    print(f"  {verdict(rps_ratio >= 0.95)} status throughput at 50 connections: on/off = {rps_ratio:.3f} (>= 0.95)")
    cpu_ratio = on50["cpu_us_per_request"] / max(1e-9, off50["cpu_us_per_request"])
    print(f"  (server CPU per status request at 50 connections: on/off = {cpu_ratio:.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per subject")
    parser.add_argument("--json", help="also write the figures as JSON here")
    args = parser.parse_args()
    return asyncio.run(run(args.duration, args.rounds, args.json))


if __name__ == "__main__":
    sys.exit(main())
