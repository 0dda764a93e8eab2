"""The push broadcaster of the live profile: one task renders each status frame once for every subscriber.

Each tick (`TES_PUSH_INTERVAL_MS`) makes one snapshot through the same single-flight upstream calls as the
HTTP requests, renders the frame once and hands it to every subscriber. A change of `telemetryStatus`
(seen by any snapshot, HTTP or tick) or of `trafficMode` (seen as each request completes) wakes it at once
and pushes a frame from the upstream answers already in hand, without a new upstream call.

Each subscriber has a latest-wins slot for status frames, a bounded queue for other messages (the history
profile's `event`s, through `Broadcaster.publish`) and its own sender with a send timeout: a client that
cannot keep up is closed with 1013 and never delays the others. No timer per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from tes_contract.server.breaker import Upstreams
from tes_contract.server.logs import log_event
from tes_contract.server.snapshot import StatusFields, StatusSources, status_fields
from tes_contract.server.traffic import traffic_mode
from tes_contract.server.upstreams import UpstreamAnswer

#: Close code for a client that cannot keep up (RFC 6455 7.4.1 "Try Again Later").
TRY_AGAIN_LATER = 1013
#: Messages other than status waiting for one subscriber; more means it cannot keep up.
QUEUE_LIMIT = 64


class Subscriber:
    """One client: the latest status frame not yet sent, other messages in order, and its sender task."""

    __slots__ = ("ws", "_status", "_queue", "_ready", "_overflow", "_send_timeout_s", "sent", "dropped")

    def __init__(self, ws: web.WebSocketResponse, send_timeout_s: float) -> None:
        self.ws = ws
        self._status: str | None = None
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self._overflow = False
        self._send_timeout_s = send_timeout_s
        self.sent = 0
        #: True once it was closed with 1013 for not keeping up.
        self.dropped = False

    def offer(self, frame: str, *, latest_wins: bool) -> None:
        """Queue `frame`: a status frame replaces one not yet sent; others queue up to QUEUE_LIMIT."""
        if latest_wins:
            self._status = frame
        elif len(self._queue) < QUEUE_LIMIT:
            self._queue.append(frame)
        else:
            self._overflow = True
        self._ready.set()

    async def run(self) -> None:
        """Send what is offered until the socket closes; drop the client (1013) when a send times out."""
        ws = self.ws
        while not ws.closed:
            await self._ready.wait()
            self._ready.clear()
            if self._overflow:
                await self._drop("message queue full")
                return
            while self._queue or self._status is not None:
                if self._queue:
                    frame = self._queue.popleft()
                else:
                    frame, self._status = self._status or "", None
                try:
                    await asyncio.wait_for(ws.send_str(frame), self._send_timeout_s)
                except TimeoutError:
                    await self._drop("send timed out")
                    return
                except (ConnectionError, RuntimeError):
                    return  # closed under us: the handler sees it and ends
                self.sent += 1

    async def _drop(self, reason: str) -> None:
        self.dropped = True
        log_event("push_subscriber_dropped", level=logging.WARNING, reason=reason)
        try:
            await asyncio.wait_for(self.ws.close(code=TRY_AGAIN_LATER, message=b"cannot keep up"), 1.0)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass  # its buffers are full: the handler's transport is aborted below
        request = self.ws._req  # the handshake's request; aiohttp has no public transport accessor
        if request is not None and request.transport is not None:
            request.transport.abort()


class Broadcaster:
    """The one push task and its subscribers.

    Example:
        async with app[BROADCASTER].subscribe(ws) as subscriber:
            await app[BROADCASTER].greet(subscriber)
            async for _ in ws: ...
    """

    def __init__(self, sources: StatusSources, upstreams: Upstreams) -> None:
        self._sources = sources
        self._upstreams = upstreams
        self._interval_s = sources.settings.push_interval_ms / 1000
        self._send_timeout_s = max(1.0, self._interval_s)
        self._subscribers: dict[Subscriber, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._answers: tuple[UpstreamAnswer, UpstreamAnswer] | None = None
        self._seen: tuple[str, str] | None = None  # (trafficMode, telemetryStatus) last observed
        #: Status frames rendered (one per tick or change, whatever the number of subscribers).
        self.renders = 0
        #: Ticks that made a snapshot (upstream calls through the single-flight guards).
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._subscribers)

    def publish(self, message: dict[str, Any]) -> None:
        """Send `message` (a JSON object with a `type`) to every subscriber, rendered once.

        Status messages are latest-wins per subscriber; any other type (the history profile's `event`) is
        queued in order, and a subscriber whose queue is full is dropped with 1013.
        """
        frame = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        self._hand(frame, latest_wins=message.get("type") == "status")

    def _hand(self, frame: str, *, latest_wins: bool) -> None:
        for subscriber in self._subscribers:
            subscriber.offer(frame, latest_wins=latest_wins)

    @contextlib.asynccontextmanager
    async def subscribe(self, ws: web.WebSocketResponse) -> AsyncIterator[Subscriber]:
        """Receive pushes on `ws` while the block runs; its sender task ends with it."""
        subscriber = Subscriber(ws, self._send_timeout_s)
        self._subscribers[subscriber] = asyncio.create_task(subscriber.run())
        try:
            yield subscriber
        finally:
            task = self._subscribers.pop(subscriber)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def greet(self, subscriber: Subscriber) -> None:
        """The first frame of a new subscriber: a snapshot now (concurrent connects share its upstream calls)."""
        tmux, worker = await self._upstreams.both()
        self._answers = (tmux, worker)
        subscriber.offer(self._frame(tmux, worker), latest_wins=True)

    def observe(self, tmux: UpstreamAnswer, worker: UpstreamAnswer, fields: StatusFields) -> None:
        """A snapshot was rendered for HTTP (`SharedSnapshot.observer`): push at once if telemetry changed."""
        self._answers = (tmux, worker)
        self._note(fields.traffic_mode, fields.telemetry_status)

    def request_recorded(self) -> None:
        """A request completed (`TrafficWindow.on_record`): push at once if trafficMode changed."""
        if self._seen is not None:
            mode = traffic_mode(self._sources.traffic.snapshot().error_rate)
            if mode != self._seen[0]:
                self._note(mode, self._seen[1])

    def _note(self, mode: str, telemetry: str) -> None:
        seen = (mode, telemetry)
        if seen != self._seen:
            changed = self._seen is not None
            self._seen = seen
            if changed and self._subscribers:
                self._wake.set()

    def _frame(self, tmux: UpstreamAnswer, worker: UpstreamAnswer) -> str:
        """The status message for these answers; apiSessions as a status answer now would report it."""
        traffic = self._sources.traffic
        fields = status_fields(self._sources, tmux, worker)._replace(api_sessions=traffic.in_flight + 1)
        self._seen = (fields.traffic_mode, fields.telemetry_status)
        self.renders += 1
        return '{"type":"status","data":' + fields.json().decode() + "}"

    def start(self) -> None:
        """Start the broadcaster's task (the live feature's cleanup_ctx)."""
        self._task = asyncio.create_task(self.run(), name="push-broadcaster")

    async def aclose(self) -> None:
        """Stop the task (the sockets themselves are closed with 1001 on shutdown, before this)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Tick every push interval while anyone listens; push at once when woken by a change."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self._interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_tick - loop.time()))
            if self._wake.is_set():
                self._wake.clear()
                if self._answers is not None and self._subscribers:
                    self._hand(self._frame(*self._answers), latest_wins=True)
                continue
            now = loop.time()
            next_tick = max(next_tick + self._interval_s, now + self._interval_s / 2)
            if self._subscribers:
                self.ticks += 1
                try:
                    self._answers = await self._upstreams.both()
                except Exception:
                    log_event("push_tick_failed", level=logging.ERROR, exc_info=True)
                    continue
                self._hand(self._frame(*self._answers), latest_wins=True)
