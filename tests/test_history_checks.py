"""The history checks that no broken server exercises yet fail on what they must catch (and pass otherwise)."""

from __future__ import annotations

import json

from tes_contract.conformance.checks.history import events_chain, events_pushed, merge

EVENT = {"id": 3, "timestamp": "2026-01-01T00:00:00.000Z", "kind": "telemetryStatus", "from": "healthy",
         "to": "offline"}


def test_events_pushed_catches_a_missing_push_and_passes_a_present_one():
    assert [f.clause for f in events_pushed([], [EVENT])] == ["EVENTS-PUSH"]
    frames = [json.dumps({"type": "status", "data": {}}), json.dumps({"type": "event", "data": EVENT})]
    assert list(events_pushed(frames, [EVENT])) == []


def test_events_chain_catches_a_missed_change():
    observed = {"telemetryStatus": ["healthy", "offline", "healthy"], "trafficMode": ["normal"]}
    assert [f.clause for f in events_chain([EVENT], observed)] == ["EVENTS-CHAIN"]
    back = {**EVENT, "id": 4, "from": "offline", "to": "healthy"}
    assert list(events_chain([EVENT, back], observed)) == []


def test_merge_takes_the_worst_mode_and_each_bucket_start():
    points = [{"timestamp": f"2026-01-01T00:00:0{i}.000Z", "trafficMode": mode, "telemetryStatus": "healthy",
               "errorRate": 0.0, "avgLatency": 1.0, "requestsPerSecond": 1.0, "tmux": i, "activeWorkers": 1,
               "apiSessions": 1, "websocketConnections": 0, "memory": 1, "cpu": 1}
              for i, mode in enumerate(["normal", "isolated", "degraded", "normal"])]
    first, second = merge(points, 2)
    assert first["trafficMode"] == "isolated" and second["trafficMode"] == "degraded"
    assert second["start_ms"] - first["start_ms"] == 1500
