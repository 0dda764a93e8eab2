"""docs/contract.md is the rendering of the clauses, never a second source of truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tes_contract.contract.clauses import CLAUSES, PROFILES
from tes_contract.contract.docs import REGENERATE, render_markdown
from tes_contract.contract.rules import ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent


def test_docs_contract_md_is_the_rendering_of_the_clauses():
    on_disk = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert on_disk == render_markdown(), f"docs/contract.md is stale; regenerate it: {REGENERATE}"


def test_module_main_prints_the_rendering():
    result = subprocess.run([sys.executable, "-m", "tes_contract.contract.docs"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == render_markdown()


def test_every_clause_has_a_section_with_must_and_observed():
    text = render_markdown()
    for clause in CLAUSES:
        heading = f"#### `{clause.id}` — {clause.title}\n\n**Must:** {clause.must}\n\n**Observed:** {clause.observed}\n"
        assert text.count(heading) == 1, clause.id


def test_clauses_are_grouped_by_profile_in_order():
    text = render_markdown()
    starts = [text.index(f"\n## Profile `{profile}`\n") for profile in PROFILES]
    assert starts == sorted(starts)
    for clause in CLAUSES:
        section = PROFILES.index(clause.profile)
        end = starts[section + 1] if section + 1 < len(starts) else len(text)
        assert starts[section] < text.index(f"#### `{clause.id}`") < end, clause.id


def test_intro_has_the_environment_table_and_profiles():
    text = render_markdown()
    for name, default, _ in ENVIRONMENT:
        assert f"| `{name}` | {default} |" in text
    for profile in PROFILES:
        assert f"- **{profile}** (" in text


def test_checks_by_clause_shows_a_line_per_clause():
    text = render_markdown({"STATUS-HDR-3": ["status_version_header_is_2_0", "body_version_equals_header"]})
    assert "**Checked by:** `status_version_header_is_2_0`, `body_version_equals_header`" in text
    # every other clause says it is not covered yet, so a gap is visible in the document
    assert text.count("**Checked by:** none yet") == len(CLAUSES) - 1
    assert "| id | profile | title | checks |" in text
    assert "**Checked by:**" not in render_markdown()


def test_checks_citing_an_unknown_clause_are_refused():
    with pytest.raises(ValueError, match="STATUS-HDR-99"):
        render_markdown({"STATUS-HDR-99": ["made_up"]})
