"""Which checks test which clause, for the docs: the table in docs/conformance.md and the "Checked by" lines
that `render_markdown` of the contract adds to docs/contract.md.

    python -m tes_contract.conformance.docs            the clause -> checks table (docs/conformance.md)
    python -m tes_contract.conformance.docs --contract docs/contract.md with a "Checked by" line per clause
"""

from __future__ import annotations

import sys

from tes_contract.conformance.checks import CHECKS
from tes_contract.conformance.registry import UNCHECKED
from tes_contract.contract.clauses import CLAUSES
from tes_contract.contract.docs import render_markdown

BEGIN, END = "<!-- checks-by-clause:begin -->", "<!-- checks-by-clause:end -->"


def checks_by_clause() -> dict[str, list[str]]:
    """Clause id -> names of the registered checks that test it."""
    return CHECKS.checks_by_clause()


def checks_table() -> str:
    """The markdown table clause | profile | checks, between the markers docs/conformance.md carries."""
    mapping = checks_by_clause()
    rows = [BEGIN, "| clause | profile | checked by |", "| --- | --- | --- |"]
    for clause in CLAUSES:
        names = ", ".join(f"`{name}`" for name in mapping.get(clause.id, ()))
        gap = f"not checked yet (the harness's {UNCHECKED.get(clause.id, '?')} checks are to come)"
        rows.append(f"| `{clause.id}` | {clause.profile} | {names or gap} |")
    rows.append(END)
    return "\n".join(rows) + "\n"


def render_contract_markdown() -> str:
    """docs/contract.md with a "Checked by" line under every clause."""
    return render_markdown(checks_by_clause=checks_by_clause())


if __name__ == "__main__":
    sys.stdout.write(render_contract_markdown() if "--contract" in sys.argv[1:] else checks_table())
