"""The live checks catch each defect they name, and the live group passes the reference server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tes_contract.conformance import Options, run_conformance
from tes_contract.conformance.checks.live import (
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
from tes_contract.contract.invariants import document_problems

SERVE = f"{sys.executable} -m tes_contract serve"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "valid" / "status-push-connect.json"


def _clauses(failures) -> set[str]:
    return {failure.clause for failure in failures}


def _status_frame(timestamp: str, uptime: float, cpu: int) -> str:
    with EXAMPLE.open(encoding="utf-8") as file:
        document = json.load(file)
    document["data"]["timestamp"] = timestamp
    document["data"]["vector"]["others"].update(uptime=uptime, cpu=cpu)
    assert document_problems("status-push", document) == []
    return json.dumps(document)


def test_interval_counts_and_gaps():
    steady = [0.05 + 0.25 * n for n in range(9)]
    assert list(frames_every_interval(steady, 0.25)) == []
    assert _clauses(frames_every_interval([0.05, 0.3, 0.55], 0.25)) == {"LIVE-INTERVAL"}  # too short a run
    ignored = [0.05 + 1.0 * n for n in range(5)]  # interval ignored: one a second
    assert _clauses(frames_every_interval(ignored, 0.25)) == {"LIVE-INTERVAL"}
    gap = [0.05, 0.3, 0.55, 1.4, 1.65, 1.9]  # 0.85 s gap over 1.5 x 0.25 + slack
    assert _clauses(frames_every_interval(gap, 0.25)) == {"LIVE-INTERVAL"}
    doubled = [0.05 + 0.125 * n for n in range(17)]  # a timer per connection on top of the tick
    assert _clauses(frames_every_interval(doubled, 0.25)) == {"LIVE-INTERVAL"}


def test_data_frames_validated_and_monotonic():
    good = [_status_frame("2025-01-15T12:00:00.000Z", 1.0, 10), _status_frame("2025-01-15T12:00:00.250Z", 1.25, 11)]
    assert list(frames_valid_and_monotonic(good)) == []
    backwards = [good[1], good[0]]
    assert _clauses(frames_valid_and_monotonic(backwards)) == {"LIVE-DATA"}
    wrong_type = json.dumps({**json.loads(good[0]), "type": "snapshot"})
    assert _clauses(frames_valid_and_monotonic([wrong_type])) == {"LIVE-DATA"}
    assert _clauses(frames_valid_and_monotonic(["not json"])) == {"LIVE-DATA"}


def test_connect_count_ping_close_upgrade():
    assert list(first_frame_in_time(0.2, 1.0)) == []
    assert _clauses(first_frame_in_time(None, 1.0)) == _clauses(first_frame_in_time(2.0, 1.0)) == {"LIVE-CONNECT"}
    assert list(connections_counted(3, 3, 0)) == []
    assert _clauses(connections_counted(3, 0, 0)) == _clauses(connections_counted(3, 3, 3)) == {"LIVE-COUNT"}
    assert list(ping_answered(0.01)) == [] and _clauses(ping_answered(None)) == {"LIVE-PING"}
    assert list(closed_going_away([1001, 1001])) == []
    assert _clauses(closed_going_away([1001, None])) == _clauses(closed_going_away([1000])) == {"LIVE-CLOSE"}
    error = json.dumps({"error": "upgrade", "resolution": "send one"})
    assert list(plain_get_needs_upgrade(426, error)) == [] and list(plain_get_needs_upgrade(400, error)) == []
    assert _clauses(plain_get_needs_upgrade(200, error)) == _clauses(plain_get_needs_upgrade(426, "x")) \
        == {"LIVE-UPGRADE"}


def test_once_catches_a_timer_per_connection():
    assert list(one_snapshot_per_tick(4, 5, 20)) == []  # a tick on the window's edge
    assert _clauses(one_snapshot_per_tick(4, 80, 20)) == {"LIVE-ONCE"}


def test_change_only_on_the_next_tick_is_caught():
    assert list(change_pushed_in_time("telemetryStatus", 0.02)) == []
    assert list(change_pushed_in_time("telemetryStatus", -0.01)) == []  # pushed before the answer was read
    assert _clauses(change_pushed_in_time("trafficMode", 0.6)) == {"LIVE-CHANGE"}  # waited for a tick
    assert _clauses(change_pushed_in_time("trafficMode", None)) == {"LIVE-CHANGE"}


def test_live_group_passes_the_reference_server():
    result = run_conformance(Options(server=SERVE, groups=("live", "live-change"), profiles=("core", "live")))
    assert result.failed_clauses() == set()
    for clause in ("LIVE-UPGRADE", "LIVE-CONNECT", "LIVE-INTERVAL", "LIVE-DATA", "LIVE-COUNT", "LIVE-PING",
                   "LIVE-ONCE", "LIVE-CHANGE", "LIVE-CLOSE"):
        assert result.status_of(clause) == "passed", clause
