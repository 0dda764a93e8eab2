"""The 60 s sliding window and the trafficMode boundaries."""

from __future__ import annotations

import pytest

from tes_contract.server.traffic import TrafficWindow, traffic_mode


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("rate", "mode"), [
    (0.0, "normal"), (0.0999999, "normal"), (0.10, "degraded"), (1 / 10, "degraded"), (3 / 30, "degraded"),
    (0.3, "degraded"), (0.50, "degraded"), (5 / 10, "degraded"), (0.5000001, "isolated"), (1.0, "isolated"),
])
def test_traffic_mode_boundaries(rate, mode):
    assert traffic_mode(rate) == mode


def test_window_counts_errors_and_latency():
    clock = FakeClock()
    window = TrafficWindow(clock)
    for status, latency in [(200, 10.0), (404, 20.0), (503, 30.0), (500, 40.0)]:
        window.record(status, latency)
    snap = window.snapshot()
    assert (snap.count, snap.errors) == (4, 2)
    assert snap.error_rate == 0.5 and snap.avg_latency_ms == 25.0
    assert snap.requests_per_second(2.0) == 2.0
    assert snap.requests_per_second(600.0) == 4 / 60


def test_window_slides_by_the_second():
    clock = FakeClock()
    window = TrafficWindow(clock)
    window.record(500, 1.0)
    clock.now += 30
    window.record(200, 3.0)
    assert window.snapshot().count == 2
    clock.now += 30  # the first request is 60 s old: out
    snap = window.snapshot()
    assert (snap.count, snap.errors, snap.latency_ms_sum) == (1, 0, 3.0)
    clock.now += 30
    assert window.snapshot().count == 0
    assert window.snapshot().error_rate == 0.0 and window.snapshot().avg_latency_ms == 0.0


def test_reused_slot_starts_from_zero():
    clock = FakeClock()
    window = TrafficWindow(clock)
    for _ in range(5):
        window.record(503, 1.0)
    clock.now += 60  # same slot, a minute later
    window.record(200, 2.0)
    snap = window.snapshot()
    assert (snap.count, snap.errors, snap.latency_ms_sum) == (1, 0, 2.0)


def test_active_routes_expire_after_a_minute():
    clock = FakeClock()
    window = TrafficWindow(clock)
    window.touch_route("a")
    clock.now += 59
    window.touch_route("b")
    assert window.active_routes() == 2
    clock.now += 1
    assert window.active_routes() == 1


def test_active_routes_counted_again_when_a_route_becomes_active_within_the_second():
    clock = FakeClock()
    window = TrafficWindow(clock)
    window.touch_route("a")
    assert window.active_routes() == 1
    window.touch_route("b")  # same second: the count kept for this second must not be the answer
    assert window.active_routes() == 2
    window.touch_route("a")  # already active: still 2
    assert window.active_routes() == 2
    clock.now += 60  # a and b expire
    assert window.active_routes() == 0
    window.touch_route("a")  # active again in the same second as the count of 0
    assert window.active_routes() == 1
