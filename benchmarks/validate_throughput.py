#!/usr/bin/env python3
"""Benchmark: `tes-contract validate` on a JSON Lines file of 100,000 status documents (target >= 20,000 docs/s).

    python benchmarks/validate_throughput.py [--documents N] [--invalid-every K] [--seed S]

Writes a JSON Lines file of generated EnhancedStatusData (every K-th one broken in a different way), runs
`python -m tes_contract validate` on it end to end (process start included), checks that exactly the
broken lines are reported invalid, and prints the figures. Exit 1 when a line is misjudged or the rate is
below the target. Not a test: run it by hand on the machine you want figures for.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = 20_000


def status_document(rng: random.Random, index: int) -> dict[str, Any]:
    rate = rng.choice([0.0, 0.05, 0.1, 0.3, 0.5, 0.75, 1.0])
    mode = "normal" if rate < 0.1 else "degraded" if rate <= 0.5 else "isolated"
    workers = rng.choice([0, 0, 1, 7, 47])
    total = rng.randint(1, 200)
    active = rng.randint(0, total)
    millis = 1_764_300_000_000 + index * 250
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z",
        "vector": {
            "sessions": {"tmux": rng.randint(0, 9), "activeWorkers": workers, "apiSessions": rng.randint(1, 40),
                         "websocketConnections": rng.randint(0, 9)},
            "directions": {
                "primaryRegion": rng.choice(["us-east-1", "eu-west-1"]),
                "trafficMode": mode,
                "requestFlow": {"totalRoutes": total, "activeRoutes": active,
                                "avgLatency": round(rng.uniform(0, 250), 3),
                                "requestsPerSecond": round(rng.uniform(0, 500), 3)},
                "activeRoutes": active,
            },
            "others": {"memory": rng.randint(10**7, 10**9), "cpu": index * 3, "errorRate": rate,
                       "uptime": index * 0.25},
        },
        "meta": {"totalEndpoints": total,
                 "telemetryStatus": "healthy" if workers else rng.choice(["degraded", "offline"]),
                 "statusVersion": "2.0"},
    }


def breakages() -> list[tuple[str, Any]]:
    """Ways to break a document, each a (description, function of the document)."""
    def set_path(path: list[str], value: Any):
        def apply(doc: dict[str, Any]) -> None:
            node = doc
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return apply

    def inconsistent_traffic(doc: dict[str, Any]) -> None:
        doc["vector"]["directions"]["trafficMode"] = "isolated" if doc["vector"]["others"]["errorRate"] <= 0.5 \
            else "normal"

    return [
        ("timestamp without milliseconds", lambda d: d.__setitem__("timestamp", d["timestamp"][:-5] + "Z")),
        ("tmux is a boolean", set_path(["vector", "sessions", "tmux"], True)),
        ("unknown key", set_path(["vector", "others", "load"], 0.5)),
        ("trafficMode vs errorRate", inconsistent_traffic),
        ("errorRate above 1", set_path(["vector", "others", "errorRate"], 1.5)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--invalid-every", type=int, default=97)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ways = breakages()
    broken: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "status.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for index in range(args.documents):
                doc = status_document(rng, index)
                if index % args.invalid_every == args.invalid_every - 1:
                    what, apply = ways[len(broken) % len(ways)]
                    apply(doc)
                    broken[index + 1] = what
                out.write(json.dumps(doc, separators=(",", ":")) + "\n")
        size = path.stat().st_size
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "tes_contract", "validate", str(path)], env=env,
                                capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    reported = {int(line.rsplit(":", 2)[-2]) for line in result.stdout.splitlines() if line.endswith(": INVALID")}
    rate = args.documents / elapsed
    print(f"documents:        {args.documents:,} ({size / 1e6:.1f} MB of JSON Lines)")
    print(f"broken on purpose: {len(broken):,} ({', '.join(sorted(set(broken.values())))})")
    print(f"reported invalid: {len(reported):,} (exit {result.returncode})")
    print(f"wall time:        {elapsed:.2f} s, process start included")
    print(f"throughput:       {rate:,.0f} documents/s (target {TARGET:,})")
    print(f"CPU time:         {cpu:.2f} s, {args.documents / cpu:,.0f} documents per CPU-second "
          "(what the rate would be with a core to itself)")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine:          {os.cpu_count()} CPUs, load average {load} (figures are only comparable when idle)")
    misjudged = reported ^ set(broken)
    if misjudged:
        print(f"MISJUDGED lines: {sorted(misjudged)[:20]}", file=sys.stderr)
    if result.returncode not in (0, 1):
        print(result.stderr, file=sys.stderr)
    ok = not misjudged and result.returncode == (1 if broken else 0) and rate >= TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
