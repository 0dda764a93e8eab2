"""Traffic accounting on a fresh server: k 200s, n 404s, m 5xx, one slow request; then the boundaries."""

from __future__ import annotations

from tes_contract.conformance.checks.dev import worker_list_unavailable_is_503
from tes_contract.conformance.checks.response import error_body_is_json, unknown_path_answers_json_404
from tes_contract.conformance.checks.traffic import (
    avg_latency_in_milliseconds,
    error_rate_counts_5xx,
    requests_per_second_counts_requests,
)
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.model import Exchange
from tes_contract.conformance.scenarios import HEALTHY

WORKERS_PATH = "/api/dev/workers"


async def _observe(ctx: GroupContext, name: str) -> Exchange:
    """One status request judged against everything the harness sent before it."""
    prior = list(ctx.client.ledger)
    exchange = await ctx.status(name)
    if exchange.status == 200:
        ctx.check(error_rate_counts_5xx, name, exchange, prior)
        ctx.check(requests_per_second_counts_requests, name, exchange, prior)
        ctx.check(avg_latency_in_milliseconds, name, exchange, prior, ctx.notes.get("held_ms", 0.0))
    return exchange


async def _server_errors(ctx: GroupContext, count: int) -> int:
    """Cause `count` 5xx answers with GET /api/dev/workers while the worker API is down; return how many came."""
    made = 0
    for _ in range(count):
        exchange = await ctx.client.request("GET", WORKERS_PATH)
        ctx.check(error_body_is_json, ctx.scenario("workers-503"), exchange)
        if "dev" in ctx.profiles and exchange.status != 404:
            ctx.check(worker_list_unavailable_is_503, ctx.scenario("workers-503"), exchange)
        if exchange.status is None or exchange.status < 500:
            break  # the server has no dev profile (404) or answers otherwise: no 5xx to be had this way
        made += 1
    return made


async def run_traffic(ctx: GroupContext) -> None:
    """errorRate, trafficMode, requestsPerSecond and avgLatency against the harness's own ledger."""
    assert ctx.mocks is not None
    await ctx.mocks.healthy()
    for _ in range(4):
        await ctx.status(ctx.scenario("warm-up"))
    # One deliberately slow request: a latency reported in seconds instead of ms cannot hide behind it.
    await ctx.mocks.set("tmux", "slow", delay_ms=0.5 * ctx.timeout_ms, **HEALTHY["tmux"])
    slow = await ctx.status(ctx.scenario("slow-request"))
    if slow.status is not None:
        ctx.notes["held_ms"] = 0.5 * ctx.timeout_ms
    await ctx.mocks.set("tmux", "healthy", **HEALTHY["tmux"])
    await ctx.status(ctx.scenario("warm-up"))
    # Three unknown paths: plain, with an encoded newline (a router's `.*` stops there), with non-ASCII.
    for suffix in ("", "%0Anewline", "%C3%A9t%C3%A9"):
        exchange = await ctx.client.request("GET", f"/api/dev/conformance-no-such-path-{ctx.seed}{suffix}")
        ctx.check(error_body_is_json, ctx.scenario("not-found"), exchange)
        ctx.check(unknown_path_answers_json_404, ctx.scenario("not-found"), exchange)
    # 6 status answers + 3 404s so far; one 5xx makes exactly 1 in 10: errorRate 0.10 is degraded, not normal.
    await ctx.mocks.set("worker", "down")
    has_5xx = await _server_errors(ctx, 1) == 1
    await _observe(ctx, ctx.scenario("error-rate-0.10" if has_5xx else "no-5xx-available"))
    if not has_5xx:
        ctx.notes["traffic"] = "no 5xx available (GET /api/dev/workers did not answer 5xx): boundaries not driven"
        ctx.recorder.progress(f"{ctx.group}: {ctx.notes['traffic']}")
        return
    # Exactly half the answers 5xx: 0.50 is still degraded; one more makes it isolated.
    answered = [e for e in ctx.client.ledger if e.status is not None]
    errors = sum(1 for e in answered if (e.status or 0) >= 500)
    needed = len(answered) - 2 * errors
    if await _server_errors(ctx, needed) == needed:
        await _observe(ctx, ctx.scenario("error-rate-0.50"))
        # The observation itself is a 200: two more 5xx take the rate past one half.
        if await _server_errors(ctx, 2) == 2:
            await _observe(ctx, ctx.scenario("error-rate-above-0.50"))
