"""The metrics group: scrapes around known traffic and upstream scenarios, judged by the metrics checks.

METRICS-LINT is judged by the real `promtool check metrics` when it is on PATH (CI installs Debian's
`prometheus` package), else by the harness's own copy of its rules; the run's progress says which.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from tes_contract.conformance.checks.metrics import (
    Scrape,
    metrics_agree_with_status,
    metrics_families_match_contract,
    metrics_openmetrics_when_asked,
    metrics_parse_as_prometheus_text,
    metrics_pass_promtool,
    parse_scrape,
    requests_counted_between_scrapes,
    unknown_paths_add_one_route,
)
from tes_contract.conformance.client import STATUS_PATH
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.model import Exchange
from tes_contract.conformance.scenarios import expected_fields, healthy_fields
from tes_contract.contract.clauses.metrics import METRICS_PATH

#: Distinct unknown paths of METRICS-CARDINALITY, sent this many at once.
CARDINALITY_REQUESTS = 1000
CARDINALITY_BATCH = 25
PROMTOOL_TIMEOUT_S = 30.0
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}

#: Upstream scenarios of METRICS-AGREE: (name, tmux scenario, worker scenario, fields shown, tes_upstream_up).
AGREE_SCENARIOS: tuple[tuple[str, str, str, dict[str, Any], dict[str, int]], ...] = (
    ("healthy", "healthy", "healthy", {**healthy_fields("tmux"), **healthy_fields("worker")},
     {"tmux": 1, "worker": 1}),
    ("worker-down", "healthy", "down", {**healthy_fields("tmux"), **expected_fields("worker", False)},
     {"tmux": 1, "worker": 0}),
    ("worker-malformed", "healthy", "malformed_json", {**healthy_fields("tmux"),
                                                       **expected_fields("worker", True, 200, None)},
     {"tmux": 1, "worker": 0}),
    ("tmux-http-error", "http_error", "healthy", {**expected_fields("tmux", True, 500),
                                                  **healthy_fields("worker")}, {"tmux": 0, "worker": 1}),
)


async def promtool_check(text: str) -> tuple[int, str] | None:
    """(exit code, output) of `promtool check metrics` on `text`, or None when promtool is not on PATH."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    process = await asyncio.create_subprocess_exec(promtool, "check", "metrics", stdin=asyncio.subprocess.PIPE,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(text.encode()), PROMTOOL_TIMEOUT_S)
    except TimeoutError:
        return 1, f"promtool did not finish within {PROMTOOL_TIMEOUT_S:g} s"
    finally:
        if process.returncode is None:  # timed out, or the group was cancelled: never leave it unreaped
            process.kill()
            await process.wait()
    return process.returncode or 0, output.decode(errors="replace")


async def _scrape(ctx: GroupContext, name: str) -> tuple[Exchange, Scrape | None]:
    """GET the metrics, judged as an exposition under `name`; the parsed scrape when it parsed."""
    ctx.ensure_running()
    exchange = await ctx.client.request("GET", METRICS_PATH)
    if ctx.check(metrics_parse_as_prometheus_text, ctx.scenario(name), exchange):
        return exchange, None
    return exchange, parse_scrape(exchange.text)


async def _count(ctx: GroupContext) -> None:
    """METRICS-COUNT: statuses, unknown paths, a 405 and an OpenMetrics scrape between two scrapes."""
    first, before = await _scrape(ctx, "count")
    mark = len(ctx.client.ledger) - 1  # the first scrape is counted by the second
    for _ in range(3):
        await ctx.status(ctx.scenario("count"))
    for i in range(2):
        await ctx.client.request("GET", f"/api/dev/conformance-metrics-unknown-{ctx.seed}-{i}")
    await ctx.client.request("POST", STATUS_PATH)
    openmetrics = await ctx.client.request("GET", METRICS_PATH, headers=OPENMETRICS)
    ctx.check(metrics_openmetrics_when_asked, ctx.scenario("openmetrics"), openmetrics)
    sent = ctx.client.ledger[mark:]
    _, after = await _scrape(ctx, "count")
    if before is not None and after is not None and first.status == 200:
        ctx.check(requests_counted_between_scrapes, ctx.scenario("count"), before, after, sent,
                  (STATUS_PATH, METRICS_PATH))


async def _cardinality(ctx: GroupContext) -> str:
    """METRICS-CARDINALITY: 1,000 distinct unknown paths; returns the last scrape's text."""
    _, before = await _scrape(ctx, "cardinality")
    for start in range(0, CARDINALITY_REQUESTS, CARDINALITY_BATCH):
        ctx.ensure_running()
        await asyncio.gather(*(ctx.client.request("GET", f"/api/dev/conformance-cardinality-{ctx.seed}-{i}")
                               for i in range(start, start + CARDINALITY_BATCH)))
    exchange, after = await _scrape(ctx, "cardinality")
    if before is not None and after is not None:
        ctx.check(unknown_paths_add_one_route, ctx.scenario("cardinality"), before, after, CARDINALITY_REQUESTS)
    return exchange.text


async def _agree(ctx: GroupContext) -> None:
    """METRICS-AGREE: in each upstream scenario, the status first shows it, then a scrape must agree."""
    assert ctx.mocks is not None
    for name, tmux, worker, fields, up in AGREE_SCENARIOS:
        await ctx.mocks.healthy()
        if tmux != "healthy":
            await ctx.mocks.set("tmux", tmux)
        if worker != "healthy":
            await ctx.mocks.set("worker", worker)
        status, took = await ctx.observe(ctx.scenario(f"agree-{name}"), fields)
        if took is None:
            continue  # the core checks judge a status that never shows the scenario
        _, scrape = await _scrape(ctx, f"agree-{name}")
        if scrape is not None:
            ctx.check(metrics_agree_with_status, ctx.scenario(f"agree-{name}"), status, scrape, up)
    await ctx.mocks.healthy()


async def run_metrics(ctx: GroupContext) -> None:
    """Every metrics clause against one fresh server; nothing when it does not serve /api/dev/metrics."""
    probe = await ctx.client.request("GET", METRICS_PATH)
    if probe.status == 404:
        return  # the http group's probe reports the profile not implemented
    await ctx.start_healthy()
    await _count(ctx)
    text = await _cardinality(ctx)
    # Judged after all that traffic, when every family has samples.
    promtool = await promtool_check(text)
    judge = "promtool check metrics" if promtool is not None else "the harness's copy of promtool's rules"
    ctx.recorder.progress(f"{ctx.group}: METRICS-LINT judged by {judge}")
    ctx.notes["lint"] = judge
    ctx.check(metrics_pass_promtool, ctx.scenario("lint"), text, promtool)
    ctx.check(metrics_families_match_contract, ctx.scenario("names"), text)
    await _agree(ctx)
