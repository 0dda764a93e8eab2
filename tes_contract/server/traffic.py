"""Request metrics: requests in flight and a 60 s sliding window of completed requests, O(1) per request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

WINDOW_S = 60

TrafficMode = str  # "normal" | "degraded" | "isolated"


def traffic_mode(error_rate: float) -> TrafficMode:
    """normal below 0.10; degraded from 0.10 to 0.50, both included; isolated above 0.50."""
    if error_rate < 0.10:
        return "normal"
    if error_rate <= 0.50:
        return "degraded"
    return "isolated"


@dataclass(frozen=True, slots=True)
class TrafficSnapshot:
    """Totals of the requests completed in the window."""

    count: int
    errors: int
    latency_ms_sum: float

    @property
    def error_rate(self) -> float:
        """Responses with status >= 500 over all completed; 0 when none (integer counts, one division)."""
        return self.errors / self.count if self.count else 0.0

    @property
    def avg_latency_ms(self) -> float:
        """Mean latency in ms of the completed requests; 0 when none."""
        return self.latency_ms_sum / self.count if self.count else 0.0

    def requests_per_second(self, uptime_s: float) -> float:
        """Completed requests over min(60, uptime) seconds."""
        span = min(float(WINDOW_S), uptime_s)
        return self.count / span if span > 0 else 0.0


class TrafficWindow:
    """A ring of one-second buckets (count, errors >= 500, latency sum) covering the last 60 s.

    `record` touches one bucket (O(1)); `snapshot` sums the 60 buckets (constant work). A bucket whose
    second has passed out of the window is zeroed when its slot is reused, and skipped when summed.
    """

    __slots__ = ("_clock", "_seconds", "_counts", "_errors", "_latency", "_route_seen", "in_flight")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seconds = [-1] * WINDOW_S
        self._counts = [0] * WINDOW_S
        self._errors = [0] * WINDOW_S
        self._latency = [0.0] * WINDOW_S
        self._route_seen: dict[object, int] = {}
        #: HTTP requests in flight (entered the middleware, not yet answered).
        self.in_flight = 0

    def touch_route(self, route: object) -> None:
        """Note that `route` (a registered (method, path) route) is serving a request now."""
        self._route_seen[route] = int(self._clock())

    def active_routes(self) -> int:
        """Registered routes that served a request in the last 60 s (the one being answered included)."""
        oldest = int(self._clock()) - WINDOW_S
        return sum(1 for second in self._route_seen.values() if second > oldest)

    def record(self, status: int, latency_ms: float) -> None:
        """Account one completed request."""
        second = int(self._clock())
        slot = second % WINDOW_S
        if self._seconds[slot] != second:
            self._seconds[slot] = second
            self._counts[slot] = 0
            self._errors[slot] = 0
            self._latency[slot] = 0.0
        self._counts[slot] += 1
        if status >= 500:
            self._errors[slot] += 1
        self._latency[slot] += latency_ms

    def snapshot(self) -> TrafficSnapshot:
        """Totals of the buckets of the last 60 seconds (the current second included)."""
        oldest = int(self._clock()) - WINDOW_S
        count = errors = 0
        latency = 0.0
        for slot in range(WINDOW_S):
            if self._seconds[slot] > oldest:
                count += self._counts[slot]
                errors += self._errors[slot]
                latency += self._latency[slot]
        return TrafficSnapshot(count, errors, latency)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def traffic_middleware(window: TrafficWindow) -> Middleware:
    """Middleware counting requests in flight and recording each completed one in `window`.

    It must be the outermost middleware so that error answers made by inner middlewares (JSON 404, 405,
    503) are counted with their final status. WebSocket upgrades are not HTTP requests in flight for their
    whole life, so they are left out (they are counted as WebSocket connections instead).
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        route = request.match_info.route
        if route.resource is not None:  # unknown paths and wrong methods match aiohttp's system routes
            window.touch_route(route)
        window.in_flight += 1
        started = time.perf_counter()
        status: int | None = 500  # an exception escaping every inner middleware ends as aiohttp's 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = None  # cancelled (shutdown): not a completed request
            raise
        finally:
            window.in_flight -= 1
            if status is not None:
                window.record(status, (time.perf_counter() - started) * 1000)

    return middleware
