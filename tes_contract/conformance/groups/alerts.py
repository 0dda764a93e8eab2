"""The history profile's alert group (managed mode): worker flips raise events, the webhook mock's journal
shows what the server sent, through the webhook scenarios ok, 500 twice then ok, 400, down (refused) and hang.

The runner points `TES_ALERT_WEBHOOK_URL` at the group's webhook mock (`Group.webhook`). Waits: an alert
is awaited up to 1 s after its event plus the run's slack; a retry up to RETRY_WAIT_S (a server may choose
slower first retries than the reference's 0.5 s, but the harness does not wait a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

from tes_contract.conformance.checks.alerts import (
    alert_deliveries_valid,
    answers_not_delayed,
    deliveries_follow_the_answers,
    expected_alerts,
    failed_delivery_retried,
    one_alert_per_event,
    pushes_not_delayed,
)
from tes_contract.conformance.checks.upstream import upstream_fields
from tes_contract.conformance.client import STATUS_PATH
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.groups.history import EVENTS_PATH, HISTORY_ENV
from tes_contract.conformance.model import Exchange
from tes_contract.contract.rules import RECOVERY_S

PUSH_INTERVAL_MS = 250
#: The environment of the alert group's server (a short push interval: pushes are watched while it hangs).
ALERTS_ENV = {**HISTORY_ENV, "TES_PUSH_INTERVAL_MS": str(PUSH_INTERVAL_MS)}
#: How long the harness waits for the retries of one alert.
RETRY_WAIT_S = 15.0
#: After the last expected delivery, how long nothing more may come (a second send after a 2xx, a 4xx retried).
QUIET_S = 1.0


class _Phase:
    """One webhook scenario: the events and deliveries from its start, and the spells open when it began."""

    def __init__(self, ctx: GroupContext, name: str, after: int, open_spells: dict[str, str]) -> None:
        self.ctx, self.name, self.after, self.open_spells = ctx, name, after, dict(open_spells)

    async def events(self) -> list[dict[str, Any]]:
        exchange = await self.ctx.client.request("GET", EVENTS_PATH, params={"after": str(self.after),
                                                                             "limit": "1000"})
        body = exchange.body if exchange.status == 200 and isinstance(exchange.body, dict) else {}
        events = body.get("events", [])
        return events if isinstance(events, list) else []

    async def deliveries(self) -> list[dict[str, Any]]:
        assert self.ctx.mocks is not None
        return await self.ctx.mocks.journal("webhook")

    async def wait_for(self, count: int, within_s: float) -> list[dict[str, Any]]:
        """Poll the journal until `count` deliveries came or `within_s` passed; then QUIET_S more."""
        deadline = time.monotonic() + within_s
        while len(await self.deliveries()) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(QUIET_S)
        return await self.deliveries()

    async def judge(self, events: list[dict[str, Any]], deliveries: list[dict[str, Any]],
                    late_ok: frozenset[int] = frozenset()) -> dict[str, str]:
        """The checks every phase runs; returns the spells still open after it (for the next phase)."""
        ctx, scenario = self.ctx, self.ctx.scenario(self.name)
        ctx.check(alert_deliveries_valid, scenario, deliveries)
        # Retries of an earlier phase's alerts may still come: they are judged by the retry checks, not here.
        own = [d for d in deliveries if (_event_of(d) or self.after + 1) > self.after]
        ctx.check(one_alert_per_event, scenario, own, events, 1.0 + ctx.slack_ms / 1000, self.open_spells, late_ok)
        ctx.check(deliveries_follow_the_answers, scenario, deliveries, ctx.timeout_ms / 1000, ctx.slack_ms / 1000)
        return _spells_after(events, self.open_spells)


def _spells_after(events: list[dict[str, Any]], open_spells: dict[str, str]) -> dict[str, str]:
    spells = dict(open_spells)
    for alert in expected_alerts(events, open_spells).values():
        if alert["status"] == "firing":
            spells[alert["kind"]] = alert["startsAt"]
        else:
            spells.pop(alert["kind"], None)
    return spells


async def _last_event_id(ctx: GroupContext) -> int:
    exchange = await ctx.client.request("GET", EVENTS_PATH, params={"limit": "1000"})
    body = exchange.body if exchange.status == 200 and isinstance(exchange.body, dict) else {}
    return max((e.get("id", 0) for e in body.get("events", []) if isinstance(e, dict)), default=0)


async def _flip(ctx: GroupContext, scenario: str, worker: str, shown: str) -> None:
    """Switch the worker mock and poll until the status shows it (the change makes an event)."""
    assert ctx.mocks is not None
    await ctx.mocks.set("worker", worker)
    await ctx.observe(ctx.scenario(scenario), {"telemetryStatus": shown})


async def _unkept_flip(ctx: GroupContext, scenario: str, worker: str, shown: str) -> list[Exchange]:
    """`_flip` with answers judged but not kept in the client's history: a WebSocket is open meanwhile, so
    they count it (the across-calls checks assume none)."""
    assert ctx.mocks is not None
    await ctx.mocks.set("worker", worker)
    exchanges: list[Exchange] = []
    deadline = time.monotonic() + RECOVERY_S + ctx.slack_ms / 1000
    while time.monotonic() < deadline:
        exchange = await _unkept_status(ctx, scenario)
        exchanges.append(exchange)
        if upstream_fields(exchange.body).get("telemetryStatus") == shown:
            break
        await asyncio.sleep(0.1)
    return exchanges


async def _unkept_status(ctx: GroupContext, scenario: str) -> Exchange:
    exchange = await ctx.client.request("GET", STATUS_PATH)
    ctx.judge_status(exchange, ctx.scenario(scenario))
    return exchange


async def _begin(ctx: GroupContext, name: str, webhook: str | dict[str, Any], spells: dict[str, str]) -> _Phase:
    assert ctx.mocks is not None
    if isinstance(webhook, dict):
        await ctx.mocks.upstreams.run_timeline(webhook)
        ctx.mocks.described["webhook"] = f"webhook=timeline({json.dumps(webhook['upstreams']['webhook'])})"
    else:
        await ctx.mocks.set("webhook", webhook)
    await ctx.mocks.clear_journal("webhook")
    return _Phase(ctx, name, await _last_event_id(ctx), spells)


async def run_alerts(ctx: GroupContext) -> None:
    """ok (fire, fire again, resolve), 500 twice then ok, 400, refused, hang: exact delivery counts."""
    await ctx.start_healthy()
    if not ctx.managed or ctx.mocks is None or (await ctx.client.request("GET", EVENTS_PATH)).status == 404:
        return  # the webhook URL is the harness's only in managed mode; no events: the surface group says so
    spells: dict[str, str] = {}
    phase = await _begin(ctx, "ok", "healthy", spells)
    for worker, shown in (("down", "offline"), ("http_error", "degraded"), ("healthy", "healthy")):
        await _flip(ctx, "ok", worker, shown)
    events = await phase.events()
    spells = await phase.judge(events, await phase.wait_for(len(expected_alerts(events, spells)), 1.5))

    phase = await _begin(ctx, "500-twice", {"upstreams": {"webhook": ["http_error x2", "healthy"]}}, spells)
    await _flip(ctx, "500-twice", "down", "offline")
    deliveries = await phase.wait_for(3, RETRY_WAIT_S)
    ctx.check(failed_delivery_retried, ctx.scenario("500-twice"), deliveries, 3, "500, 500, then 200")
    await _flip(ctx, "500-twice", "healthy", "healthy")
    events = await phase.events()
    spells = await phase.judge(events, await phase.wait_for(4, 1.5))

    phase = await _begin(ctx, "400", "client_error", spells)
    await _flip(ctx, "400", "down", "offline")
    await _flip(ctx, "400", "healthy", "healthy")
    events = await phase.events()
    await asyncio.sleep(2.0)  # a 4xx retried shows here (a retry schedule starting past 3 s would slip by)
    spells = await phase.judge(events, await phase.wait_for(2, 1.5))

    spells = await _refused(ctx, spells)
    await _hang(ctx, spells)


async def _refused(ctx: GroupContext, spells: dict[str, str]) -> dict[str, str]:
    """The webhook down (connection refused) when an alert fires, up a second later: the alert is retried
    and delivered once, late (its lateness excused), and the next alert comes on time."""
    assert ctx.mocks is not None
    phase = await _begin(ctx, "refused", "down", spells)
    await _flip(ctx, "refused", "down", "offline")
    await asyncio.sleep(1.0)
    await ctx.mocks.set("webhook", "healthy")
    deliveries = await phase.wait_for(1, RETRY_WAIT_S)
    ctx.check(failed_delivery_retried, ctx.scenario("refused"), deliveries, 1, "refused, then accepted")
    await _flip(ctx, "refused", "healthy", "healthy")
    events = await phase.events()
    refused = frozenset(e["id"] for e in events if e["to"] == "offline")
    return await phase.judge(events, await phase.wait_for(2, 1.5), refused)


async def _hang(ctx: GroupContext, spells: dict[str, str]) -> None:
    """The webhook hangs: answers and pushes keep their pace, the attempt is bounded and retried, and the
    resolved alert of the next event is not held behind the hanging one (deliveries are independent)."""
    phase = await _begin(ctx, "hang", "hang", spells)
    url = ctx.client.base_url.replace("http", "ws", 1) + "/api/dev/status/ws"
    arrivals: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        reader = None
        try:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            ws = await stack.enter_async_context(session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=2)))

            async def read() -> None:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT and '"type":"status"' in message.data.replace(" ", ""):
                        arrivals.append(time.monotonic())

            reader = asyncio.create_task(read())
        except (aiohttp.ClientError, TimeoutError):
            reader = None  # no live WebSocket: the answers alone are judged
        bound_s = 1.0 + ctx.slack_ms / 1000
        started = time.monotonic()
        exchanges = await _unkept_flip(ctx, "hang", "down", "offline")
        while time.monotonic() - started < ctx.timeout_ms / 1000 + 0.5:  # across the hanging attempt
            exchanges.append(await _unkept_status(ctx, "hang"))
            await asyncio.sleep(0.1)
        exchanges += await _unkept_flip(ctx, "hang", "healthy", "healthy")
        ctx.check(answers_not_delayed, ctx.scenario("hang"), exchanges, bound_s, "webhook hanging")
        if reader is not None:
            window = [t for t in arrivals if t >= started]
            ctx.check(pushes_not_delayed, ctx.scenario("hang"), window,
                      1.5 * PUSH_INTERVAL_MS / 1000 + ctx.slack_ms / 1000, "webhook hanging")
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    events = await phase.events()
    deliveries = await phase.wait_for(3, ctx.timeout_ms / 1000 + RETRY_WAIT_S)  # firing (2 attempts), resolved
    ctx.check(failed_delivery_retried, ctx.scenario("hang"), [d for d in deliveries if _firing(d)], 2,
              "the first attempt held past the timeout")
    await phase.judge(events, deliveries)


def _event_of(entry: dict[str, Any]) -> int | None:
    """The `event` of a delivery's body (None when it has none: the shape check reports that)."""
    try:
        event = json.loads(entry.get("body") or "").get("event")
    except (ValueError, AttributeError):
        return None
    return event if isinstance(event, int) else None


def _firing(entry: dict[str, Any]) -> bool:
    return '"firing"' in str(entry.get("body", ""))
