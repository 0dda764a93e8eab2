"""Scenario groups: each runs against one server process of its own, and ends with the across-calls checks."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tes_contract.conformance.checks.across import (
    api_sessions_count_in_flight,
    no_websockets_counted,
    primary_region_echoed,
    timestamp_uptime_cpu_never_decrease,
    uptime_follows_wall_clock,
)
from tes_contract.conformance.checks.response import run_status_checks
from tes_contract.conformance.checks.upstream import (
    other_upstream_unchanged,
    server_reads_environment,
    upstream_called_once_per_request,
    upstream_fields,
)
from tes_contract.conformance.client import Client
from tes_contract.conformance.managed import ManagedServer
from tes_contract.conformance.model import Exchange, Failure, Recorder
from tes_contract.conformance.registry import run_check
from tes_contract.conformance.scenarios import Mocks, healthy_fields
from tes_contract.contract.rules import RECOVERY_S, region_for
from tes_contract.errors import Stopped

#: Between polls of the status while waiting for a state to show.
POLL_INTERVAL_S = 0.1


@dataclass
class GroupContext:
    """What a group's scenarios work with: the client of its server, its mocks, the run's settings."""

    group: str
    client: Client
    recorder: Recorder
    mocks: Mocks | None
    timeout_ms: float
    slack_ms: float
    seed: int
    stop: threading.Event
    managed: bool
    region: str | None = None  # TES_PRIMARY_REGION as given to the server; None when unknown or unset
    region_known: bool = False
    examples: int = 30
    profiles: tuple[str, ...] = ("core",)
    notes: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    #: Managed mode: the server process of the group (to signal, stop or restart it); None in live mode.
    server: ManagedServer | None = None

    def scenario(self, name: str = "") -> str:
        """The scenario id under which results are recorded: `group/name`."""
        return f"{self.group}/{name}" if name else self.group

    def check(self, func: Callable[..., Iterator[Failure]], scenario: str, *args: Any, **kwargs: Any) -> list[Failure]:
        """Run one check and record its verdict under `scenario`, with the mocks' state for reproduction
        (and the curl line of the first exchange among the arguments)."""
        curl = next((a.curl() for a in args if isinstance(a, Exchange)), "")
        context = Failure("", "", "", curl=curl, mock=self.mocks.describe() if self.mocks else "", seed=self.seed)
        return run_check(self.recorder, func, scenario, *args, context=context, **kwargs)

    async def start_healthy(self) -> dict[str, Any]:
        """Both upstreams healthy; wait until the status shows both up; remember what it shows as the baseline
        (tmux > 0, telemetry healthy): the values "counted" and "unchanged" are judged against."""
        assert self.mocks is not None
        await self.mocks.healthy()
        deadline = time.time() + RECOVERY_S + self.slack_ms / 1000
        while True:
            exchange = await self.status(self.scenario("healthy-start"))
            fields = upstream_fields(exchange.body) if exchange.status == 200 else {}
            up = bool(fields) and isinstance(fields.get("tmux"), int) and fields.get("tmux", 0) > 0 \
                and fields.get("telemetryStatus") == "healthy"
            if up or time.time() > deadline:
                self.baseline = fields or {**healthy_fields("tmux"), **healthy_fields("worker")}
                return self.baseline
            await asyncio.sleep(POLL_INTERVAL_S)

    def baseline_of(self, upstream: str) -> dict[str, Any]:
        """The baseline fields of one upstream."""
        names = ("tmux",) if upstream == "tmux" else ("activeWorkers", "telemetryStatus")
        return {k: self.baseline.get(k) for k in names}

    async def server_gone(self, wait_s: float = 1.0) -> bool:
        """Managed mode: True when the group's server process has ended, its exit seen within `wait_s`
        (a refused connection comes a moment before the exit is reaped). Live mode: False (no process)."""
        process = self.server.process if self.server is not None else None
        if process is None:
            return self.server is not None  # managed, and stopped
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), wait_s)
        return process.returncode is not None

    def ensure_running(self) -> None:
        """Raise Stopped when the run is being stopped."""
        if self.stop.is_set():
            raise Stopped

    def judge_status(self, exchange: Exchange, scenario: str, payload: Any = None) -> list[Failure]:
        """Run every check of one status answer, with the mocks' state, the seed and a curl line to reproduce."""
        context = Failure("", "", "", curl=exchange.curl(), mock=self.mocks.describe() if self.mocks else "",
                          seed=self.seed, payload=payload)
        return run_status_checks(self.recorder, exchange, scenario, skew_s=self.client.skew_s, context=context)

    async def status(self, scenario: str, *, payload: Any = None, params: Mapping[str, str] | None = None
                     ) -> Exchange:
        """GET the status and judge the answer (every-answer checks) under `scenario`."""
        self.ensure_running()
        exchange = await self.client.status(params)
        self.judge_status(exchange, scenario, payload)
        return exchange

    async def statuses(self, scenario: str, count: int) -> list[Exchange]:
        """Send `count` status requests at once, each judged; return them in sending order."""
        return list(await asyncio.gather(*(self.status(scenario) for _ in range(count))))

    async def observe(self, scenario: str, expected: Mapping[str, Any], *, baseline: Mapping[str, Any] | None = None,
                      within_s: float | None = None, or_else: Sequence[Mapping[str, Any]] = ()
                      ) -> tuple[Exchange, float | None]:
        """Poll the status until the `expected` fields (or one of `or_else`) show, at most `within_s` (default
        5 s + slack: a circuit breaker may hold an upstream's earlier state that long).

        Returns the last answer and the seconds it took to show, or None when it never did. Every answer is
        checked, and with `baseline` the other upstream's fields must stay as they were meanwhile.
        """
        deadline = within_s if within_s is not None else RECOVERY_S + self.slack_ms / 1000
        started = time.time()
        while True:
            exchange = await self.status(scenario)
            if baseline is not None:
                self.check(other_upstream_unchanged, scenario, exchange, baseline)
            fields = upstream_fields(exchange.body) if exchange.status == 200 else {}
            if fields and any(all(fields.get(k) == v for k, v in wanted.items()) for wanted in (expected, *or_else)):
                return exchange, exchange.received_at - started
            if time.time() - started > deadline:
                return exchange, None
            await asyncio.sleep(POLL_INTERVAL_S)


