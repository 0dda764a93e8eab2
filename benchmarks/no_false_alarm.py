#!/usr/bin/env python3
"""No false alarm: the reference server must pass the whole core run N times in a row, each with a new seed.

    python benchmarks/no_false_alarm.py [--runs 20] [--first-seed 1] [--server "COMMAND"]

Prints one line per run (seed, verdict, wall time, failed clauses) and a summary; exit 0 only when every run
passed. Not part of the test suite: 20 runs take about 6 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tes_contract.conformance import Options, run_conformance  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--server", default=f"{sys.executable} -m tes_contract serve")
    args = parser.parse_args()
    walls, alarms = [], 0
    started = time.monotonic()
    for seed in range(args.first_seed, args.first_seed + args.runs):
        result = run_conformance(Options(server=args.server, seed=seed, cwd=str(Path(__file__).parent.parent)))
        walls.append(result.wall_s)
        failed = sorted(result.failed_clauses())
        alarms += bool(failed)
        print(f"seed {seed:3d}: {'FAILED' if failed else 'passed'} in {result.wall_s:5.1f} s "
              f"({result.exchanges} requests){'  ' + ', '.join(failed) if failed else ''}", flush=True)
        for failure in result.failures[:5]:
            print(f"    [{failure.clause}] {failure.scenario}: expected {failure.expected}; observed "
                  f"{failure.observed}", flush=True)
    print(f"\n{args.runs - alarms}/{args.runs} runs passed; wall time per run: min {min(walls):.1f} s, median "
          f"{statistics.median(walls):.1f} s, max {max(walls):.1f} s; total {time.monotonic() - started:.0f} s")
    return 1 if alarms else 0


if __name__ == "__main__":
    sys.exit(main())
