#!/usr/bin/env python3
"""Benchmark of the history profile: its cost on the status path, the query over a week, the database size.

    python benchmarks/bench_history.py [--duration 3] [--rounds 3] [--json PATH]

1. A simulated week: 7 days of points at the default 10 s interval (60,480) and 2,000 events written
   through the store, maintenance run as the server runs it (retention, 1-minute merging past 24 h,
   checkpoints); the database size after it (target <= 50 MB).
2. A reference server (own process) on that database: `GET /api/dev/status/history` over the 7 days with
   `limit` 1000 and 10000, 1 connection, P50/P99 (target P99 <= 100 ms).
3. Two reference servers against the mock upstreams, `on` (history at TES_HISTORY_INTERVAL_MS=100) and
   `off` (without the history feature), interleaved wrk rounds of GET /api/dev/status at 1 connection
   (target: P50 within 5 %) and 50 connections (target: throughput within 5 %).
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
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_server import (  # noqa: E402
    interleaved,
    machine,
    ms,
    row,
    start_feature_server,
    start_mocks,
    verdict,
    wrk,
)
from tes_contract.contract.formats import rfc3339_ms  # noqa: E402
from tes_contract.mocks import MockControl  # noqa: E402
from tes_contract.server.history import DB_NAME  # noqa: E402
from tes_contract.server.history_store import HistoryDB  # noqa: E402

WEEK_S = 7 * 24 * 3600
INTERVAL_S = 10

def simulated_week(state: Path) -> dict[str, Any]:
    """Write a week of points ending now, maintaining as the server does; return sizes and timings."""
    state.mkdir(parents=True)
    db = HistoryDB(state / DB_NAME)
    end_ms = int(time.time() * 1000)
    start_ms = end_ms - WEEK_S * 1000
    began = time.monotonic()
    batch: list[dict[str, Any]] = []
    modes = ("normal", "degraded", "isolated")
    event_id = 0
    for i in range(WEEK_S // INTERVAL_S):
        ts = start_ms + i * INTERVAL_S * 1000
        batch.append({"ts_ms": ts, "trafficMode": modes[(i // 500) % 3], "telemetryStatus": "healthy",
                      "errorRate": 0.01 * (i % 7), "avgLatency": 1.5 + i % 5, "requestsPerSecond": 2.0,
                      "tmux": 3, "activeWorkers": 4, "apiSessions": 1, "websocketConnections": i % 3,
                      "memory": 60_000_000 + i, "cpu": 1000 + i})
        events = []
        if i % 30 == 0 and event_id < 2000:
            event_id += 1
            events.append({"id": event_id, "ts_ms": ts, "kind": "telemetryStatus",
                           "from": "healthy" if event_id % 2 else "offline",
                           "to": "offline" if event_id % 2 else "healthy"})
        if len(batch) == 6 or events:  # a minute of points per commit, as a server writes them in a minute
            db.write(batch, events)
            batch = []
        if i % 6 == 0:  # maintenance once a simulated minute, at that simulated time
            db.maintain(ts, WEEK_S)
        if i % 360 == 0:
            db.checkpoint()
    db.write(batch, [])
    while db.maintain(end_ms, WEEK_S):
        pass
    db.checkpoint()
    rows = db.db.execute("SELECT COUNT(*), SUM(merged) FROM points").fetchone()
    db.close()
    size = sum(p.stat().st_size for p in state.iterdir() if p.name.startswith(DB_NAME))
    return {"write_s": round(time.monotonic() - began, 1), "rows": rows[0], "merged_rows": rows[1],
            "events": event_id, "bytes": size, "start_ms": start_ms, "end_ms": end_ms}


async def query_figures(url: str, week: dict[str, Any], duration_s: float) -> dict[str, Any]:
    since, until = quote(rfc3339_ms(week["start_ms"])), quote(rfc3339_ms(week["end_ms"]))
    figures = {}
    for limit in (1000, 10000):
        path = f"{url}/api/dev/status/history?since={since}&until={until}&limit={limit}"
        figures[limit] = await asyncio.to_thread(wrk, path, 1, duration_s)
    return figures


async def run(duration_s: float, rounds: int, json_path: str | None) -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: install it (Debian/Ubuntu: apt-get install -y wrk) and run again.", file=sys.stderr)
        return 2
    print("\n".join(machine()))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as folder:
        week = results["week"] = simulated_week(Path(folder) / "week")
        mocks_process, mocks = start_mocks()
        processes = [mocks_process]
        try:
            base = {"TES_TMUX_STATUS_URL": mocks["tmux"], "TES_WORKER_API_URL": mocks["worker"]}
            reader = start_feature_server("week", "on", "history", {
                **base, "TES_STATE_DIR": f"{folder}/week", "TES_EVENT_LOG": f"{folder}/week.log"})
            processes.append(reader)
            results["query"] = await query_figures(reader.url, week, duration_s)
            reader.stop()
            for mode in ("on", "off"):
                processes.append(start_feature_server(mode, mode, "history,alerts", {
                    **base, "TES_HISTORY_INTERVAL_MS": "100", "TES_STATE_DIR": f"{folder}/{mode}",
                    "TES_EVENT_LOG": f"{folder}/{mode}.log"}))
            subjects = {"history on (100 ms)": processes[-2], "history off": processes[-1]}
            async with MockControl(mocks["control"]) as control:
                await control.set("tmux", "healthy")
                await control.set("worker", "healthy")
                results["c1"] = await interleaved(control, subjects, 1, duration_s, rounds)
                results["c50"] = await interleaved(control, subjects, 50, duration_s, rounds)
        finally:
            for process in reversed(processes):
                process.stop()
    report(results, rounds)
    if json_path:
        Path(json_path).write_text(json.dumps({"machine": machine(), "results": results}, indent=2, default=str))
    return 0


def report(results: dict[str, Any], rounds: int) -> None:
    week = results["week"]
    print(f"\nsimulated week: {week['rows']} rows ({week['merged_rows']} merged minutes), {week['events']} events, "
          f"written in {week['write_s']} s; database {week['bytes'] / 1e6:.2f} MB")
    for limit, figures in results["query"].items():
        print(row(f"history 7 d, limit {limit}", figures, calls=False))
    for key, label in (("c1", "1 connection"), ("c50", "50 connections")):
        print(f"\nstatus, {label} (median of {rounds} interleaved rounds)")
        for name, figures in results[key].items():
            print(row(name, figures))
    on1, off1 = results["c1"]["history on (100 ms)"], results["c1"]["history off"]
    on50, off50 = results["c50"]["history on (100 ms)"], results["c50"]["history off"]
    p50, p99 = on1["p50_us"] / off1["p50_us"], on1["p99_us"] / off1["p99_us"]
    rps = on50["rps"] / off50["rps"]
    worst = max(f["p99_us"] for f in results["query"].values())
    print("\ntargets (issue 12)")
    print(f"  {verdict(week['bytes'] <= 50e6)} database after a week {week['bytes'] / 1e6:.2f} MB <= 50 MB")
    print(f"  {verdict(worst <= 100_000)} history query of 7 days P99 {ms(worst).strip()} <= 100 ms")
    print(f"  {verdict(p50 <= 1.05)} status P50 at 1 connection: on/off = {p50:.3f} (<= 1.05; P99 {p99:.3f})")
    print(f"  {verdict(rps >= 0.95)} status throughput at 50 connections: on/off = {rps:.3f} (>= 0.95)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per subject")
    parser.add_argument("--json", help="also write the figures as JSON here")
    args = parser.parse_args()
    return asyncio.run(run(args.duration, args.rounds, args.json))


if __name__ == "__main__":
    sys.exit(main())
