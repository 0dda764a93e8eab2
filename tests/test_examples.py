"""examples/: every valid document validates; each invalid one breaks exactly the clause it is named after."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tes_contract.contract import CLAUSE_IDS, KINDS, document_problems, schema
from tes_contract.contract.invariants import _KIND_CLAUSE
from tes_contract.validate import validate_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VALID = sorted(p for p in (EXAMPLES / "valid").iterdir() if p.suffix in (".json", ".jsonl"))
INVALID = sorted((EXAMPLES / "invalid").glob("*/*.json"))


def kind_of_valid(path: Path) -> str:
    """`status-push-connect.json` is a status-push: the longest kind the file name starts with."""
    kinds = [kind for kind in KINDS if path.name.startswith(f"{kind}-")]
    assert kinds, f"{path.name} does not start with a kind ({', '.join(sorted(KINDS))})"
    return max(kinds, key=len)


def clause_of_invalid(path: Path) -> str:
    """`STATUS-INV-TRAFFIC--isolated-at-half.json` names STATUS-INV-TRAFFIC."""
    return path.stem.split("--")[0]


def test_every_kind_has_valid_and_invalid_examples():
    assert {kind_of_valid(p) for p in VALID} == set(KINDS)
    assert {p.parent.name for p in INVALID} == set(KINDS)
    assert (EXAMPLES / "valid" / "status-seed.json") in VALID


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_validates(path: Path):
    results = validate_text(path.read_text(encoding="utf-8"), str(path), kind_of_valid(path))
    assert results
    assert [r.problems for r in results] == [[] for _ in results]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_invalid_example_breaks_exactly_its_clause(path: Path):
    kind = path.parent.name
    assert kind in KINDS, f"{path.parent} is not a kind folder"
    clause = clause_of_invalid(path)
    assert clause in CLAUSE_IDS, f"{path.name} is named after {clause!r}, not a clause id"
    problems = document_problems(kind, json.loads(path.read_text(encoding="utf-8")))
    assert problems, f"{path.name} validates"
    assert {p.clause for p in problems} == {clause}, [p.as_dict() for p in problems]
    assert all(p.message for p in problems)


def _clauses_a_document_can_break() -> set[str]:
    """Every clause document_problems can cite: schema descriptions, the kinds' shape clauses, the invariants."""
    prefix = re.compile(r"^([A-Z]+(?:-[A-Z0-9]+)+):")
    found = set(_KIND_CLAUSE.values()) | {"STATUS-INV-TELEMETRY", "STATUS-INV-TRAFFIC", "STATUS-INV-ROUTES",
                                          "STATUS-INV-ROUTES-EQUAL"}

    def walk(node):
        if isinstance(node, dict):
            match = prefix.match(node.get("description", "")) if isinstance(node.get("description"), str) else None
            if match:
                found.add(match.group(1))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for kind in KINDS:
        walk(schema(kind))
    return found


def test_every_clause_a_document_can_break_has_an_invalid_example():
    # STATUS-INV-VERSION compares with the response header, which a document alone does not carry.
    named = {clause_of_invalid(p) for p in INVALID}
    assert _clauses_a_document_can_break() - named == set()
