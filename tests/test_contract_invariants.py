"""document_problems and status_invariant_problems: one problem per broken thing, under the most specific clause."""

from __future__ import annotations

import pytest

from tes_contract.contract.invariants import Problem, document_problems, status_invariant_problems
from tes_contract.errors import ToolError


def test_header_version_must_equal_the_body(seed):
    assert list(status_invariant_problems(seed, header_version="2.0")) == []
    assert list(status_invariant_problems(seed, header_version="2.1")) == [Problem(
        "/meta/statusVersion", "STATUS-INV-VERSION",
        "statusVersion '2.0' differs from the X-TES-Status-Version header '2.1'")]
    problems = document_problems("status", seed, header_version="2.1")
    assert [p.clause for p in problems] == ["STATUS-INV-VERSION"]


def test_without_a_header_the_version_is_the_schemas_business(seed):
    seed["meta"]["statusVersion"] = "1.0"
    assert [p.clause for p in document_problems("status", seed)] == ["STATUS-FIELD-VERSION"]
    assert list(status_invariant_problems(seed)) == []


def test_invariants_under_a_prefix(seed):
    seed["vector"]["others"]["errorRate"] = 0.75
    (problem,) = status_invariant_problems(seed, prefix="/data")
    assert problem.pointer == "/data/vector/directions/trafficMode"


def test_invariants_of_a_body_that_is_not_an_object_are_silent():
    # The schema reports the shape; the invariants have nothing to compare.
    assert list(status_invariant_problems([1, 2])) == []
    assert [p.clause for p in document_problems("status", [1, 2])] == ["STATUS-SCHEMA-1"]


def test_an_invariant_is_not_judged_over_a_field_that_is_already_wrong(seed):
    seed["vector"]["sessions"]["activeWorkers"] = True  # healthy with a boolean: one problem, the field's
    assert [p.clause for p in document_problems("status", seed)] == ["STATUS-FIELD-WORKERS"]


def test_missing_key_cites_the_missing_property_clause():
    problems = document_problems("worker-status", {"workers": []})
    assert [(p.pointer, p.clause, p.message) for p in problems] == [
        ("", "UPSTREAM-WORKER-VALID", 'missing required key "connected"')]


def test_unknown_keys_are_named(seed):
    seed["vector"]["sessions"]["panes"] = 9
    seed["vector"]["sessions"]["load"] = 1
    assert [(p.pointer, p.message) for p in document_problems("status", seed)] == [
        ("/vector/sessions", 'unknown keys "panes", "load" (the object is closed)')]


def test_error_outside_described_fields_cites_the_kind_clause():
    problems = document_problems("worker-list", {"workers": [{"id": "w"}]})
    assert {p.clause for p in problems} == {"DEV-WORKERS"}


def test_nan_is_not_a_json_number(seed):
    seed["vector"]["others"]["errorRate"] = float("nan")
    problems = document_problems("status", seed)
    assert Problem("/vector/others/errorRate", "STATUS-SCHEMA-1", "nan is not a JSON number") in problems


def test_schema_only_skips_invariants(seed):
    seed["vector"]["directions"]["activeRoutes"] = 1
    assert document_problems("status", seed, schema_only=True) == []
    assert [p.clause for p in document_problems("status", seed)] == ["STATUS-INV-ROUTES-EQUAL"]


def test_unknown_kind_is_a_tool_error(seed):
    with pytest.raises(ToolError, match="unknown kind 'statuz'"):
        document_problems("statuz", seed)


def test_problem_as_dict():
    assert Problem("/a", "STATUS-SCHEMA-1", "m").as_dict() == {"pointer": "/a", "clause": "STATUS-SCHEMA-1",
                                                                "message": "m"}
