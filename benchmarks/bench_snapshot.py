#!/usr/bin/env python3
"""Benchmark of the reference server's snapshot proxy (dev profile): figures printed, not a test.

    python benchmarks/bench_snapshot.py [--size-mb 200] [--runs 1]

The server (`python -m tes_contract serve`) runs in its own process on loopback; the worker mock (in this
process) serves a deterministic snapshot of `--size-mb` MiB made as it is sent (mocks/snapshots.py). This
process downloads it through the proxy, hashing as it reads, while sampling the server's RSS (psutil)
every 20 ms. Printed per run: the server's RSS before, its peak during the copy and the growth, the bytes
and sha256 compared with the mock's, throughput. Each run uses another worker id (the proxy allows one
snapshot per worker per 10 s). Bounded: the download has a timeout of 120 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from tes_contract.conformance.managed import ManagedServer
from tes_contract.mocks import MockUpstreams
from tes_contract.mocks.snapshots import snapshot_digest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-snapshot-token-0123456789"


async def _sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        await asyncio.sleep(0.02)


async def _one(base: str, pid: int, worker: str, size: int) -> dict[str, float | int | bool]:
    before = psutil.Process(pid).memory_info().rss
    peak, stop = [before], asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(pid, peak, stop))
    digest, received = hashlib.sha256(), 0
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        async with session.get(f"{base}/api/dev/workers/{worker}/snapshot",
                               headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            status = response.status
            async for chunk in response.content.iter_chunked(256 * 1024):
                digest.update(chunk)
                received += len(chunk)
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    return {"status": status, "bytes": received, "same": digest.hexdigest() == snapshot_digest(worker, size),
            "rss_before": before, "rss_peak": peak[0], "seconds": elapsed}


async def main(size_mb: int, runs: int) -> int:
    size = size_mb * 1024 * 1024
    async with MockUpstreams(client_timeout_ms=60000) as mocks:
        await mocks.set("worker", "healthy", snapshot={"mode": "healthy", "size": size})
        with tempfile.TemporaryDirectory(prefix="tes-bench-snapshot-") as state:
            env = {"TES_WORKER_API_URL": mocks.worker_url, "TES_TMUX_STATUS_URL": mocks.tmux_url,
                   "TES_UPSTREAM_TIMEOUT_MS": "60000", "TES_DEV_TOKEN": TOKEN, "TES_STATE_DIR": state,
                   "TES_EVENT_LOG": os.path.join(state, "events.log")}
            async with ManagedServer(f"{sys.executable} -m tes_contract serve", env, cwd=str(ROOT)) as server:
                assert server.process is not None
                print(f"snapshot proxy, {size_mb} MiB through the reference server (pid {server.process.pid})")
                worst = 0
                for run in range(runs):
                    figures = await _one(server.url, server.process.pid, f"bench-{run}", size)
                    growth = int(figures["rss_peak"]) - int(figures["rss_before"])
                    worst = max(worst, growth)
                    mib = 1024 * 1024
                    print(f"  run {run + 1}: status {figures['status']}, {int(figures['bytes']) / mib:.1f} MiB, "
                          f"bytes equal the mock's: {figures['same']}; "
                          f"server RSS {int(figures['rss_before']) / mib:.1f} "
                          f"-> peak {int(figures['rss_peak']) / mib:.1f} MiB (growth {growth / mib:.1f} MiB); "
                          f"{int(figures['bytes']) / mib / float(figures['seconds']):.0f} MiB/s "
                          f"in {float(figures['seconds']):.1f} s")
                print(f"worst RSS growth: {worst / (1024 * 1024):.1f} MiB (target < 20 MiB)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.size_mb, options.runs)))
