"""The snapshot's values and their JSON rendering (a template, checked against json.dumps and the schema)."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from tes_contract.contract.schemas import validator_for
from tes_contract.server.process import ProcessMetrics
from tes_contract.server.snapshot import Clock, StatusFields

counts = st.integers(min_value=0, max_value=2**53)
reals = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(region=st.text(min_size=1), ints=st.lists(counts, min_size=10, max_size=10), real=st.lists(reals, min_size=4,
       max_size=4), rate=st.floats(min_value=0, max_value=1), mode=st.sampled_from(["normal", "degraded", "isolated"]),
       telemetry=st.sampled_from(["healthy", "degraded", "offline"]))
def test_template_renders_what_json_dumps_would(region, ints, real, rate, mode, telemetry):
    fields = StatusFields(
        timestamp="2025-01-15T12:34:56.789Z", tmux=ints[0], active_workers=ints[1], api_sessions=ints[2] + 1,
        websocket_connections=ints[3], region_json=json.dumps(region, ensure_ascii=False), traffic_mode=mode,
        total_routes=ints[4], active_routes=ints[5], avg_latency=real[0], requests_per_second=real[1],
        memory=ints[6] + 1, cpu=ints[7], error_rate=rate, uptime=real[2], total_endpoints=ints[8] + 1,
        telemetry_status=telemetry)
    expected = {
        "timestamp": "2025-01-15T12:34:56.789Z",
        "vector": {
            "sessions": {"tmux": ints[0], "activeWorkers": ints[1], "apiSessions": ints[2] + 1,
                         "websocketConnections": ints[3]},
            "directions": {"primaryRegion": region, "trafficMode": mode,
                           "requestFlow": {"totalRoutes": ints[4], "activeRoutes": ints[5], "avgLatency": real[0],
                                           "requestsPerSecond": real[1]},
                           "activeRoutes": ints[5]},
            "others": {"memory": ints[6] + 1, "cpu": ints[7], "errorRate": rate, "uptime": real[2]},
        },
        "meta": {"totalEndpoints": ints[8] + 1, "telemetryStatus": telemetry, "statusVersion": "2.0"},
    }
    rendered = fields.json()
    assert json.loads(rendered) == expected
    assert rendered == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    assert list(validator_for("status").iter_errors(fields.document())) == []


def test_clock_never_goes_back():
    clock = Clock()
    first = clock.now_ms()
    clock._last_ms = first + 10_000  # as if the wall clock had been set back by 10 s since the last snapshot
    assert clock.now_ms() == first + 10_000
    assert abs(first - time.time() * 1000) < 1000


def test_process_metrics():
    import psutil

    metrics = ProcessMetrics()
    try:
        assert abs(metrics.memory() - psutil.Process().memory_info().rss) < 16 << 20
        before = metrics.cpu_ms()
        sum(i * i for i in range(200_000))
        assert metrics.cpu_ms() >= before and isinstance(before, int)
        assert metrics.uptime_s() > 0
    finally:
        metrics.close()


def test_shared_snapshot_only_for_the_same_answers(monkeypatch):
    """The batch woken by the same two answers shares one rendering; other answers get a new snapshot."""
    from tes_contract.server import snapshot as collectors
    from tes_contract.server.settings import Settings
    from tes_contract.server.snapshot import RouteCounts, SharedSnapshot, StatusSources
    from tes_contract.server.traffic import TrafficWindow
    from tes_contract.server.upstreams import UpstreamAnswer, no_answer

    rendered: list[int] = []
    real = collectors.status_fields

    def counting(*args):
        rendered.append(1)
        return real(*args)

    monkeypatch.setattr(collectors, "status_fields", counting)
    traffic = TrafficWindow()
    process = ProcessMetrics()
    sources = StatusSources(Settings(), traffic, process, Clock(), RouteCounts(6, 3), lambda: 0)
    shared = SharedSnapshot()
    tmux = UpstreamAnswer(True, 200, {"online": True, "sessions": [{}]})
    worker = UpstreamAnswer(True, 200, {"connected": 2})
    first = shared.body(sources, tmux, worker)
    assert shared.body(sources, tmux, worker) is first and len(rendered) == 1
    traffic.record(200, 1.0)
    # Equal but not the same answers (a later call): a snapshot of its own, which sees the new request.
    later = shared.body(sources, UpstreamAnswer(True, 200, {"online": True, "sessions": [{}]}), worker)
    assert len(rendered) == 2 and json.loads(later)["vector"]["directions"]["requestFlow"]["avgLatency"] == 1.0
    # An open circuit gives each request its own answer: never shared.
    shared.body(sources, no_answer("circuit open"), worker)
    shared.body(sources, no_answer("circuit open"), worker)
    assert len(rendered) == 4
    process.close()
