"""Request metrics: requests in flight and a 60 s sliding window of completed requests, O(1) per request.

Fed by the wrapper around every HTTP route's handler, `tes_contract.server.app.accounted`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60

TrafficMode = str  # "normal" | "degraded" | "isolated"


def traffic_mode(error_rate: float) -> TrafficMode:
    """normal below 0.10; degraded from 0.10 to 0.50, both included; isolated above 0.50."""
    if error_rate < 0.10:
        return "normal"
    if error_rate <= 0.50:
        return "degraded"
    return "isolated"


@dataclass(slots=True)  # not frozen: one is made per status request, and a frozen init costs twice as much
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

    Running totals make both `record` and `snapshot` O(1): when the clock enters a new second, the buckets
    that left the window are subtracted from the totals and zeroed (at most 60 of them, once each).
    """

    __slots__ = ("_clock", "_counts", "_errors", "_latency", "_second", "_count", "_error_count",
                 "_latency_sum", "_route_seen", "_active", "in_flight", "observer", "on_record")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts = [0] * WINDOW_S
        self._errors = [0] * WINDOW_S
        self._latency = [0.0] * WINDOW_S
        self._second = int(clock())  # the newest second the buckets hold
        self._count = self._error_count = 0
        self._latency_sum = 0.0
        self._route_seen: dict[object, int] = {}
        self._active: tuple[int, int] | None = None  # (second, active routes) last counted
        #: HTTP requests in flight (entered the accounting wrapper, not yet answered).
        self.in_flight = 0
        #: Told of each completed request as (method, route label, status, seconds): the metrics, if on.
        self.observer: Callable[[str, str, int, float], None] | None = None
        #: Called after each completed request is recorded (the push broadcaster watches trafficMode here).
        self.on_record: Callable[[], None] | None = None

    def _advance(self) -> int:
        """Move the window to the current second, evicting the seconds that fell out; returns its slot."""
        second = int(self._clock())
        if second > self._second:
            for old in range(self._second + 1, min(second, self._second + WINDOW_S) + 1):
                slot = old % WINDOW_S
                self._count -= self._counts[slot]
                self._error_count -= self._errors[slot]
                self._latency_sum -= self._latency[slot]
                self._counts[slot] = self._errors[slot] = 0
                self._latency[slot] = 0.0
            self._second = second
            if self._count == 0:
                self._latency_sum = 0.0  # no float residue from the subtractions
        return self._second % WINDOW_S

    def record(self, status: int, latency_ms: float) -> None:
        """Account one completed request."""
        slot = self._advance()
        self._counts[slot] += 1
        self._count += 1
        if status >= 500:
            self._errors[slot] += 1
            self._error_count += 1
        self._latency[slot] += latency_ms
        self._latency_sum += latency_ms
        if self.on_record is not None:
            self.on_record()

    def snapshot(self) -> TrafficSnapshot:
        """Totals of the last 60 seconds (the current second included)."""
        self._advance()
        return TrafficSnapshot(self._count, self._error_count, max(0.0, self._latency_sum))

    def touch_route(self, route: object) -> None:
        """Note that `route` (a registered (method, path) route) is serving a request now."""
        second = int(self._clock())
        before = self._route_seen.get(route)
        self._route_seen[route] = second
        if before is None or before <= second - WINDOW_S:
            self._active = None  # a route became active: count again

    def active_routes(self) -> int:
        """Registered routes that served a request in the last 60 s (the one being answered included).

        Counted at most once a second (a route only leaves the window when a second passes) and when a
        route becomes active; otherwise the last count is the answer.
        """
        second = int(self._clock())
        active = self._active
        if active is not None and active[0] == second:
            return active[1]
        oldest = second - WINDOW_S
        count = sum(1 for seen in self._route_seen.values() if seen > oldest)
        self._active = (second, count)
        return count
