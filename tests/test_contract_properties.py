"""Property-based: generated EnhancedStatusData validates; every single-field mutation of it is rejected."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tes_contract.contract import document_problems
from tes_contract.contract.invariants import is_valid_document
from tes_contract.contract.rules import traffic_mode_for

from .strategies import TRAFFIC_RATES, status_documents

# Bounded so the whole file runs in seconds: 150 examples for a property over the whole document, 30 per
# case where a test is parametrized over every field or level (19 fields x 30 still mutates each field often).
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_CASE = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every field of EnhancedStatusData: path, JSON type, minimum (or None), the clause its description names.
FIELDS: list[tuple[tuple[str, ...], str, float | None, str]] = [
    (("timestamp",), "timestamp", None, "STATUS-FIELD-TIMESTAMP"),
    (("vector", "sessions", "tmux"), "integer", 0, "STATUS-FIELD-TMUX"),
    (("vector", "sessions", "activeWorkers"), "integer", 0, "STATUS-FIELD-WORKERS"),
    (("vector", "sessions", "apiSessions"), "integer", 1, "STATUS-FIELD-APISESSIONS"),
    (("vector", "sessions", "websocketConnections"), "integer", 0, "STATUS-FIELD-WS"),
    (("vector", "directions", "primaryRegion"), "string", None, "STATUS-FIELD-REGION"),
    (("vector", "directions", "trafficMode"), "enum", None, "STATUS-FIELD-TRAFFICMODE"),
    (("vector", "directions", "requestFlow", "totalRoutes"), "integer", 0, "STATUS-FIELD-ROUTES"),
    (("vector", "directions", "requestFlow", "activeRoutes"), "integer", 0, "STATUS-FIELD-ROUTES"),
    (("vector", "directions", "requestFlow", "avgLatency"), "number", 0, "STATUS-FIELD-LATENCY"),
    (("vector", "directions", "requestFlow", "requestsPerSecond"), "number", 0, "STATUS-FIELD-RPS"),
    (("vector", "directions", "activeRoutes"), "integer", 0, "STATUS-FIELD-ROUTES"),
    (("vector", "others", "memory"), "integer", 1, "STATUS-FIELD-MEMORY"),
    (("vector", "others", "cpu"), "integer", 0, "STATUS-FIELD-CPU"),
    (("vector", "others", "errorRate"), "number", 0, "STATUS-FIELD-ERRORRATE"),
    (("vector", "others", "uptime"), "number", 0, "STATUS-FIELD-UPTIME"),
    (("meta", "totalEndpoints"), "integer", 1, "STATUS-FIELD-ENDPOINTS"),
    (("meta", "telemetryStatus"), "enum", None, "STATUS-FIELD-TELEMETRY"),
    (("meta", "statusVersion"), "const", None, "STATUS-FIELD-VERSION"),
]
OBJECTS: dict[tuple[str, ...], set[str]] = {
    (): {"timestamp", "vector", "meta"},
    ("vector",): {"sessions", "directions", "others"},
    ("vector", "sessions"): {"tmux", "activeWorkers", "apiSessions", "websocketConnections", "websocketSubscribers"},
    ("vector", "directions"): {"primaryRegion", "trafficMode", "requestFlow", "activeRoutes"},
    ("vector", "directions", "requestFlow"): {"totalRoutes", "activeRoutes", "avgLatency", "requestsPerSecond"},
    ("vector", "others"): {"memory", "cpu", "errorRate", "uptime"},
    ("meta",): {"totalEndpoints", "telemetryStatus", "statusVersion"},
}
REQUIRED = [(path, key) for path, keys in OBJECTS.items() for key in sorted(keys - {"websocketSubscribers"})]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)
# Values of the wrong JSON type per field type. Integral floats (3.0) are integers in JSON Schema, so they are
# not "wrong" for an integer field; a JSON boolean always is.
WRONG_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "integer": st.one_of(st.booleans(), st.none(), st.text(), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(), st.integers(), max_size=2),
                         st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())),
    "number": st.one_of(st.booleans(), st.none(), st.text(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(), st.integers(), max_size=2)),
    "string": st.one_of(st.booleans(), st.none(), st.integers(), st.floats(allow_nan=False), st.just([])),
    "enum": st.one_of(st.booleans(), st.none(), st.integers(), st.sampled_from(["NORMAL", "Healthy", "", "unknown"])),
    "const": st.one_of(st.sampled_from([2.0, 2, "2", "2.00", "2.0 ", "v2.0", "1.0", None, True])),
    "timestamp": st.one_of(st.integers(0, 2**42), st.none(), st.booleans(), st.just("")),
}


def get(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def put(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(doc)
    get(mutated, path[:-1])[path[-1]] = value
    return mutated


def clauses_of(doc: Any, kind: str = "status") -> set[str]:
    """The clauses `doc` breaks; also proves the fast verdict (jsonschema-rs) agrees with the explaining one."""
    problems = document_problems(kind, doc)
    assert is_valid_document(kind, doc) == (not problems), [p.as_dict() for p in problems]
    return {p.clause for p in problems}


@PROPERTY
@given(status_documents())
def test_generated_documents_validate(doc):
    assert document_problems("status", doc) == []
    assert document_problems("status-push", {"type": "status", "data": doc}) == []
    assert is_valid_document("status", doc) and is_valid_document("status-push", {"type": "status", "data": doc})


@PROPERTY
@given(doc=status_documents(),
       timestamp=st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z"))
def test_fast_and_explaining_validators_agree_on_calendar_edge_cases(doc, timestamp):
    # Month 13, February 30, hour 24, second 60: both validators must give the same verdict.
    clauses = clauses_of(put(doc, ("timestamp",), timestamp))
    assert clauses <= {"STATUS-FIELD-TIMESTAMP"}


@PROPERTY
@given(status_documents())
def test_the_oracle_agrees_with_the_generator(doc):
    # The generator draws trafficMode first and errorRate from its interval, independently of rules.py.
    assert traffic_mode_for(doc["vector"]["others"]["errorRate"]) == doc["vector"]["directions"]["trafficMode"]


@pytest.mark.parametrize(("path", "json_type", "minimum", "clause"), FIELDS, ids=["/".join(f[0]) for f in FIELDS])
@PER_CASE
@given(doc=status_documents(), data=st.data())
def test_wrong_type_is_rejected_with_the_field_clause(doc, data, path, json_type, minimum, clause):
    value = data.draw(WRONG_TYPE[json_type], label="value")
    assert clauses_of(put(doc, path, value)) == {clause}


BOUNDED = [f for f in FIELDS if f[2] is not None]


@pytest.mark.parametrize(("path", "json_type", "minimum", "clause"), BOUNDED, ids=["/".join(f[0]) for f in BOUNDED])
@PER_CASE
@given(doc=status_documents(), data=st.data())
def test_out_of_range_is_rejected_with_the_field_clause(doc, data, path, json_type, minimum, clause):
    below: st.SearchStrategy[float] = st.integers(max_value=int(minimum) - 1)
    if json_type == "number":
        below = st.one_of(below, st.floats(max_value=minimum, exclude_max=True, allow_nan=False,
                                           allow_infinity=False))
    value = data.draw(below, label="value")
    assert clauses_of(put(doc, path, value)) == {clause}


@PROPERTY
@given(doc=status_documents(), rate=st.floats(1, 1e12, exclude_min=True) | st.integers(2, 10**12))
def test_error_rate_above_one_is_rejected(doc, rate):
    assert clauses_of(put(doc, ("vector", "others", "errorRate"), rate)) == {"STATUS-FIELD-ERRORRATE"}


@pytest.mark.parametrize("path", list(OBJECTS), ids=["/" + "/".join(p) for p in OBJECTS])
@PER_CASE
@given(doc=status_documents(), data=st.data())
def test_unknown_key_at_each_level_is_rejected(doc, data, path):
    known = OBJECTS[path]
    key = data.draw(st.text(min_size=1).filter(lambda k: k not in known), label="key")
    value = data.draw(json_values, label="value")
    mutated = copy.deepcopy(doc)
    get(mutated, path)[key] = value
    assert clauses_of(mutated) == {"STATUS-SCHEMA-1"}


@pytest.mark.parametrize(("path", "key"), REQUIRED, ids=["/".join((*p, k)) for p, k in REQUIRED])
@PER_CASE
@given(doc=status_documents())
def test_missing_required_key_is_rejected(doc, path, key):
    mutated = copy.deepcopy(doc)
    del get(mutated, path)[key]
    field_clauses = {clause for field_path, _, _, clause in FIELDS if field_path == (*path, key)}
    found = clauses_of(mutated)
    # The missing property's own clause when its schema names one inline, else the body's shape clause.
    assert found and found <= field_clauses | {"STATUS-SCHEMA-1"}


@PROPERTY
@given(doc=status_documents(), data=st.data())
def test_inconsistent_traffic_mode_is_rejected(doc, data):
    mode = doc["vector"]["directions"]["trafficMode"]
    other = data.draw(st.sampled_from(sorted(set(TRAFFIC_RATES) - {mode})), label="other")
    if data.draw(st.booleans(), label="move the rate, not the mode"):
        mutated = put(doc, ("vector", "others", "errorRate"), data.draw(TRAFFIC_RATES[other], label="rate"))
    else:
        mutated = put(doc, ("vector", "directions", "trafficMode"), other)
    assert clauses_of(mutated) == {"STATUS-INV-TRAFFIC"}


@PROPERTY
@given(doc=status_documents(), data=st.data())
def test_telemetry_inconsistent_with_active_workers_is_rejected(doc, data):
    if doc["vector"]["sessions"]["activeWorkers"] > 0:
        telemetry = data.draw(st.sampled_from(["degraded", "offline"]), label="telemetry")
        mutated = put(doc, ("meta", "telemetryStatus"), telemetry)
    elif data.draw(st.booleans(), label="flip telemetry"):
        mutated = put(doc, ("meta", "telemetryStatus"), "healthy")
    else:
        mutated = put(doc, ("vector", "sessions", "activeWorkers"), data.draw(st.integers(1, 10**6)))
    assert clauses_of(mutated) == {"STATUS-INV-TELEMETRY"}


@PROPERTY
@given(doc=status_documents(), excess=st.integers(1, 10**6))
def test_active_routes_above_total_routes_is_rejected(doc, excess):
    active = doc["vector"]["directions"]["requestFlow"]["totalRoutes"] + excess
    mutated = put(doc, ("vector", "directions", "requestFlow", "activeRoutes"), active)
    mutated["vector"]["directions"]["activeRoutes"] = active  # keep the two equal: only <= is broken
    assert clauses_of(mutated) == {"STATUS-INV-ROUTES"}


@PROPERTY
@given(doc=status_documents(), other=st.integers(0, 10**6))
def test_directions_active_routes_differing_from_request_flow_is_rejected(doc, other):
    flow_active = doc["vector"]["directions"]["requestFlow"]["activeRoutes"]
    if other == flow_active:
        other += 1
    assert clauses_of(put(doc, ("vector", "directions", "activeRoutes"), other)) == {"STATUS-INV-ROUTES-EQUAL"}


def _without_z(ts: str) -> str:
    return ts[:-1]


def _without_millis(ts: str) -> str:
    return ts[:-5] + "Z"


def _offset(ts: str) -> str:
    return ts[:-1] + "+00:00"


def _digits(n: int):
    def change(ts: str) -> str:
        millis = ts[-4:-1]
        return ts[:-5] + ("." + (millis + "000")[:n] if n else "") + "Z"
    return change


TIMESTAMP_MUTATIONS = {
    "without-Z": _without_z,
    "without-milliseconds": _without_millis,
    "offset-+00:00": _offset,
    "offset-+00:00-keeping-ms-and-Z-dropped": lambda ts: ts.replace("Z", "+0000"),
    "1-fractional-digit": _digits(1),
    "2-fractional-digits": _digits(2),
    "4-fractional-digits": _digits(4),
    "6-fractional-digits": _digits(6),
    "lowercase-z": lambda ts: ts[:-1] + "z",
    "space-separator": lambda ts: ts.replace("T", " "),
    "date-only": lambda ts: ts[:10],
}


@pytest.mark.parametrize("mutation", list(TIMESTAMP_MUTATIONS))
@PER_CASE
@given(doc=status_documents())
def test_malformed_timestamp_is_rejected(doc, mutation):
    timestamp = TIMESTAMP_MUTATIONS[mutation](doc["timestamp"])
    assert timestamp != doc["timestamp"]
    assert clauses_of(put(doc, ("timestamp",), timestamp)) == {"STATUS-FIELD-TIMESTAMP"}


@PROPERTY
@given(doc=status_documents(), value=st.sampled_from([float("nan"), float("inf"), float("-inf")]),
       field=st.sampled_from([f for f in FIELDS if f[1] in ("integer", "number")]))
def test_non_finite_numbers_are_rejected(doc, value, field):
    # Python's json parses NaN and Infinity; a harness reading a body with it must not call it valid.
    assert clauses_of(put(doc, field[0], value))


def test_every_field_is_mutated():
    paths = {f[0] for f in FIELDS}
    leaves = {(*path, key) for path, keys in OBJECTS.items() for key in keys} - {(*p,) for p in OBJECTS}
    assert leaves - {("vector", "sessions", "websocketSubscribers")} == paths
