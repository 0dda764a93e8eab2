"""The live group: the WebSocket push, driven with the `websockets` client (no part of any server's stack).

Its server runs with a short `TES_PUSH_INTERVAL_MS` (LIVE_ENV) so counting over 4+ intervals takes ~2 s.
Times are the harness's own clock (`time.monotonic`); tolerances are in `checks/live.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from tes_contract.conformance.checks.live import (
    CONNECT_SLACK_S,
    GAP_SLACK_S,
    change_pushed_in_time,
    closed_going_away,
    connections_counted,
    first_frame_in_time,
    frames_every_interval,
    frames_valid_and_monotonic,
    one_snapshot_per_tick,
    ping_answered,
    plain_get_needs_upgrade,
)
from tes_contract.conformance.client import STATUS_PATH
from tes_contract.conformance.groups.base import GroupContext

LIVE_PATH = "/api/dev/status/ws"
INTERVAL_MS = 250
LIVE_ENV = {"TES_PUSH_INTERVAL_MS": str(INTERVAL_MS)}
#: The live-change group's interval: long, so that a server pushing changes only on its ticks is a whole
#: interval late when the harness acts just after a tick (and a greeting-less connect waits as long).
CHANGE_INTERVAL_MS = 2000
CHANGE_ENV = {"TES_PUSH_INTERVAL_MS": str(CHANGE_INTERVAL_MS)}
COUNT = 3
SUBSCRIBERS = 20


def _url(ctx: GroupContext) -> str:
    return ctx.client.base_url.replace("http", "ws", 1) + LIVE_PATH


async def _open(ctx: GroupContext) -> ClientConnection:
    ctx.notes.setdefault("first_websocket_at", time.time())  # the wall clock of Exchange.sent_at (finish_group)
    # No client keepalive pings: LIVE-PING sends its own.
    return await connect(_url(ctx), ping_interval=None, open_timeout=5, close_timeout=2, max_size=2**20)


async def _frames(ws: ClientConnection, duration_s: float) -> tuple[list[str], list[float]]:
    frames: list[str] = []
    arrivals: list[float] = []
    deadline = time.monotonic() + duration_s
    with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
        while (left := deadline - time.monotonic()) > 0:
            frame = await asyncio.wait_for(ws.recv(), left)
            arrivals.append(time.monotonic())
            frames.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))
    return frames, arrivals


async def _connections(ctx: GroupContext) -> int | None:
    # A plain request, not `ctx.status`: the core checks assume the harness holds no WebSocket open.
    exchange = await ctx.client.request("GET", STATUS_PATH)
    body: Any = exchange.body
    try:
        return int(body["vector"]["sessions"]["websocketConnections"])
    except (KeyError, TypeError, ValueError):
        return None


async def _count(ctx: GroupContext) -> None:
    sockets = [await _open(ctx) for _ in range(COUNT)]
    seen_open = await _connections(ctx)
    for ws in sockets:
        await ws.close()
    seen_closed = await _connections(ctx)
    deadline = time.monotonic() + 1.0
    while seen_closed != 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        seen_closed = await _connections(ctx)
    ctx.check(connections_counted, ctx.scenario("websocket-count"), COUNT, seen_open, seen_closed)


async def _ping(ctx: GroupContext, ws: ClientConnection) -> None:
    started = time.monotonic()
    elapsed: float | None = None
    with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
        waiter = await ws.ping(b"tes-contract")
        await asyncio.wait_for(waiter, 2.0)
        elapsed = time.monotonic() - started
    ctx.check(ping_answered, ctx.scenario("websocket-ping"), elapsed)


async def _calls_over_intervals(ctx: GroupContext, intervals: int) -> int:
    assert ctx.mocks is not None
    await ctx.mocks.clear_journal("worker")
    await asyncio.sleep(intervals * INTERVAL_MS / 1000)
    return len(await ctx.mocks.journal("worker"))


async def _once(ctx: GroupContext) -> None:
    """Worker calls over 4 intervals with 1 subscriber, then with SUBSCRIBERS (after their first frames)."""
    if ctx.mocks is None:
        return
    first = await _open(ctx)
    await _frames(first, 0.05)
    calls_one = await _calls_over_intervals(ctx, 4)
    others = [await _open(ctx) for _ in range(SUBSCRIBERS - 1)]
    readers = [asyncio.create_task(_drain(ws)) for ws in [first, *others]]
    await asyncio.sleep(INTERVAL_MS / 1000)  # every greeting's snapshot done before counting
    calls_many = await _calls_over_intervals(ctx, 4)
    for reader in readers:
        reader.cancel()
    for ws in [first, *others]:
        await ws.close()
    ctx.check(one_snapshot_per_tick, ctx.scenario("websocket-subscribers"), calls_one, calls_many, SUBSCRIBERS)


async def _drain(ws: ClientConnection) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in ws:
            pass


def _telemetry(data: Any) -> Any:
    return data["meta"]["telemetryStatus"]


def _mode(data: Any) -> Any:
    return data["vector"]["directions"]["trafficMode"]


class _Feed:
    """Every frame of one socket with its arrival time on the harness's clock, read in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[float, Any]] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.ws:
                try:
                    document = json.loads(frame)
                except ValueError:
                    document = None
                self.frames.append((time.monotonic(), document))
                self.arrived.set()

    async def _wait(self, deadline: float) -> bool:
        self.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))
            return True
        return False

    async def next_frame(self, within_s: float) -> float | None:
        """When the next frame arrives (None: not within `within_s`)."""
        seen, deadline = len(self.frames), time.monotonic() + within_s
        while len(self.frames) == seen:
            if not await self._wait(deadline):
                return None
        return self.frames[seen][0]

    async def showing(self, field: Callable[[Any], Any], unwanted: str, since: float, within_s: float
                      ) -> float | None:
        """When the first status push since `since` whose field is not `unwanted` arrived (None: none in time)."""
        deadline, checked = time.monotonic() + within_s, 0
        while True:
            for arrival, document in self.frames[checked:]:
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    if arrival >= since and document.get("type") == "status" and field(document["data"]) != unwanted:
                        return arrival
            checked = len(self.frames)
            if not await self._wait(deadline):
                return None

    async def aclose(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


async def _telemetry_change(ctx: GroupContext, feeds: list[_Feed], within_s: float) -> None:
    """(a) Worker mock down just after a tick: every push showing it vs the first status answer showing it."""
    assert ctx.mocks is not None
    since = time.monotonic()
    await ctx.mocks.set("worker", "down")
    shown: float | None = None
    for _ in range(50):
        exchange = await ctx.client.request("GET", STATUS_PATH)
        with contextlib.suppress(KeyError, TypeError):
            if _telemetry(exchange.body) != "healthy":
                shown = time.monotonic()
                break
    arrivals = await asyncio.gather(*(f.showing(_telemetry, "healthy", since, within_s) for f in feeds))
    lag = None if shown is None or None in arrivals else max(a for a in arrivals if a is not None) - shown
    ctx.check(change_pushed_in_time, ctx.scenario("websocket-change-telemetry"), "telemetryStatus", lag)


async def _traffic_change(ctx: GroupContext, feeds: list[_Feed], within_s: float) -> None:
    """(b) Just after a tick, 5xx answers (GET /api/dev/workers, worker down) until a push shows trafficMode move."""
    since = time.monotonic()
    watch = [asyncio.create_task(f.showing(_mode, "normal", since, within_s)) for f in feeds]
    answers: list[float] = []
    while not all(w.done() for w in watch) and len(answers) < 200:
        exchange = await ctx.client.request("GET", "/api/dev/workers")
        if exchange.status is None or exchange.status < 500:
            break
        answers.append(time.monotonic())
        if any(w.done() for w in watch):
            break  # the mode moved: no more 5xx, so the lag is measured from the answer that moved it
    if not answers or (not any(w.done() for w in watch) and len(answers) < 200):
        for w in watch:
            w.cancel()
        ctx.notes["live_change"] = "GET /api/dev/workers gives no 5xx: the trafficMode push not driven"
        return
    arrivals = await asyncio.gather(*watch)
    first = min((a for a in arrivals if a is not None), default=None)
    before = [t for t in answers if first is not None and t <= first]
    moved = before[-1] if before else answers[0]
    lag = None if None in arrivals else max(a for a in arrivals if a is not None) - moved
    ctx.check(change_pushed_in_time, ctx.scenario("websocket-change-traffic"), "trafficMode", lag)


async def run_live_change(ctx: GroupContext) -> None:
    """With a long push interval, each step starts just after a tick, so a next-tick push is a whole interval late:
    a socket opened then gets its first frame at once (LIVE-CONNECT); a change is pushed within 100 ms."""
    probe = await ctx.client.request("GET", LIVE_PATH)
    if probe.status == 404 or ctx.mocks is None:
        return  # the http group's probe reports the profile not implemented
    await ctx.start_healthy()
    interval = CHANGE_INTERVAL_MS / 1000
    first = _Feed(await _open(ctx))
    await first.next_frame(1.0 + CONNECT_SLACK_S)  # the greeting (if any)
    await first.next_frame(1.5 * interval + GAP_SLACK_S)  # a tick: the next is an interval away
    started = time.monotonic()
    second = _Feed(await _open(ctx))
    arrival = await second.next_frame(interval)
    ctx.check(first_frame_in_time, ctx.scenario("websocket-connect-after-tick"),
              None if arrival is None else arrival - started, 1.0)
    feeds = [first, second]
    await _telemetry_change(ctx, feeds, interval + 1.0)
    await first.next_frame(1.5 * interval + GAP_SLACK_S)
    await _traffic_change(ctx, feeds, interval + 1.0)
    for feed in feeds:
        await feed.aclose()
    await ctx.mocks.healthy()


async def _close_on_sigterm(ctx: GroupContext) -> None:
    if not ctx.managed or ctx.server is None:
        return  # only a managed server can be sent SIGTERM: LIVE-CLOSE stays "not checked"
    sockets = [await _open(ctx) for _ in range(2)]
    stop = asyncio.create_task(ctx.server.stop())
    codes: list[int | None] = []
    for ws in sockets:
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5.0)
        received = ws.protocol.close_rcvd
        codes.append(received.code if received is not None else None)
    await stop
    ctx.check(closed_going_away, ctx.scenario("websocket-sigterm"), codes)


async def run_live(ctx: GroupContext) -> None:
    """Upgrade refusal, first frame, interval, data, count, ping, then close on SIGTERM."""
    probe = await ctx.client.request("GET", LIVE_PATH)
    if probe.status == 404:
        return  # the http group's probe reports the profile not implemented
    ctx.check(plain_get_needs_upgrade, ctx.scenario("websocket-plain-get"), probe.status, probe.text)
    await ctx.start_healthy()
    started = time.monotonic()
    ws = await _open(ctx)
    frames, arrivals = await _frames(ws, 6 * INTERVAL_MS / 1000)
    first = arrivals[0] - started if arrivals else None
    ctx.check(first_frame_in_time, ctx.scenario("websocket-connect"), first, 1.0)
    ctx.check(frames_every_interval, ctx.scenario("websocket-interval"), arrivals, INTERVAL_MS / 1000)
    await _ping(ctx, ws)
    more, _ = await _frames(ws, 0.1)
    ctx.check(frames_valid_and_monotonic, ctx.scenario("websocket-data"), frames + more)
    await ws.close()
    await _count(ctx)
    await _once(ctx)
    await _close_on_sigterm(ctx)
