"""The ALERT-* checks on hand-made journals: each passes the right deliveries and names each wrong one."""

from __future__ import annotations

import json
from typing import Any

from tes_contract.conformance.checks.alerts import (
    alert_deliveries_valid,
    answers_not_delayed,
    deliveries_follow_the_answers,
    expected_alerts,
    failed_delivery_retried,
    one_alert_per_event,
    pushes_not_delayed,
)
from tes_contract.conformance.checks.history import epoch_ms
from tes_contract.conformance.model import Exchange

EVENTS = [
    {"id": 1, "timestamp": "2026-01-01T12:00:00.000Z", "kind": "telemetryStatus", "from": "healthy", "to": "offline"},
    {"id": 2, "timestamp": "2026-01-01T12:00:01.000Z", "kind": "telemetryStatus", "from": "offline", "to": "degraded"},
    {"id": 3, "timestamp": "2026-01-01T12:00:02.000Z", "kind": "telemetryStatus", "from": "degraded", "to": "healthy"},
]
T0 = epoch_ms(EVENTS[0]["timestamp"]) / 1000


def delivery(seq: int, body: dict[str, Any], key: str, at: float, status: int | None = 200,
             gave_up: float | None = None) -> dict[str, Any]:
    return {"seq": seq, "method": "POST", "path": "/webhook", "headers": {"Idempotency-Key": key},
            "body": json.dumps(body), "arrived_at": at, "status": status, "client_gave_up_at": gave_up}


def good() -> list[dict[str, Any]]:
    wanted = expected_alerts(EVENTS)
    return [delivery(i, wanted[i], f"k{i}", T0 + i - 1 + 0.05) for i in (1, 2, 3)]


def failures(func, *args) -> list[str]:
    return [f.observed for f in func(*args)]


def test_expected_alerts_fire_fire_again_and_resolve_one_spell():
    wanted = expected_alerts(EVENTS)
    assert [w["status"] for w in wanted.values()] == ["firing", "firing", "resolved"]
    assert {w["startsAt"] for w in wanted.values()} == {EVENTS[0]["timestamp"]}
    assert wanted[3]["endsAt"] == EVENTS[2]["timestamp"]
    assert expected_alerts(EVENTS[2:]) == {}  # back to healthy with nothing fired: no resolved


def test_shape_passes_good_deliveries_and_names_bad_ones():
    assert failures(alert_deliveries_valid, good()) == []
    no_key = good()
    no_key[0]["headers"] = {}
    assert any("none on delivery" in f for f in failures(alert_deliveries_valid, no_key))
    bad_body = good()
    bad_body[0]["body"] = json.dumps({"status": "firing"})
    assert failures(alert_deliveries_valid, bad_body)
    new_key_on_retry = [*good(), delivery(9, expected_alerts(EVENTS)[1], "other", T0 + 0.6)]
    assert any("2 keys" in f for f in failures(alert_deliveries_valid, new_key_on_retry))


def test_fire_passes_the_expected_alerts_and_catches_missing_late_extra_and_wrong():
    assert failures(one_alert_per_event, good(), EVENTS, 1.0) == []
    assert any("none of" in f for f in failures(one_alert_per_event, good()[:2], EVENTS, 1.0))  # no resolved
    late = good()
    late[1]["arrived_at"] += 3
    assert any("after the event" in f for f in failures(one_alert_per_event, late, EVENTS, 1.0))
    wrong = good()
    wrong[1]["body"] = json.dumps({**expected_alerts(EVENTS)[2], "startsAt": EVENTS[1]["timestamp"]})
    assert any("startsAt" in f for f in failures(one_alert_per_event, wrong, EVENTS, 1.0))
    resolved_alone = [delivery(1, {**expected_alerts(EVENTS)[3]}, "k", T0 + 2.1)]
    assert any("naming events [3]" in f for f in failures(one_alert_per_event, resolved_alone, EVENTS[2:], 1.0))
    twice = [*good(), delivery(4, expected_alerts(EVENTS)[1], "again", T0 + 0.2)]
    assert any("2 alerts" in f for f in failures(one_alert_per_event, twice, EVENTS, 1.0))


def test_retry_rules_after_2xx_after_4xx_and_the_attempt_bound():
    body = expected_alerts(EVENTS)[1]
    retried_5xx = [delivery(1, body, "k", T0, 500), delivery(2, body, "k", T0 + 0.5, 500),
                   delivery(3, body, "k", T0 + 1.5, 200)]
    assert failures(deliveries_follow_the_answers, retried_5xx, 2.0, 0.5) == []
    assert failures(failed_delivery_retried, retried_5xx, 3, "500 twice") == []
    sent_twice = [delivery(1, body, "k", T0, 200), delivery(2, body, "k", T0 + 0.1, 200)]
    assert any("answered 200" in f for f in failures(deliveries_follow_the_answers, sent_twice, 2.0, 0.5))
    retried_4xx = [delivery(1, body, "k", T0, 400), delivery(2, body, "k", T0 + 0.5, 400)]
    assert any("answered 400" in f for f in failures(deliveries_follow_the_answers, retried_4xx, 2.0, 0.5))
    held = [delivery(1, body, "k", T0, None, gave_up=T0 + 30)]
    assert any("held 30.00 s" in f for f in failures(deliveries_follow_the_answers, held, 2.0, 0.5))
    assert failures(failed_delivery_retried, retried_5xx[:2], 3, "500 twice")  # gave up too soon
    constant = [delivery(1, body, "k", T0, 500), delivery(2, body, "k", T0 + 1, 500),
                delivery(3, body, "k", T0 + 2, 200)]
    assert any("growing" in f.expected for f in failed_delivery_retried(constant, 3, "500 twice"))
    assert failures(failed_delivery_retried, [], 2, "hang") == ["no delivery"]


def test_isolation_bounds_answers_and_push_gaps():
    fast = Exchange("GET", "http://x/api/dev/status", 0.0, 0.05, 200)
    slow = Exchange("GET", "http://x/api/dev/status", 0.0, 2.1, 200)
    assert failures(answers_not_delayed, [fast, fast], 1.0, "hang") == []
    assert any("worst 2.10 s" in f for f in failures(answers_not_delayed, [fast, slow], 1.0, "hang"))
    assert failures(pushes_not_delayed, [0.0, 0.25, 0.5, 0.75], 0.6, "hang") == []
    assert failures(pushes_not_delayed, [0.0, 0.25, 2.25], 0.6, "hang") == ["gaps up to 2.00 s"]
    assert failures(pushes_not_delayed, [0.0], 0.6, "hang") == ["1 pushes"]


def test_a_late_first_attempt_is_excused_only_where_the_webhook_refused_it():
    late = good()
    late[0]["arrived_at"] += 5
    assert failures(one_alert_per_event, late, EVENTS, 1.0)
    assert failures(one_alert_per_event, late, EVENTS, 1.0, None, frozenset({1})) == []
