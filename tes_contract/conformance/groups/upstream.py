"""Upstream groups: every scenario of each upstream, recovery, the timeout bound, the 5 s default."""

from __future__ import annotations

from typing import Any

import aiohttp

from tes_contract.conformance.checks.across import api_sessions_see_each_other
from tes_contract.conformance.checks.upstream import (
    FIELD_CLAUSE,
    UPSTREAM_FIELDS,
    answer_inside_timeout_counted,
    answer_within_timeout,
    default_timeout_is_5s,
    mock_answers_match_upstream_schema,
    recovered_within_5s,
    upstream_fields,
    upstream_fields_match_contract,
    upstreams_called_concurrently,
)
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.model import Exchange
from tes_contract.conformance.scenarios import HEALTHY, UPSTREAMS, expected_fields, healthy_fields, scenarios_for

OFFLINE = {**expected_fields("tmux", False), **expected_fields("worker", False)}


def _field_clauses(upstream: str) -> tuple[str, ...]:
    return tuple(FIELD_CLAUSE[name] for name in UPSTREAM_FIELDS[upstream])


async def _self_check_mocks(ctx: GroupContext, upstream: str) -> None:
    """Fetch the healthy body straight from the mock (not through the server), then forget that call."""
    assert ctx.mocks is not None
    urls = await ctx.mocks.upstreams.urls()
    url = urls["tmux"] if upstream == "tmux" else urls["worker"] + "/workers/status"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json(content_type=None)
    clause = "UPSTREAM-TMUX-SHAPE" if upstream == "tmux" else "UPSTREAM-WORKER-SHAPE"
    ctx.check(mock_answers_match_upstream_schema, ctx.scenario("healthy"), upstream, body, clauses=(clause,))
    await ctx.mocks.clear_journal(upstream)


async def run_upstream_scenarios(ctx: GroupContext, upstream: str) -> None:
    """Drive every scenario of one upstream while the other stays healthy; compare the fields with the oracle."""
    assert ctx.mocks is not None
    other = "worker" if upstream == "tmux" else "tmux"
    await ctx.mocks.healthy()
    if ctx.managed:
        await _self_check_mocks(ctx, upstream)
    # Start from both up (in live mode a breaker may still hold an earlier group's failure).
    await ctx.start_healthy()
    unchanged, counted = ctx.baseline_of(other), ctx.baseline_of(upstream)
    for scenario in scenarios_for(upstream):
        ctx.ensure_running()
        await ctx.mocks.set(upstream, scenario.mock, **scenario.params)
        name = ctx.scenario(scenario.name)
        expected = scenario.expected(upstream)
        # An answered healthy body may show as the server showed it at the start (a wrong count is judged
        # once, below, instead of polled for 5 s).
        or_else = [counted] if scenario.answered and expected == healthy_fields(upstream) else []
        exchange, _ = await ctx.observe(name, expected, baseline=unchanged, or_else=or_else)
        also = tuple(c for c in scenario.also if c != "TIMEOUT-COUNTED")
        ctx.check(upstream_fields_match_contract, name, exchange, expected, also,
                  clauses=(*_field_clauses(upstream), *also))
        if "TIMEOUT-COUNTED" in scenario.also:
            ctx.check(answer_inside_timeout_counted, name, exchange, counted, "0.8 x the timeout")


async def run_tmux(ctx: GroupContext) -> None:
    """Every tmux-status scenario."""
    await run_upstream_scenarios(ctx, "tmux")


async def run_worker(ctx: GroupContext) -> None:
    """Every worker-status scenario."""
    await run_upstream_scenarios(ctx, "worker")


async def run_recovery(ctx: GroupContext) -> None:
    """An upstream that was down (or hanging) and comes back shows within 5 s."""
    assert ctx.mocks is not None
    await ctx.start_healthy()
    for upstream, failure in (("tmux", "down"), ("worker", "down"), ("worker", "hang")):
        name = ctx.scenario(f"{upstream}-{failure}-then-healthy")
        await ctx.mocks.set(upstream, failure)
        await ctx.observe(name, expected_fields(upstream, False))
        await ctx.mocks.set(upstream, "healthy", **HEALTHY[upstream])
        exchange, after = await ctx.observe(name, ctx.baseline_of(upstream), within_s=10 + ctx.slack_ms / 1000)
        ctx.check(recovered_within_5s, name, after, ctx.slack_ms, f"{upstream} as healthy as at the start")


