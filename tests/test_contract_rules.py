"""The oracle functions of rules.py, at their boundaries."""

from __future__ import annotations

import pytest

from tes_contract.contract.rules import (
    DEFAULT_REGION,
    ENVIRONMENT,
    region_for,
    tmux_field,
    tmux_sessions,
    traffic_mode_for,
    worker_connected,
    worker_fields,
)


@pytest.mark.parametrize(("rate", "mode"), [
    (0, "normal"), (0.0999, "normal"), (0.09999999999, "normal"), (0.1, "degraded"), (0.3, "degraded"),
    (0.5, "degraded"), (0.5000001, "isolated"), (1, "isolated"),
])
def test_traffic_mode_boundaries(rate, mode):
    assert traffic_mode_for(rate) == mode


def test_region_is_the_variable_when_set_and_non_empty():
    assert region_for("eu-west-1") == "eu-west-1"
    assert region_for("") == DEFAULT_REGION == "us-east-1"
    assert region_for(None) == DEFAULT_REGION


@pytest.mark.parametrize(("body", "connected"), [
    ({"connected": 3}, 3), ({"connected": 0, "workers": "ignored"}, 0),
    ({"connected": True}, None), ({"connected": False}, None), ({"connected": -1}, None),
    ({"connected": "3"}, None), ({"connected": 3.5}, None), ({}, None), ([{"connected": 3}], None), (None, None),
])
def test_worker_connected_reads_only_an_integer_connected(body, connected):
    assert worker_connected(body) == connected


@pytest.mark.parametrize(("body", "tmux"), [
    ({"online": True, "sessions": [{}, {}, {}]}, 3), ({"online": False, "sessions": [{}, {}]}, 0),
    ({"online": True, "sessions": []}, 0), ({"online": "true", "sessions": [{}]}, None),
    ({"online": True, "sessions": 2}, None), ({"sessions": [{}]}, None), ("online", None),
])
def test_tmux_sessions_counts_sessions_of_a_valid_body(body, tmux):
    assert tmux_sessions(body) == tmux


@pytest.mark.parametrize(("answered", "status", "body", "fields"), [
    (False, None, None, (0, "offline")),
    (True, 200, {"connected": 4}, (4, "healthy")),
    (True, 204, {"connected": 1, "workers": []}, (1, "healthy")),
    (True, 200, {"connected": 0}, (0, "degraded")),
    (True, 200, {"connected": True}, (0, "degraded")),
    (True, 200, None, (0, "degraded")),
    (True, 500, {"connected": 4}, (0, "degraded")),
    (True, 302, {"connected": 4}, (0, "degraded")),
])
def test_worker_fields_come_from_one_call(answered, status, body, fields):
    workers, telemetry = worker_fields(answered, status, body)
    assert (workers, telemetry) == fields
    assert (telemetry == "healthy") == (workers > 0)  # STATUS-INV-TELEMETRY holds by construction


@pytest.mark.parametrize(("answered", "status", "body", "tmux"), [
    (False, None, None, 0), (True, 200, {"online": True, "sessions": [{}, {}]}, 2),
    (True, 503, {"online": True, "sessions": [{}, {}]}, 0), (True, 200, "garbage", 0),
])
def test_tmux_field_is_zero_whenever_the_upstream_fails(answered, status, body, tmux):
    assert tmux_field(answered, status, body) == tmux


def test_environment_names_every_variable_once():
    names = [name for name, _, _ in ENVIRONMENT]
    assert len(names) == len(set(names))
    assert names[:6] == ["TES_HOST", "TES_PORT", "TES_TMUX_STATUS_URL", "TES_WORKER_API_URL",
                         "TES_UPSTREAM_TIMEOUT_MS", "TES_PRIMARY_REGION"]
    assert {"TES_PUSH_INTERVAL_MS", "TES_STATE_DIR", "TES_DEV_TOKEN", "TES_ALLOWED_HOSTS"} <= set(names)
