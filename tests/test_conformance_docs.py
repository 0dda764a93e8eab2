"""Every clause has a check (or is a listed gap of a profile not checked yet); the docs show which."""

from __future__ import annotations

from pathlib import Path

from tes_contract.conformance.docs import (
    BEGIN,
    END,
    UNCHECKED,
    checks_by_clause,
    checks_table,
    render_contract_markdown,
)
from tes_contract.contract.clauses import BY_ID, CLAUSES

ROOT = Path(__file__).resolve().parent.parent


def test_every_clause_has_a_check_but_the_listed_gaps():
    without = {c.id for c in CLAUSES if not checks_by_clause().get(c.id)}
    assert without == set(UNCHECKED), "a clause without check must be listed in UNCHECKED (and removed once checked)"


def test_gaps_are_never_core_and_name_their_profile():
    for id, profile in UNCHECKED.items():
        assert BY_ID[id].profile == profile != "core"


def test_docs_conformance_md_carries_the_current_table():
    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    section = text[text.index(BEGIN): text.index(END) + len(END)] + "\n"
    assert section == checks_table(), "stale: python -m tes_contract.conformance.docs"


def test_contract_rendering_names_the_checks_of_each_clause():
    text = render_contract_markdown()
    assert "**Checked by:** `status_headers_match_contract`" in text
    assert text.count("**Checked by:** none yet") == len(UNCHECKED)