@dataclass(frozen=True)
class Group:
    """A set of scenarios that share one fresh server process."""

    name: str
    run: Callable[[GroupContext], Awaitable[None]]
    timeout_ms: float | None = 2000.0  # a short timeout (--group-timeout-ms); None leaves it unset (5000)
    region: str | None = None  # TES_PRIMARY_REGION; None leaves it unset
    needs_mocks: bool = True  # drives the upstreams (live mode runs it only with --mock-control)
    needs_fresh: bool = False  # needs a server that saw no other traffic (managed mode only)
    needs_default_timeout: bool = False  # needs TES_UPSTREAM_TIMEOUT_MS unset (managed mode only)
    # CPU-heavy (Hypothesis, schemathesis) and not timing-sensitive: runs first, while the timing-sensitive
    # groups wait, so a busy harness never delays a mock's answer or the reading of a server's.
    heavy: bool = False
    #: The profile whose clauses the group tests: it runs only when that profile is asked for.
    profile: str = "core"
    #: Stops, signals or restarts its own server: the runner does not report that server's exits.
    controls_server: bool = False
    #: More TES_* variables of the group's server (managed mode); None unsets one the runner sets.
    env: Mapping[str, str | None] = field(default_factory=dict)
    #: Points TES_ALERT_WEBHOOK_URL at the group's webhook mock (managed mode).
    webhook: bool = False
    #: Seconds the group may drive its server, plus this per --examples (x --budget-scale): past it the group
    #: is stopped and reported. About 5 x what it takes against the reference server on a busy 2-core machine.
    budget_s: float = 120.0
    budget_per_example_s: float = 0.0


async def finish_group(ctx: GroupContext) -> None:
    """The across-calls checks over everything one server answered in this group."""
    history, ledger, scenario = ctx.client.history, ctx.client.ledger, ctx.scenario()
    ctx.check(timestamp_uptime_cpu_never_decrease, scenario, history)
    ctx.check(uptime_follows_wall_clock, scenario, history)
    if "tmux" not in ctx.notes.get("upstreams_unset", ()):  # else its own tmux listing is a request in flight
        ctx.check(api_sessions_count_in_flight, scenario, history, ledger)
    ctx.check(no_websockets_counted, scenario, history)  # the live group's WebSocket opens after every status
    if ctx.region_known:
        env = "TES_PRIMARY_REGION unset" if ctx.region is None else f"TES_PRIMARY_REGION={ctx.region!r}"
        ctx.check(primary_region_echoed, scenario, history, region_for(ctx.region), env)
    if ctx.mocks is not None:
        journals = await ctx.mocks.journals()
        # Once a WebSocket is open, the server's pushes call the upstreams too (LIVE-ONCE judges those): only
        # the status requests sent before the first one show what a status request alone costs.
        opened = ctx.notes.get("first_websocket_at")
        judged = ledger if opened is None else [e for e in ledger if e.received_at < opened]
        ctx.check(upstream_called_once_per_request, scenario, judged, journals)
        if ctx.managed:
            # A group that unsets TES_TMUX_STATUS_URL (dev-tmux: the server reads its own real tmux) sets
            # this note: its tmux mock is rightly never called.
            read = {k: v for k, v in journals.items() if k not in ctx.notes.get("upstreams_unset", ())}
            ctx.check(server_reads_environment, scenario, read, len(history))