def _calls_during(journals: dict[str, list[dict[str, Any]]], exchange: Exchange) -> dict[str, list[dict[str, Any]]]:
    return {name: [c for c in entries if exchange.sent_at <= c["arrived_at"] <= exchange.received_at]
            for name, entries in journals.items()}


async def _back_to_healthy(ctx: GroupContext, name: str) -> None:
    assert ctx.mocks is not None
    await ctx.mocks.healthy()
    await ctx.observe(ctx.scenario(name), ctx.baseline, within_s=10 + ctx.slack_ms / 1000)


async def run_timeout(ctx: GroupContext) -> None:
    """Both hanging, both dribbling: one timeout (+ slack), calls concurrent; 0.8 x timeout counted."""
    assert ctx.mocks is not None
    await ctx.start_healthy()
    name = ctx.scenario("both-hang")
    await ctx.mocks.set_both("hang")
    exchange = await ctx.status(name)
    ctx.check(answer_within_timeout, name, exchange, ctx.timeout_ms, ctx.slack_ms, "both upstreams hang")
    calls = _calls_during(await ctx.mocks.journals(), exchange)
    ctx.check(upstreams_called_concurrently, name, exchange, calls, ctx.timeout_ms, ctx.slack_ms)
    ctx.check(upstream_fields_match_contract, name, exchange, OFFLINE, (), clauses=tuple(FIELD_CLAUSE.values()))

    await _back_to_healthy(ctx, "healthy-again")
    name = ctx.scenario("both-slow_body")
    for upstream in UPSTREAMS:
        await ctx.mocks.set(upstream, "slow_body", duration="3x", **HEALTHY[upstream])
    exchange = await ctx.status(name)
    ctx.check(answer_within_timeout, name, exchange, ctx.timeout_ms, ctx.slack_ms, "both bodies dribbled past it")
    ctx.check(upstream_fields_match_contract, name, exchange, OFFLINE, (), clauses=tuple(FIELD_CLAUSE.values()))

    await _back_to_healthy(ctx, "healthy-again")
    name = ctx.scenario("both-slow-0.8x-three-requests")
    for attempt in range(2):
        for upstream in UPSTREAMS:
            await ctx.mocks.set(upstream, "slow", delay="0.8x", **HEALTHY[upstream])
        ctx.ensure_running()
        exchanges = await ctx.statuses(name, 3)
        counted = all(e.status == 200 and upstream_fields(e.body) == ctx.baseline for e in exchanges)
        if counted or attempt:
            break
        # 0.2 x the timeout is little on a loaded machine: a server whose timeout is right counts the second
        # try; one whose timeout is short misses both.
        await _back_to_healthy(ctx, "healthy-again")
    for exchange in exchanges:
        ctx.check(answer_inside_timeout_counted, name, exchange, ctx.baseline, "0.8 x the timeout")
    ctx.check(api_sessions_see_each_other, name, exchanges)


async def run_default_timeout(ctx: GroupContext) -> None:
    """TES_UPSTREAM_TIMEOUT_MS unset: answers at 4 s are counted, a hang is cut by about 5 s."""
    assert ctx.mocks is not None
    await ctx.start_healthy()
    name = ctx.scenario("both-answer-at-4s")
    for upstream in UPSTREAMS:
        await ctx.mocks.set(upstream, "slow", delay_ms=4000, **HEALTHY[upstream])
    exchange = await ctx.status(name)
    ctx.check(default_timeout_is_5s, name, exchange, ctx.baseline, "upstreams answering at 4 s", 3900,
              5000 + ctx.slack_ms)
    await _back_to_healthy(ctx, "healthy-again")  # a breaker opened by a wrong answer above must not hide this
    name = ctx.scenario("both-hang")
    await ctx.mocks.set_both("hang")
    exchange = await ctx.status(name)
    ctx.check(default_timeout_is_5s, name, exchange, OFFLINE, "upstreams hanging", 4000, 5000 + ctx.slack_ms)
