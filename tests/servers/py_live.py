"""The live profile of the independent Python server: WebSocket push at /api/dev/status/ws, from the contract alone.

aiohttp's WebSocket server (the main file's stack; nothing of tes_contract). One ticker task renders one
status per `TES_PUSH_INTERVAL_MS` and sends it to every socket; the main file calls `observed(document)` after
each status it assembles and `request_done()` after each answered request, so a new trafficMode or
telemetryStatus is pushed at once. `BREAKS` are this profile's TES_BREAK modes (tests/servers/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

BREAKS = frozenset({
    "live_upgrade_text", "live_no_first_frame", "live_interval_ignored", "live_change_next_tick",
    "live_wrong_type", "live_timer_per_connection", "live_count_zero", "live_never_reads", "live_no_close_frame",
})
LIVE_PATH = "/api/dev/status/ws"
SEND_TIMEOUT_S = 1.0

#: Renders one status document (a dict) for a push: `fresh` calls the upstreams, else reuses their last answers.
Render = Callable[[bool], Awaitable[dict[str, Any] | None]]


class BadInterval(Exception):
    """TES_PUSH_INTERVAL_MS is not an integer of 100..60000."""


def push_interval_s(env: dict[str, str], breaks: frozenset[str]) -> float:
    """TES_PUSH_INTERVAL_MS in seconds (default 1000 ms); the interval_ignored break always says 1 s."""
    text = env.get("TES_PUSH_INTERVAL_MS") or "1000"
    if not text.isdigit() or not 100 <= int(text) <= 60000:
        raise BadInterval(f"TES_PUSH_INTERVAL_MS must be an integer of 100..60000, got {text!r}")
    return 1.0 if "live_interval_ignored" in breaks else int(text) / 1000


def _modes(document: dict[str, Any]) -> tuple[Any, Any]:
    return document["vector"]["directions"]["trafficMode"], document["meta"]["telemetryStatus"]


class LivePart:
    """Open sockets, the ticker and the change pushes."""

    def __init__(self, interval_s: float, breaks: frozenset[str], render: Render,
                 traffic_mode: Callable[[], str]) -> None:
        self.interval_s = interval_s
        self.breaks = breaks
        self.render = render
        self.traffic_mode = traffic_mode
        self.sockets: dict[web.WebSocketResponse, web.Request] = {}
        self.last_modes: tuple[Any, Any] | None = None
        self.ticker: asyncio.Task[None] | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def count(self) -> int:
        """websocketConnections."""
        return 0 if "live_count_zero" in self.breaks else len(self.sockets)

    def frame(self, document: dict[str, Any]) -> str:
        kind = "snapshot" if "live_wrong_type" in self.breaks else "status"
        return json.dumps({"type": kind, "data": document})

    async def send_all(self, document: dict[str, Any]) -> None:
        text = self.frame(document)  # rendered once for every socket
        await asyncio.gather(*(self._send(ws, text) for ws in list(self.sockets)))

    async def _send(self, ws: web.WebSocketResponse, text: str) -> None:
        try:
            await asyncio.wait_for(ws.send_str(text), SEND_TIMEOUT_S)
        except (TimeoutError, ConnectionError, RuntimeError):
            self.sockets.pop(ws, None)  # a stuck or gone peer is dropped, never waited on again
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1013), SEND_TIMEOUT_S)

    def observed(self, document: dict[str, Any]) -> None:
        """A status was assembled (HTTP or tick): push it at once when its trafficMode or telemetryStatus is new."""
        modes = _modes(document)
        changed = self.last_modes is not None and modes != self.last_modes
        self.last_modes = modes
        if changed and "live_change_next_tick" not in self.breaks:
            self._spawn(self.send_all(document))

    def push_event(self, event: dict[str, Any]) -> None:
        """The history part recorded an event: push it as {"type": "event"} (EVENTS-PUSH)."""
        text = json.dumps({"type": "event", "data": event})
        self._spawn(asyncio.gather(*(self._send(ws, text) for ws in list(self.sockets))))  # type: ignore[arg-type]

    def request_done(self) -> None:
        """A request was answered: its status may have moved errorRate across a trafficMode boundary."""
        if self.last_modes is not None and self.traffic_mode() != self.last_modes[0]:
            self._spawn(self._push_last())

    async def _push_last(self) -> None:
        document = await self.render(False)
        if document is not None:
            self.observed(document)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _tick_forever(self, ws: web.WebSocketResponse | None = None) -> None:
        """Every interval: one status for every socket (or, the timer_per_connection break, for `ws` alone)."""
        while True:
            await asyncio.sleep(self.interval_s)
            if not self.sockets:
                continue  # nobody listens: no snapshot, no upstream call (UPSTREAM-ONCE counts ours too)
            document = await self.render(True)
            if document is None:
                continue
            if ws is None:
                self.observed(document)
                await self.send_all(document)
            else:
                await self._send(ws, self.frame(document))

    def start(self) -> None:
        if "live_timer_per_connection" not in self.breaks:
            self.ticker = asyncio.create_task(self._tick_forever())

    async def handle(self, request: web.Request, record: Callable[[int, float], None]) -> web.StreamResponse:
        """The upgrade: 426 without one; else the first frame, then read until the client goes."""
        started = time.monotonic()
        ws = web.WebSocketResponse(heartbeat=20.0, autoping=True)
        if not ws.can_prepare(request).ok:
            if "live_upgrade_text" in self.breaks:
                response = web.Response(status=400, text="Bad Request: not a WebSocket upgrade")
            else:
                response = web.json_response({"error": f"{LIVE_PATH} is a WebSocket endpoint",
                                              "resolution": "send a WebSocket upgrade"}, status=426,
                                             headers={"Upgrade": "websocket"})
            await response.prepare(request)
            await response.write_eof()
            record(response.status, time.monotonic() - started)
            return response
        await ws.prepare(request)
        record(101, time.monotonic() - started)
        self.sockets[ws] = request
        timer = asyncio.create_task(self._tick_forever(ws)) if "live_timer_per_connection" in self.breaks else None
        try:
            if "live_no_first_frame" not in self.breaks:
                document = await self.render(True)
                if document is not None:
                    await self._send(ws, self.frame(document))
            await self._read(request, ws)
        finally:
            self.sockets.pop(ws, None)
            if timer is not None:
                timer.cancel()
        return ws

    async def _read(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        if "live_never_reads" in self.breaks:  # push-only: pings go unanswered, closes unseen until TCP ends
            while request.transport is not None and not request.transport.is_closing() and not ws.closed:
                await asyncio.sleep(0.1)
            return
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break

    async def close_all(self) -> None:
        """SIGTERM: every socket closed with 1001 (the no_close_frame break drops the connections instead)."""
        if self.ticker is not None:
            self.ticker.cancel()
        for task in list(self.pending):
            task.cancel()
        sockets = list(self.sockets)
        if "live_no_close_frame" in self.breaks:
            for request in self.sockets.values():
                if request.transport is not None:
                    request.transport.abort()
            return
        await asyncio.gather(*(asyncio.wait_for(ws.close(code=1001, message=b"server stopping"), SEND_TIMEOUT_S)
                               for ws in sockets), return_exceptions=True)
