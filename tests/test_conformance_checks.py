"""Each check family on hand-made exchanges: a correct answer passes, a wrong one fails with its clause."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tes_contract.conformance.checks import CHECKS, PROFILE_CHECKS
from tes_contract.conformance.checks.across import (
    api_sessions_count_in_flight,
    api_sessions_see_each_other,
    primary_region_echoed,
    timestamp_uptime_cpu_never_decrease,
    uptime_follows_wall_clock,
)
from tes_contract.conformance.checks.response import (
    body_keeps_invariants,
    body_matches_schema,
    error_body_is_json,
    method_not_allowed_lists_get,
    status_headers_match_contract,
    timestamp_is_current,
)
from tes_contract.conformance.checks.traffic import (
    avg_latency_in_milliseconds,
    error_rate_counts_5xx,
    requests_per_second_counts_requests,
)
from tes_contract.conformance.checks.upstream import (
    other_upstream_unchanged,
    upstream_called_once_per_request,
    upstream_fields_match_contract,
    upstreams_called_concurrently,
)
from tes_contract.conformance.model import NOT_JSON, Exchange
from tes_contract.conformance.registry import Registry, clauses_of
from tes_contract.conformance.registry import check as tag_check

SEED = json.loads((Path(__file__).parent.parent / "examples" / "valid" / "status-seed.json").read_text())
HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-cache"),
           ("X-TES-Status-Version", "2.0")]


def answer(body: Any = None, *, status: int = 200, headers: list[tuple[str, str]] | None = None,
           at: float | None = None, took: float = 0.01, method: str = "GET", **changes: Any) -> Exchange:
    """A status answer sent at `at` (default now), the seed document with `changes` at dotted paths."""
    document = copy.deepcopy(SEED if body is None else body)
    now = time.time() if at is None else at
    document["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return Exchange(method, "http://127.0.0.1:1/api/dev/status", sent_at=now - took / 2, received_at=now + took / 2,
                    status=status, headers=list(HEADERS if headers is None else headers), text=json.dumps(document),
                    body=document)


def clauses(failures: Any) -> set[str]:
    return {f.clause for f in failures}


def test_a_correct_answer_passes_every_response_check():
    exchange = answer()
    for check in (status_headers_match_contract, body_matches_schema, body_keeps_invariants, timestamp_is_current):
        assert list(check(exchange)) == [], check.__name__


@pytest.mark.parametrize(("headers", "clause"), [
    ([("Content-Type", "text/plain"), ("Cache-Control", "no-cache"), ("X-TES-Status-Version", "2.0")], "STATUS-HDR-1"),
    ([("Content-Type", "application/json"), ("Cache-Control", "max-age=5"), ("X-TES-Status-Version", "2.0")],
     "STATUS-HDR-2"),
    ([("Content-Type", "application/json"), ("Cache-Control", "no-store, no-cache")], "STATUS-HDR-3"),
    ([("Content-Type", "application/json"), ("Cache-Control", "no-cache"), ("X-TES-Status-Version", "2")],
     "STATUS-HDR-3"),
])
def test_headers_name_the_clause_they_break(headers, clause):
    assert clauses(status_headers_match_contract(answer(headers=headers))) == {clause}


def test_schema_errors_cite_the_field_clause():
    found = clauses(body_matches_schema(answer(vector__others__cpu=12.5, meta__telemetryStatus="unknown")))
    assert found == {"STATUS-FIELD-CPU", "STATUS-FIELD-TELEMETRY"}
    assert clauses(body_matches_schema(answer(extra=1))) == {"STATUS-SCHEMA-1"}
    assert clauses(body_matches_schema(Exchange("GET", "u", 0, 0, 200, HEADERS, "<html>", NOT_JSON))) == {
        "STATUS-SCHEMA-1"}


def test_invariants_and_stale_timestamp():
    broken = answer(meta__telemetryStatus="healthy", vector__sessions__activeWorkers=0)
    assert clauses(body_keeps_invariants(broken)) == {"STATUS-INV-TELEMETRY"}
    stale = answer()
    stale.sent_at += 60
    stale.received_at += 60
    assert clauses(timestamp_is_current(stale)) == {"STATUS-FIELD-TIMESTAMP"}


def test_other_methods_need_405_with_allow_listing_get_and_a_json_error_body():
    ok = Exchange("PUT", "u", 0, 0, 405, [("Allow", "GET, HEAD"), ("Content-Type", "application/json")],
                  '{"error": "no"}', {"error": "no"})
    assert list(method_not_allowed_lists_get(ok)) == [] and list(error_body_is_json(ok)) == []
    assert clauses(method_not_allowed_lists_get(Exchange("PUT", "u", 0, 0, 404))) == {"STATUS-HTTP-2"}
    assert clauses(method_not_allowed_lists_get(Exchange("PUT", "u", 0, 0, 405, [("Allow", "POST")]))) == {
        "STATUS-HTTP-2"}
    ansi = Exchange("GET", "u", 0, 0, 503, [("Content-Type", "application/json")], '{"error": "\\u001b[31mx"}',
                    {"error": "\x1b[31mx", "debug": 1})
    assert clauses(error_body_is_json(ansi)) == {"ERROR-BODY"}


def test_monotonicity_and_uptime_follow_the_wall_clock():
    start = time.time()
    first = answer(at=start, vector__others__uptime=10.0, vector__others__cpu=100)
    later = answer(at=start + 2, vector__others__uptime=12.0, vector__others__cpu=120)
    assert list(timestamp_uptime_cpu_never_decrease([first, later])) == []
    assert list(uptime_follows_wall_clock([first, later])) == []
    backwards = answer(at=start + 2, vector__others__uptime=9.0, vector__others__cpu=90)
    assert clauses(timestamp_uptime_cpu_never_decrease([first, backwards])) == {
        "STATUS-MONO-1", "STATUS-FIELD-UPTIME", "STATUS-FIELD-CPU"}
    in_ms = answer(at=start + 2, vector__others__uptime=2010.0)
    assert clauses(uptime_follows_wall_clock([first, in_ms])) == {"STATUS-FIELD-UPTIME"}
    frozen = answer(at=start + 3, vector__others__uptime=10.0)
    assert clauses(uptime_follows_wall_clock([first, frozen])) == {"STATUS-FIELD-UPTIME"}


def test_region_and_api_sessions():
    alone = answer(vector__sessions__apiSessions=1)
    assert list(primary_region_echoed([alone], "us-east-1", "unset")) == []
    assert clauses(primary_region_echoed([alone], "eu-west-2", "set")) == {"STATUS-FIELD-REGION"}
    assert list(api_sessions_count_in_flight([alone], [alone])) == []
    two = answer(vector__sessions__apiSessions=2)
    assert clauses(api_sessions_count_in_flight([two], [two])) == {"STATUS-FIELD-APISESSIONS"}
    held = [answer(vector__sessions__apiSessions=n) for n in (1, 2, 3)]
    assert list(api_sessions_see_each_other(held)) == []
    assert clauses(api_sessions_see_each_other([answer(vector__sessions__apiSessions=1)] * 3)) == {
        "STATUS-FIELD-APISESSIONS"}


def test_upstream_fields_isolation_concurrency_and_fan_out():
    healthy = answer(vector__sessions__tmux=3)
    assert list(upstream_fields_match_contract(healthy, {"tmux": 3})) == []
    panes = answer(vector__sessions__tmux=6)
    assert clauses(upstream_fields_match_contract(panes, {"tmux": 3}, ("UPSTREAM-TMUX-VALID",))) == {
        "STATUS-FIELD-TMUX", "UPSTREAM-TMUX-VALID"}
    assert clauses(other_upstream_unchanged(panes, {"tmux": 3})) == {"UPSTREAM-ISOLATION"}
    slow = answer(took=3.2)
    t0 = slow.sent_at
    together = {"tmux": [{"arrived_at": t0 + 0.01}], "worker": [{"arrived_at": t0 + 0.02}]}
    assert list(upstreams_called_concurrently(slow, together, 1500, 2000)) == []
    one_after_other = {"tmux": [{"arrived_at": t0 + 0.01}], "worker": [{"arrived_at": t0 + 1.51}]}
    assert clauses(upstreams_called_concurrently(slow, one_after_other, 1500, 1000)) == {"UPSTREAM-CONCURRENT"}
    twice = {"worker": [{"arrived_at": t0 + 0.01, "scenario": "healthy"}, {"arrived_at": t0 + 0.02,
                                                                           "scenario": "healthy"}]}
    assert list(upstream_called_once_per_request([slow], twice)) == []  # once may be a probe of its own
    second = answer(at=slow.received_at + 1)
    twice["worker"] += [{"arrived_at": second.sent_at + 0.001, "scenario": "healthy"},
                        {"arrived_at": second.sent_at + 0.002, "scenario": "healthy"}]
    assert clauses(upstream_called_once_per_request([slow, second], twice)) == {"UPSTREAM-ONCE"}
    retried = {"worker": [{"arrived_at": t0 + 0.01, "scenario": "empty"}, {"arrived_at": t0 + 0.02,
                                                                          "scenario": "empty"}]}
    assert list(upstream_called_once_per_request([slow], retried)) == []


def _ledger(statuses: list[int], took: float = 0.01) -> list[Exchange]:
    return [Exchange("GET", "u", 0, took, s) for s in statuses]


def test_traffic_accounting_against_the_ledger():
    prior = _ledger([200] * 6 + [404] * 3 + [503])
    good = answer(vector__others__errorRate=0.1, vector__directions__trafficMode="degraded",
                  vector__others__uptime=5.0, vector__directions__requestFlow__requestsPerSecond=2.0,
                  vector__directions__requestFlow__avgLatency=9.0)
    assert list(error_rate_counts_5xx(good, prior)) == []
    assert list(requests_per_second_counts_requests(good, prior)) == []
    assert list(avg_latency_in_milliseconds(good, prior, held_ms=50)) == []
    strict = answer(vector__others__errorRate=0.1, vector__directions__trafficMode="normal")
    assert clauses(error_rate_counts_5xx(strict, prior)) == {"STATUS-FIELD-TRAFFICMODE"}
    zero = answer(vector__others__errorRate=0, vector__directions__trafficMode="normal", vector__others__uptime=5.0,
                  vector__directions__requestFlow__requestsPerSecond=0,
                  vector__directions__requestFlow__avgLatency=0)
    assert clauses(error_rate_counts_5xx(zero, prior)) == {"STATUS-FIELD-ERRORRATE", "STATUS-FIELD-TRAFFICMODE"}
    assert clauses(requests_per_second_counts_requests(zero, prior)) == {"STATUS-FIELD-RPS"}
    assert clauses(avg_latency_in_milliseconds(zero, prior, held_ms=50)) == {"STATUS-FIELD-LATENCY"}
    seconds = answer(vector__directions__requestFlow__avgLatency=0.009)
    assert clauses(avg_latency_in_milliseconds(seconds, prior, held_ms=50)) == {"STATUS-FIELD-LATENCY"}


def test_registry_validates_clause_ids_and_maps_clauses_to_checks():
    with pytest.raises(KeyError, match="NO-SUCH-CLAUSE"):
        tag_check("NO-SUCH-CLAUSE")

    @tag_check("STATUS-HDR-1")
    def headers_are_fine() -> None: ...

    registry = Registry([headers_are_fine])
    assert registry.checks_by_clause() == {"STATUS-HDR-1": ["headers_are_fine"]}
    assert headers_are_fine in registry and clauses_of(headers_are_fine) == ("STATUS-HDR-1",)
    assert "status_headers_match_contract" in CHECKS.checks_by_clause()["STATUS-HDR-3"]


def test_registry_refuses_two_checks_of_one_name_and_untagged_functions():
    @tag_check("STATUS-HDR-1")
    def same() -> None: ...

    first = same

    @tag_check("STATUS-HDR-2")  # type: ignore[no-redef]
    def same() -> None: ...

    with pytest.raises(ValueError, match="two checks named 'same'"):
        Registry([first, same])

    def plain() -> None: ...

    with pytest.raises(ValueError, match="not a check"):
        Registry([plain])


def test_every_check_of_the_checks_package_is_registered_once():
    """Explicit registration: a `@check` in a module of conformance/checks that no profile list names would
    never run and never show in docs/contract.md's "Checked by" lines."""
    import importlib
    import inspect
    import pkgutil

    import tes_contract.conformance.checks as package

    tagged = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ == module.__name__ and hasattr(func, "__tes_clauses__"):
                tagged.add(func)
    registered = {entry.func for entry in CHECKS.all()}
    assert tagged == registered
    listed = [func for funcs in PROFILE_CHECKS.values() for func in funcs]
    assert len(listed) == len(set(listed)) == len(registered)
