"""The history profile's groups (managed mode): sampling, queries, events, the event log, restarts, bad state.

The server runs with a short `TES_HISTORY_INTERVAL_MS` (`INTERVAL_MS`) so five intervals take a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

from tes_contract.conformance.checks.history import (
    bad_parameter_is_400,
    bad_state_dir_exits_2,
    buckets_follow_the_rule,
    event_log_appended,
    events_answer_valid,
    events_chain,
    events_pushed,
    history_answer_valid,
    history_survives_restart,
    no_event_at_start,
    nothing_older_than_retention,
    points_every_interval,
)
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.managed import free_port, server_environment, split_command
from tes_contract.conformance.model import Exchange
from tes_contract.contract.formats import rfc3339_ms

HISTORY_PATH = "/api/dev/status/history"
EVENTS_PATH = "/api/dev/events"
INTERVAL_MS = 200
RETENTION_S = 3
#: The environment of the history groups' servers.
HISTORY_ENV = {"TES_HISTORY_INTERVAL_MS": str(INTERVAL_MS)}
RETENTION_ENV = {**HISTORY_ENV, "TES_HISTORY_RETENTION_S": str(RETENTION_S)}
BAD_PARAMETERS = (
    (HISTORY_PATH, "HISTORY-QUERY", "since", {"since": "yesterday"}),
    (HISTORY_PATH, "HISTORY-QUERY", "until", {"until": "2026-13-01T00:00:00Z"}),
    (HISTORY_PATH, "HISTORY-QUERY", "limit", {"limit": "0"}),
    (HISTORY_PATH, "HISTORY-QUERY", "limit", {"limit": "10001"}),
    (HISTORY_PATH, "HISTORY-QUERY", "limit", {"limit": "ten"}),
    (HISTORY_PATH, "HISTORY-QUERY", "since",
     {"since": "2026-01-02T00:00:00.000Z", "until": "2026-01-01T00:00:00.000Z"}),
    (EVENTS_PATH, "EVENTS-QUERY", "after", {"after": "-1"}),
    (EVENTS_PATH, "EVENTS-QUERY", "after", {"after": "x"}),
    (EVENTS_PATH, "EVENTS-QUERY", "limit", {"limit": "0"}),
    (EVENTS_PATH, "EVENTS-QUERY", "limit", {"limit": "1001"}),
)
#: Worker scenarios and the telemetryStatus each shows: the changes the events must record.
FLIPS = (("down", "offline"), ("healthy", "healthy"), ("http_error", "degraded"), ("healthy", "healthy"))


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _history(ctx: GroupContext, scenario: str, since_ms: int, until_ms: int | None = None,
                   limit: int = 10000) -> tuple[Exchange, list[dict[str, Any]]]:
    params = {"since": rfc3339_ms(since_ms), "limit": str(limit)}
    if until_ms is not None:
        params["until"] = rfc3339_ms(until_ms)
    exchange = await ctx.client.request("GET", HISTORY_PATH, params=params)
    failures = ctx.check(history_answer_valid, ctx.scenario(scenario), exchange, since_ms, until_ms)
    points = exchange.body.get("points", []) if not failures and isinstance(exchange.body, dict) else []
    return exchange, points


async def _events(ctx: GroupContext, scenario: str, after: int = 0) -> list[dict[str, Any]]:
    exchange = await ctx.client.request("GET", EVENTS_PATH, params={"after": str(after), "limit": "1000"})
    failures = ctx.check(events_answer_valid, ctx.scenario(scenario), exchange, after)
    return exchange.body.get("events", []) if not failures and isinstance(exchange.body, dict) else []


def _observed(ctx: GroupContext) -> dict[str, list[str]]:
    """trafficMode and telemetryStatus of every status answer the harness got, in order."""
    seen: dict[str, list[str]] = {"trafficMode": [], "telemetryStatus": []}
    for exchange in ctx.client.history:
        body = exchange.body if exchange.status == 200 and isinstance(exchange.body, dict) else None
        if body is not None:
            with contextlib.suppress(KeyError, TypeError):
                seen["trafficMode"].append(body["vector"]["directions"]["trafficMode"])
                seen["telemetryStatus"].append(body["meta"]["telemetryStatus"])
    return seen


def _read(path: str | None) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace") if path else ""
    except OSError:
        return ""


async def _flip(ctx: GroupContext, scenario: str) -> None:
    assert ctx.mocks is not None
    for worker, shown in FLIPS:
        await ctx.mocks.set("worker", worker)
        await ctx.observe(ctx.scenario(scenario), {"telemetryStatus": shown})


async def _implemented(ctx: GroupContext) -> bool:
    """False when the events endpoint answers 404 (the surface group reports the profile not implemented)."""
    return (await ctx.client.request("GET", EVENTS_PATH)).status != 404


async def run_history(ctx: GroupContext) -> None:
    """Sampling, queries and their 400s, events of worker flips, the log, then SIGTERM and SIGKILL restarts."""
    started_ms = _now_ms()
    await ctx.start_healthy()
    if not await _implemented(ctx):
        return
    ctx.check(no_event_at_start, ctx.scenario("start"), await _events(ctx, "start"))
    for path, clause, name, params in BAD_PARAMETERS:
        exchange = await ctx.client.request("GET", path, params=params)
        ctx.check(bad_parameter_is_400, ctx.scenario(f"bad-{name}"), exchange, clause, name)
    await _flip(ctx, "flips")
    await asyncio.sleep(max(0.0, (started_ms + 8 * INTERVAL_MS - _now_ms()) / 1000))
    until_ms = _now_ms() - INTERVAL_MS
    _, points = await _history(ctx, "sample", started_ms - 60_000, until_ms)
    if points:
        window_start = max(started_ms, until_ms - 30 * INTERVAL_MS)
        ctx.check(points_every_interval, ctx.scenario("sample"), points, INTERVAL_MS, window_start, until_ms)
        merged, _ = await _history(ctx, "buckets", started_ms - 60_000, until_ms, limit=3)
        ctx.check(buckets_follow_the_rule, ctx.scenario("buckets"), points, merged, 3)
    events = await _events(ctx, "flips")
    ctx.check(events_chain, ctx.scenario("flips"), events, _observed(ctx))
    if events:
        await _events(ctx, "after", events[0]["id"])
    await _pushes(ctx)
    events = await _events(ctx, "flips")
    if ctx.server is not None:
        await _restarts(ctx, started_ms, events)
        await _bad_state(ctx)


async def _pushes(ctx: GroupContext) -> None:
    """EVENTS-PUSH, where the server has the live WebSocket: the events of two flips arrive on it."""
    url = ctx.client.base_url.replace("http", "ws", 1) + "/api/dev/status/ws"
    before = await _events(ctx, "push")
    after_id = before[-1]["id"] if before else 0
    frames: list[str] = []
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            async def read() -> None:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        frames.append(str(message.data))

            reader = asyncio.create_task(read())
            deadline = time.monotonic() + 2.0  # the first frame (LIVE-CONNECT) before the flips: its snapshot done
            while not frames and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await _flip(ctx, "push")
            await asyncio.sleep(0.5)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    except (aiohttp.ClientError, TimeoutError):
        return  # no live WebSocket: the live profile's probe says so
    ctx.check(events_pushed, ctx.scenario("push"), frames, await _events(ctx, "push", after_id))


async def _restarts(ctx: GroupContext, started_ms: int, events: list[dict[str, Any]]) -> None:
    server = ctx.server
    assert server is not None and ctx.mocks is not None
    log_path = server.env.get("TES_EVENT_LOG")
    for how in ("SIGTERM restart", "SIGKILL restart"):
        log_before = _read(log_path)
        _, before = await _history(ctx, how, started_ms - 60_000)
        if how.startswith("SIGKILL") and server.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            await server.process.wait()
        await server.stop()
        # A new process: the across-calls checks (uptime, cpu never decreasing) start over with it.
        ctx.client.history.clear()
        ctx.client.ledger.clear()
        await server.start()
        await ctx.start_healthy()
        _, after = await _history(ctx, how, started_ms - 60_000)
        events_after = await _events(ctx, how)
        ctx.check(no_event_at_start, ctx.scenario(f"{how}/resume"),
                  [e for e in events_after if e["id"] not in {o["id"] for o in events}])
        await _flip(ctx, how)
        events_flipped = await _events(ctx, how)
        ctx.check(history_survives_restart, ctx.scenario(how), before, after, events, events_flipped, how,
                  2 * INTERVAL_MS)
        ctx.check(events_chain, ctx.scenario(how), events_flipped, _observed(ctx))
        ctx.check(event_log_appended, ctx.scenario(how), log_before, _read(log_path), events_flipped)
        events = events_flipped


async def _start_once(ctx: GroupContext, overrides: dict[str, str], wait_s: float) -> tuple[int | None, str]:
    """Start the server command once with these variables; its exit code within `wait_s` (None: running)."""
    assert ctx.server is not None
    env = server_environment({**ctx.server.env, "TES_PORT": str(free_port()), **overrides}, base={})
    process = await asyncio.create_subprocess_exec(*split_command(ctx.server.command), env=env, cwd=ctx.server.cwd,
                                                   stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), wait_s)
        return process.returncode, output.decode(errors="replace")
    except TimeoutError:
        return None, ""
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def _bad_state(ctx: GroupContext) -> None:
    """A state dir that is a file, one another server holds, then every state file overwritten with garbage."""
    server = ctx.server
    assert server is not None
    state = server.env["TES_STATE_DIR"]
    not_a_folder = str(Path(state).parent / "not-a-folder")
    Path(not_a_folder).write_text("a file, not a folder\n")
    code, output = await _start_once(ctx, {"TES_STATE_DIR": not_a_folder}, 15.0)
    ctx.check(bad_state_dir_exits_2, ctx.scenario("state-not-a-folder"), "TES_STATE_DIR is a file", code, output,
              False)
    code, output = await _start_once(ctx, {}, 15.0)
    ctx.check(bad_state_dir_exits_2, ctx.scenario("state-held"), "TES_STATE_DIR held by a running server", code,
              output, False)
    await server.stop()
    for path in Path(state).rglob("*"):
        if path.is_file() and path.name != "dev-token":
            path.write_bytes(b"this is not a database\n" * 64)
    started = True
    try:
        await server.start()
        exchange = await ctx.client.request("GET", HISTORY_PATH)
        started = exchange.status == 200
        output = f"history answered {exchange.status}"
    except Exception as exc:  # a SetupError of the start: reported by the check
        started, output = False, str(exc)
    ctx.check(bad_state_dir_exits_2, ctx.scenario("state-corrupt"), "corrupt", None, output, started)


async def run_retention(ctx: GroupContext) -> None:
    """With a retention of a few seconds, nothing older is answered once it has passed."""
    await ctx.start_healthy()
    if not await _implemented(ctx):
        return
    await _flip(ctx, "retention")
    # Long enough that the first points are well past retention + tolerance (1 s + slack) when asked.
    await asyncio.sleep(2 * RETENTION_S + 1.5 + ctx.slack_ms / 1000)
    _, points = await _history(ctx, "retention", _now_ms() - 3600_000)
    events = await _events(ctx, "retention")
    oldest_ms = _now_ms() - (RETENTION_S * 1000 + 1000 + int(ctx.slack_ms))
    ctx.check(nothing_older_than_retention, ctx.scenario("retention"), points, events, oldest_ms)
