#!/usr/bin/env python3
"""Benchmark of the reference server: figures printed, compared in the same run (not a test).

    python benchmarks/bench_server.py [--duration 5] [--json PATH]

Three subjects, each its own process, against the mock upstreams (`tes-contract mock`, another process)
on loopback:
  guarded  `tes-contract serve`: single-flight and circuit breakers (the default)
  naive    `tes-contract serve --naive`: every request calls both upstreams and waits (the original's way)
  bare     a bare aiohttp handler answering a fixed status-sized JSON with the same headers: the ceiling
           of one Python process on this machine
Load generator: wrk (Debian package `wrk`), with a Lua `done` hook printing the latency distribution.
Upstream calls per status request come from the mocks' journal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tes_contract.mocks import MockControl  # noqa: E402

WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK-JSON {\"requests\": %d, \"duration_us\": %d, \"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, " ..
    "\"max_us\": %d, \"mean_us\": %.1f, \"connect\": %d, \"read\": %d, \"write\": %d, \"status\": %d, " ..
    "\"timeout\": %d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

BARE_SERVER = r"""
import sys
from aiohttp import web
BODY = open(sys.argv[1], "rb").read()
async def status(request):
    response = web.Response(body=BODY, content_type="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-TES-Status-Version"] = "2.0"
    return response
async def main():
    app = web.Application()
    app.router.add_get("/api/dev/status", status)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"bare: http://{host}:{port}", flush=True)
    import asyncio
    await asyncio.Event().wait()
import asyncio
asyncio.run(main())
"""


# ---------------------------------------------------------------------------------------------- processes
class Process:
    """A child process whose output goes to a file; `url` is read from the line that announces it."""

    def __init__(self, name: str, argv: list[str], pattern: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name}-", suffix=".log", delete=False)
        environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=self.log, stderr=subprocess.STDOUT,
                                      text=True)
        self.url = self._wait_for(pattern)

    def _wait_for(self, pattern: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = Path(self.log.name).read_text()
            match = re.search(pattern, text)
            if match:
                return match.group(1)
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        output = Path(self.log.name).read_text()
        self.stop()
        raise SystemExit(f"{self.name} did not start:\n{output}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        Path(self.log.name).unlink(missing_ok=True)


def start_server(name: str, mocks: dict[str, str], *extra: str, timeout_ms: int = 5000) -> Process:
    argv = [sys.executable, "-m", "tes_contract", "serve", "--port", "0", "--tmux-status-url", mocks["tmux"],
            "--worker-api-url", mocks["worker"], "--timeout-ms", str(timeout_ms), *extra]
    # Each server its own state dir: two on one history database refuse to start.
    state = tempfile.mkdtemp(prefix=f"bench-{name}-state-")
    return Process(name, argv, r'"event": "listening", "url": "([^"]+)"',
                   {"TES_STATE_DIR": f"{state}/state", "TES_EVENT_LOG": f"{state}/events.log"})


#: A reference server with every feature (`on`) or all but some (`off`): `python -c FEATURE_SERVER on|off
#: NAME[,NAME]`, each NAME a feature of `tes_contract.server.routes` (the A/B of bench_metrics and
#: bench_history; a feature that needs another goes with it: alerts keep their queue in history's database).
FEATURE_SERVER = r"""
import asyncio, importlib, json, sys
from aiohttp import web
from tes_contract.server.app import FEATURES, create_app
from tes_contract.server.settings import Settings

