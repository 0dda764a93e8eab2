#!/usr/bin/env python3
"""Run the conformance harness (core, metrics, live; managed mode) against every independent server and break.

Prints the table "broken server -> clauses reported": for each server (node, python) and each break mode
of tests/servers/README.md, the clauses the harness reported failing, the clauses it had to report, and
whether it caught the break. The correct servers come first: they must report nothing.

    cd /work/wt/brokens && /work/venv/bin/python benchmarks/broken_table.py [--kind node] [--break no_405] \
        [--json PATH]

Full matrix: 2 servers x (1 + 35) runs of the whole core, metrics and live profiles, run one after another (each
run already runs its scenario groups in parallel): about 6-10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tes_contract.conformance.runner import run_conformance  # noqa: E402
from tests.servers.launch import BREAKS, EXPECTED_CLAUSES, KINDS, command  # noqa: E402


def run_one(kind: str, breaks: str, seed: int) -> dict[str, object]:
    """One core+metrics+live run against one server with `breaks` switched on; the row of the table."""
    began = time.monotonic()
    result = run_conformance(server=command(kind, breaks), profiles=("core", "metrics", "live"), seed=seed,
                             cwd=str(ROOT))
    reported = sorted(result.failed_clauses())
    expected = sorted(EXPECTED_CLAUSES.get(breaks, frozenset()))
    caught = (not reported) if not breaks else set(expected) <= set(reported)
    return {"server": kind, "break": breaks or "(correct)", "expected": expected, "reported": reported,
            "ok": caught, "wall_s": round(time.monotonic() - began, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", choices=KINDS, help="server kind (repeatable; default both)")
    parser.add_argument("--break", dest="breaks", action="append", choices=("", *BREAKS),
                        help="break mode (repeatable; '' is the correct server; default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    kinds = args.kind or list(KINDS)
    breaks = args.breaks if args.breaks is not None else ["", *BREAKS]
    rows = []
    print("| server | break | clauses reported | must report | verdict | wall |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind in kinds:
        for name in breaks:
            row = run_one(kind, name, args.seed)
            rows.append(row)
            verdict = ("passes" if row["ok"] else "FALSE ALARM") if not name else (
                "caught" if row["ok"] else "MISSED")
            print(f"| {kind} | {row['break']} | {', '.join(row['reported']) or '-'} | "  # type: ignore[arg-type]
                  f"{', '.join(row['expected']) or '-'} | {verdict} | {row['wall_s']} s |", flush=True)  # type: ignore[arg-type]
    bad = [r for r in rows if not r["ok"]]
    print(f"\n{len(rows) - len(bad)}/{len(rows)} rows as expected"
          + (": " + "; ".join(f"{r['server']} {r['break']}" for r in bad) if bad else ""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
