#!/usr/bin/env python3
"""Benchmark the mock upstreams (figures printed; not a test).

    python benchmarks/bench_mocks.py [--duration 10] [--connections 64] [--hang 1000]

1. healthy: requests/s of the worker mock, measured by `wrk` (a separate load-generating process) on
   loopback, the mock pinned to one core with `taskset` when available. Target: >= 5,000 req/s.
2. hang: 1,000 connections each with a request the mock never answers; the growth of the mock
   process's RSS (psutil) from before they open until all are held. Target: < 50 MB. Then the clients
   leave and the journal must have recorded each give-up.

The mock runs as `python -m tes_contract mock` in its own process, exactly as users run it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import Request, urlopen

import psutil

ROOT = Path(__file__).resolve().parent.parent
TARGET_RPS = 5000
TARGET_MB = 50.0


def machine() -> None:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    print(f"machine: nproc={os.cpu_count()} cpu={model!r} python={platform.python_version()} "
          f"platform={platform.platform()}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine skews figures)")


def pin(core: int) -> list[str]:
    """Prefix pinning a command to one core, or nothing when taskset is missing."""
    taskset = shutil.which("taskset")
    if taskset and (os.cpu_count() or 1) > core:
        return [taskset, "-c", str(core)]
    return []


def start_mock() -> tuple[subprocess.Popen[str], dict[str, str]]:
    argv = [*pin(0), sys.executable, "-m", "tes_contract", "mock", "--tmux-port", "0", "--worker-port", "0",
            "--control-port", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(3))
    print(f"mock: {' '.join(argv[len(pin(0)):])} (pid {process.pid}, "
          f"{'pinned to core 0 with taskset' if pin(0) else 'not pinned: taskset missing'})")
    return process, urls


def control(url: str, method: str = "GET", body: object = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def bench_healthy(urls: dict[str, str], pid: int, duration: int, connections: int) -> float | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("healthy: SKIPPED — `wrk` is not installed (Debian/Ubuntu: apt-get install -y wrk); "
              "no throughput figure measured")
        return None
    url = urls["worker"] + "/workers/status"
    argv = [*pin(1), wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    print(f"load generator: {' '.join(argv)}")
    mock = psutil.Process(pid)
    cpu_before = sum(mock.cpu_times()[:2])
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    cpu_s = sum(mock.cpu_times()[:2]) - cpu_before
    print("\n".join("    " + line for line in done.stdout.strip().splitlines()))
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", done.stdout)
    rps = float(match.group(1)) if match else 0.0
    verdict = "PASS" if rps >= TARGET_RPS and not errors else "FAIL"
    print(f"healthy: {rps:,.0f} requests/s on one core (target >= {TARGET_RPS:,}) {verdict}"
          + (f"; errors: {errors.group(0)}" if errors else ""))
    total = re.search(r"(\d+) requests in", done.stdout)
    if total and cpu_s > 0:
        # On a shared machine the pinned core is not all ours: requests per CPU-second of the mock process
        # is what one dedicated core would serve.
        print(f"healthy: the mock used {cpu_s:.1f} CPU-s for {int(total.group(1)):,} requests = "
              f"{int(total.group(1)) / cpu_s:,.0f} requests per CPU-second "
              f"({cpu_s / duration:.0%} of its core during the run)")
    return rps


async def _answered(reader: asyncio.StreamReader) -> bool:
    """True when the mock sent anything (or closed) on this connection within 0.2 s."""
    try:
        await asyncio.wait_for(reader.read(1), 0.2)
        return True
    except TimeoutError:
        return False


async def bench_hang(urls: dict[str, str], pid: int, count: int) -> float:
    control(urls["control"] + "/upstreams/worker/scenario", "PUT", {"scenario": "hang"})
    control(urls["control"] + "/upstreams/worker/journal", "DELETE")
    host, port = urls["worker"].removeprefix("http://").rsplit(":", 1)
    mock = psutil.Process(pid)
    before = mock.memory_info().rss
    started = time.monotonic()
    writers = []
    for i in range(count):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /workers/status?n={i} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        writers.append((reader, writer))
    await asyncio.gather(*(w.drain() for _, w in writers))
    held = 0
    for _ in range(200):  # until the mock has every request in hand
        held = control(urls["control"] + "/upstreams/worker/scenario")["requests"]  # type: ignore[index]
        if held >= count:
            break
        await asyncio.sleep(0.05)
    opened_s = time.monotonic() - started
    await asyncio.sleep(1.0)
    after = mock.memory_info().rss
    answered = sum(await asyncio.gather(*(_answered(reader) for reader, _ in writers)))
    growth_mb = (after - before) / 2**20
    verdict = "PASS" if growth_mb < TARGET_MB and held >= count and answered == 0 else "FAIL"
    print(f"hang: {held} requests held open on {count} connections in {opened_s:.1f} s, {answered} answered; "
          f"mock RSS {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB, growth {growth_mb:.1f} MB "
          f"(target < {TARGET_MB:.0f} MB) {verdict}")
    for _, writer in writers:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for _, w in writers), return_exceptions=True)
    gave_up = 0
    for _ in range(100):
        entries = control(urls["control"] + "/upstreams/worker/journal")["entries"]  # type: ignore[index]
        gave_up = sum(1 for e in entries if e["client_gave_up_at"] is not None)
        if gave_up >= count:
            break
        await asyncio.sleep(0.05)
    print(f"hang: journal recorded {gave_up} of {count} client give-ups after the clients closed")
    return growth_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--hang", type=int, default=1000, help="connections held by hang")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.hang * 2 + 256
    if soft < wanted:  # the mock inherits the raised limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    machine()
    # A fresh mock process for each figure: the healthy run fills the journal, whose freed memory
    # would hide the growth of the hang run.
    for bench in ("hang", "healthy"):
        process, urls = start_mock()
        try:
            if bench == "hang":
                asyncio.run(bench_hang(urls, process.pid, args.hang))
            else:
                bench_healthy(urls, process.pid, args.duration, args.connections)
                rss = psutil.Process(process.pid).memory_info().rss / 2**20
                print(f"healthy: mock RSS after the run {rss:.1f} MB (journal keeps the last 50,000 requests)")
        finally:
            process.terminate()
            process.wait(timeout=10)
        print(f"mock exited with {process.returncode} after SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