async def main():
    mode, names = sys.argv[1], sys.argv[2].split(",")
    left_out = {importlib.import_module("tes_contract.server.routes." + name).setup for name in names}
    features = FEATURES if mode == "on" else tuple(f for f in FEATURES if f not in left_out)
    runner = web.AppRunner(create_app(Settings.from_env(), features), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(json.dumps({"event": "listening", "url": f"http://{host}:{port}"}), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def start_feature_server(name: str, mode: str, feature: str, env: dict[str, str]) -> Process:
    """The FEATURE_SERVER with `feature` (comma-separated names) on or off, with `env` (each its own
    TES_STATE_DIR)."""
    return Process(name, [sys.executable, "-c", FEATURE_SERVER, mode, feature],
                   r'"event": "listening", "url": "([^"]+)"', env)


def start_mocks() -> tuple[Process, dict[str, str]]:
    """`tes-contract mock` on free ports in its own process; its tmux, worker and control URLs."""
    process = Process("mocks", [sys.executable, "-m", "tes_contract", "mock", "--tmux-port", "0",
                                "--worker-port", "0", "--control-port", "0"], r"control: (\S+)")
    text = Path(process.log.name).read_text()
    urls = {name: re.search(rf"{name}: (\S+)", text).group(1) for name in ("tmux", "worker", "control")}  # type: ignore[union-attr]
    return process, urls


# ---------------------------------------------------------------------------------------------- load
def wrk(url: str, connections: int, duration_s: float, timeout_s: float = 10.0) -> dict[str, Any]:
    """Run wrk against `url`; the figures of its Lua `done` hook (latencies in microseconds)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_LUA)
    threads = 1 if connections == 1 else 2
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(duration_s)}s", f"--timeout={round(timeout_s)}s",
            "-s", script.name, url]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + timeout_s + 30)
    os.unlink(script.name)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("WRK-JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures:\n{result.stdout}\n{result.stderr}")
    figures: dict[str, Any] = json.loads(line[len("WRK-JSON "):])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(control: MockControl, url: str, connections: int, duration_s: float,
                   timeout_s: float = 10.0, pid: int | None = None) -> dict[str, Any]:
    """wrk on `url`, the upstream calls per request (mocks' journal) and the server's CPU per request.

    CPU per request is the figure least moved by other load on a shared machine: throughput on a CPU-bound
    server is about 1 / (CPU per request).
    """
    await control.clear_journal("tmux")
    await control.clear_journal("worker")
    cpu_before = cpu_seconds(pid) if pid else 0.0
    figures = await asyncio.to_thread(wrk, url, connections, duration_s, timeout_s)
    figures["cpu_us_per_request"] = ((cpu_seconds(pid) - cpu_before) / max(1, figures["requests"]) * 1e6
                                     if pid else 0.0)
    # wrk counts only the requests completed; a status request it cut at the end may still have called.
    for upstream in ("tmux", "worker"):
        figures[f"{upstream}_calls"] = len(await control.journal(upstream))
    figures["calls_per_request"] = max(figures["tmux_calls"], figures["worker_calls"]) / max(1, figures["requests"])
    return figures


async def interleaved(control: MockControl, subjects: dict[str, Process], connections: int, duration_s: float,
                      rounds: int) -> dict[str, dict[str, Any]]:
    """Run each subject `rounds` times, alternating (and the order reversed every other round), so a change
    in the machine's load hits all alike.

    Per subject: the median of each latency and throughput figure over the rounds; calls summed.
    """
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in subjects}
    for index in range(rounds):
        # A B, B A, A B, ...: whoever runs first in a round (a warmer mock, a quieter moment) is not always
        # the same subject.
        order = list(subjects.items())
        for name, process in (order if index % 2 == 0 else order[::-1]):
            runs[name].append(await measured(control, process.url + "/api/dev/status", connections, duration_s,
                                             pid=process.popen.pid))
    merged: dict[str, dict[str, Any]] = {}
    for name, items in runs.items():
        figures = {key: statistics.median(item[key] for item in items)
                   for key in ("p50_us", "p90_us", "p99_us", "max_us", "rps", "cpu_us_per_request")}
        for key in ("requests", "errors", "tmux_calls", "worker_calls"):
            figures[key] = sum(item[key] for item in items)
        figures["calls_per_request"] = max(figures["tmux_calls"], figures["worker_calls"]) / max(1, figures["requests"])
        figures["rounds"] = [{k: item[k] for k in ("p50_us", "p99_us", "rps")} for item in items]
        merged[name] = figures
    return merged


# ---------------------------------------------------------------------------------------------- report
def ms(us: float) -> str:
    return f"{us / 1000:8.2f} ms"


def row(label: str, f: dict[str, Any], calls: bool = True) -> str:
    text = (f"  {label:<26} P50 {ms(f['p50_us'])}  P99 {ms(f['p99_us'])}  max {ms(f['max_us'])}  "
            f"{f['rps']:7.0f} req/s  server CPU {f.get('cpu_us_per_request', 0):5.0f} us/request  "
            f"errors {f['errors']}")
    if calls:
        requests = max(1, f["requests"])
        text += (f"  calls/request tmux {f['tmux_calls'] / requests:.3f}"
                 f" worker {f['worker_calls'] / requests:.3f}")
    return text


def verdict(ok: bool) -> str:
    return "MET   " if ok else "MISSED"


def machine() -> list[str]:
    cpu = "unknown"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import aiohttp

    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    load = os.getloadavg()
    return [f"machine: {platform.node()} {platform.system()} {platform.release()} {platform.machine()}",
            f"cpu: {cpu}, {os.cpu_count()} logical cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            f"python {platform.python_version()}, aiohttp {aiohttp.__version__}",
            f"load generator: {wrk_version.strip()} (threads 1 for 1 connection, 2 otherwise), "
            "on the same machine as the servers and the mocks"]


def hot_path_profile() -> list[str]:
    """Cost of the status assembly and its JSON encoding, in process (why orjson is not used)."""
    from tes_contract.server.process import ProcessMetrics
    from tes_contract.server.settings import Settings
    from tes_contract.server.snapshot import Clock, RouteCounts, StatusSources, dumps, status_fields
    from tes_contract.server.traffic import TrafficWindow
    from tes_contract.server.upstreams import UpstreamAnswer

    sources = StatusSources(Settings(), TrafficWindow(), ProcessMetrics(), Clock(), RouteCounts(6, 3), lambda: 0)
    tmux = UpstreamAnswer(True, 200, {"online": True, "sessions": [{}, {}]})
    worker = UpstreamAnswer(True, 200, {"connected": 3})
    n = 20000
    started = time.perf_counter()
    for _ in range(n):
        fields = status_fields(sources, tmux, worker)
    fields_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(n):
        body = fields.json()
    template_us = (time.perf_counter() - started) / n * 1e6
    document = fields.document()
    started = time.perf_counter()
    for _ in range(n):
        dumps(document)
    dumps_us = (time.perf_counter() - started) / n * 1e6
    lines = [f"  status_fields (every value of a snapshot): {fields_us:.1f} us/call",
             f"  encoding the {len(body)}-byte body: template {template_us:.1f} us/call (used), "
             f"json.dumps of the dict {dumps_us:.1f} us/call"]
    try:
        import orjson  # type: ignore[import-not-found]

        started = time.perf_counter()
        for _ in range(n):
            orjson.dumps(document)
        lines.append(f"  orjson.dumps: {(time.perf_counter() - started) / n * 1e6:.1f} us/call")
    except ImportError:
        lines.append("  orjson: not installed (the template already removes what it would save)")
    return lines


# ---------------------------------------------------------------------------------------------- main
async def run(duration_s: float, rounds: int, json_path: str | None) -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: install it (Debian/Ubuntu: apt-get install -y wrk) and run again.", file=sys.stderr)
        return 2
    print("\n".join(machine()))
    print("mocks: `tes-contract mock` (tes_contract.mocks) in their own process; servers: "
          "`tes-contract serve` in their own processes; access log off everywhere")
    results: dict[str, Any] = {}
    mocks_process, mocks = start_mocks()
    processes: list[Process] = [mocks_process]
    try:
        async with MockControl(mocks["control"]) as control:
            await _healthy_rounds(control, mocks, processes, results, duration_s, rounds)
            await _hanging(control, mocks, processes, results, duration_s)
    finally:
        for process in reversed(processes):
            process.stop()

    print("\nhot path, in process")
    print("\n".join(hot_path_profile()))
    print("\ntargets (issue 4)")
    for ok, text in _targets(results, rounds):
        print(f"  {verdict(ok)} {text}")
    print("\n".join(machine()[1:2]) + " (at the end)")
    if json_path:
        Path(json_path).write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


async def _healthy_rounds(control: MockControl, mocks: dict[str, str], processes: list[Process],
                          results: dict[str, Any], duration_s: float, rounds: int) -> None:
    """Guarded, naive and bare servers with healthy mocks, at 1, 50 and 100 connections, interleaved."""
    await control.set("tmux", "healthy")
    await control.set("worker", "healthy")
    guarded = start_server("guarded", mocks)
    naive = start_server("naive", mocks, "--naive")
    processes += [guarded, naive]
    # The bare handler answers the very bytes the guarded server answered.
    sample = await asyncio.to_thread(_fetch, guarded.url + "/api/dev/status")
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as body_file:
        body_file.write(sample)
    bare = Process("bare", [sys.executable, "-c", BARE_SERVER, body_file.name], r"bare: (\S+)")
    processes.append(bare)
    subjects = {"guarded": guarded, "naive": naive, "bare": bare}
    for process in subjects.values():  # warm-up
        await asyncio.to_thread(wrk, process.url + "/api/dev/status", 4, 1)
    for connections in (1, 50, 100):
        print(f"\nhealthy mocks, {connections} connection(s), {rounds} alternating rounds of "
              f"{duration_s:g} s, medians")
        merged = await interleaved(control, subjects, connections, duration_s, rounds)
        for name, figures in merged.items():
            results[f"c{connections}_{name}"] = figures
            print(row(name, figures, calls=name != "bare"))
    for process in (guarded, naive):
        process.stop()
        processes.remove(process)


async def _hanging(control: MockControl, mocks: dict[str, str], processes: list[Process], results: dict[str, Any],
                   duration_s: float) -> None:
    """The worker API hanging: guarded after its first timeout, against naive."""
    print(f"\nworker API hanging (timeout 5000 ms), {duration_s:g} s each after the first timeout;"
          " the worker calls are the breaker's probes")
    await control.set("worker", "hang")
    guarded = start_server("guarded-hang", mocks)
    naive = start_server("naive-hang", mocks, "--naive")
    processes += [guarded, naive]
    started = time.perf_counter()
    await asyncio.to_thread(_fetch, guarded.url + "/api/dev/status")
    print(f"  guarded: first request (meets the first timeout) {(time.perf_counter() - started) * 1000:.0f} ms")
    for connections in (1, 50):
        key = f"hang_c{connections}_guarded"
        results[key] = await measured(control, guarded.url + "/api/dev/status", connections, duration_s,
                                      pid=guarded.popen.pid)
        print(row(f"guarded, {connections} connection(s)", results[key]))
    results["hang_c10_naive"] = await measured(control, naive.url + "/api/dev/status", 10,
                                               max(duration_s, 11.0), timeout_s=15.0, pid=naive.popen.pid)
    print(row("naive, 10 connections", results["hang_c10_naive"]))
    await control.set("worker", "healthy")


def _targets(results: dict[str, Any], rounds: int) -> list[tuple[bool, str]]:
    """The targets of issue 4, each (met, line)."""
    seq, c50, c100 = results["c1_guarded"], results["c50_guarded"], results["c100_guarded"]
    ratio = c50["rps"] / results["c50_bare"]["rps"]
    cpu_ratio = results["c50_bare"]["cpu_us_per_request"] / max(1e-9, c50["cpu_us_per_request"])
    hang = results["hang_c1_guarded"]
    return [
        (seq["p50_us"] <= 2000, f"1 connection P50 <= 2 ms: {seq['p50_us'] / 1000:.2f} ms (seed claims ~15 ms)"),
        (seq["p99_us"] <= 5000, f"1 connection P99 <= 5 ms: {seq['p99_us'] / 1000:.2f} ms (seed claims ~50 ms)"),
        (ratio >= 0.5, f"50 connections throughput >= 50% of bare: {ratio * 100:.0f}% "
                       f"({c50['rps']:.0f} vs {results['c50_bare']['rps']:.0f} req/s)"),
        (cpu_ratio >= 0.5, f"  the same from server CPU per request (least moved by other load): "
                           f"{cpu_ratio * 100:.0f}% ({c50['cpu_us_per_request']:.0f} vs "
                           f"{results['c50_bare']['cpu_us_per_request']:.0f} us/request)"),
        (c50["p99_us"] <= 50000, f"50 connections P99 <= 50 ms: {c50['p99_us'] / 1000:.2f} ms"),
        (hang["p99_us"] <= 20000, f"worker hanging P99 <= 20 ms after the first timeout: "
                                  f"{hang['p99_us'] / 1000:.2f} ms (naive: "
                                  f"{results['hang_c10_naive']['p99_us'] / 1000:.0f} ms)"),
        # wrk stops with up to one request per connection unfinished, whose upstream calls the journal has.
        (max(seq["tmux_calls"], seq["worker_calls"]) - rounds <= seq["requests"],
         f"upstream calls per request <= 1 (1 connection): {seq['calls_per_request']:.4f} "
         f"({max(seq['tmux_calls'], seq['worker_calls'])} calls for {seq['requests']} answered + {rounds} cut by wrk)"),
        (c100["calls_per_request"] <= 0.1, f"upstream calls per request at 100 connections <= 0.1: "
                                           f"{c100['calls_per_request']:.3f} (naive "
                                           f"{results['c100_naive']['calls_per_request']:.3f})"),
    ]


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each wrk run (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per load (default 3)")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this JSON file")
    args = parser.parse_args()
    return asyncio.run(run(args.duration, args.rounds, args.json_path))


if __name__ == "__main__":
    sys.exit(main())
