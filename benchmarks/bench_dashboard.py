#!/usr/bin/env python3
"""Benchmark of the dashboard: page weight and time from navigation to the first status shown (not a test).

    python benchmarks/bench_dashboard.py [--loads 20]

A real stack on loopback (mock upstreams, `tes-contract serve`, tmux on a private socket: the stack of
tests/server/test_dashboard_browser.py) and Debian's headless Chromium through playwright-python. Each
load is a fresh browser context (a cold cache: every file fetched). Figures:
  page weight        decoded bytes of the HTML, ES modules and CSS the page loaded (target <= 60 KB)
  first status       `performance.mark("tes-first-status")` (set when the cards first show a status, by
                     push or poll) relative to the navigation's start: P50 / P90 / max (target <= 300 ms)
Bounded: every wait has a timeout; the stack stops at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.server.dashboard_stack import CHROMIUM, Stack  # noqa: E402

WEIGHT = """() => {
  const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
  const files = entries.filter(e => e.entryType === 'navigation'
    || /^\\/dashboard\\/[^?]+$/.test(new URL(e.name).pathname));
  return files.map(e => [new URL(e.name).pathname, e.decodedBodySize]);
}"""
FIRST = "() => performance.getEntriesByName('tes-first-status')[0]?.startTime"
#: Milestones of one load, ms since the navigation's start: HTML answered, files loaded, element defined,
#: socket open, first status shown.
STEPS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const files = performance.getEntriesByType('resource')
    .filter(e => new URL(e.name).pathname.startsWith('/dashboard/'));
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
  return [nav.responseEnd, Math.max(...files.map(e => e.responseEnd)), mark('tes-status-element'),
          mark('tes-socket-open'), mark('tes-first-status')];
}"""
STEP_NAMES = ("HTML answered", "files loaded", "<system-status> connected", "socket open", "first status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    times: list[float] = []
    files: list[list[object]] = []
    steps: list[list[float]] = []
    with Stack() as stack, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _ in range(args.loads):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{stack.url}/#token={stack.token}")
                page.wait_for_function(FIRST, timeout=10000)
                times.append(float(page.evaluate(FIRST)))
                steps.append([float(v) for v in page.evaluate(STEPS)])
                files = page.evaluate(WEIGHT)
                context.close()
        finally:
            browser.close()
    weight = sum(int(size) for _, size in files)  # type: ignore[call-overload]
    times.sort()
    print(f"page weight: {weight} bytes ({weight / 1024:.1f} KiB) in {len(files)} files, target <= 60 KB")
    for path, size in sorted(files, key=lambda f: str(f[0])):
        print(f"  {path}: {size} bytes")
    p90 = times[max(0, int(len(times) * 0.9) - 1)]
    print(f"navigation to first status, {len(times)} cold loads: P50 {statistics.median(times):.0f} ms, "
          f"P90 {p90:.0f} ms, max {times[-1]:.0f} ms (target <= 300 ms)")
    print("  where the time goes (P50 of each milestone, ms since navigation start): " + ", ".join(
        f"{name} {statistics.median(load[i] for load in steps):.0f}" for i, name in enumerate(STEP_NAMES)))


if __name__ == "__main__":
    main()
