"""`--report html:PATH`: one self-contained HTML file (inline CSS, no script, no CDN) of a run.

Rendered with Jinja2 with autoescaping on: every string that came from the server under test (observed
values, bodies, its output) is untrusted and reaches the page as text, never as markup.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from tes_contract.conformance.model import ConformanceResult
from tes_contract.conformance.report import clause_rows
from tes_contract.errors import ConfigError

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_STATUSES = ("passed", "failed", "not implemented", "not checked")


def _environment() -> jinja2.Environment:
    # autoescape=True for every template (select_autoescape would miss the .html.j2 suffix).
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _summary(rows: list[dict[str, Any]], profiles: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for profile in profiles:
        mine = [r for r in rows if r["profile"] == profile]
        out.append({"profile": profile, "clauses": len(mine),
                    **{s.replace(" ", "_"): sum(1 for r in mine if r["status"] == s) for s in _STATUSES}})
    return out


def _matrix(result: ConformanceResult, rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Scenario columns and, per clause, one cell per scenario (None where the clause was not checked)."""
    scenarios = sorted({scenario for _, scenario in result.outcomes})
    matrix = []
    for row in rows:
        cells = []
        for scenario in scenarios:
            outcome = result.outcomes.get((row["clause"], scenario))
            cells.append(None if outcome is None else {"status": outcome.status, "failures": len(outcome.failures)})
        matrix.append({**row, "cells": cells})
    return scenarios, matrix


def _failures(result: ConformanceResult) -> list[dict[str, Any]]:
    return [{**f.as_dict(), "payload_json": None if f.payload is None else json.dumps(f.payload, indent=2,
                                                                                      sort_keys=True, default=str)}
            for f in result.failures]


def html_report_paths(specs: list[str]) -> tuple[list[Path], list[str]]:
    """Split `--report` values into the `html:PATH` paths and the others (json, junit)."""
    paths, others = [], []
    for spec in specs:
        kind, sep, path = spec.partition(":")
        if kind == "html":
            if not sep or not path:
                raise ConfigError(f"--report {spec!r}: expected html:PATH")
            paths.append(Path(path))
        else:
            others.append(spec)
    return paths, others


def render_html(result: ConformanceResult, *, timeline: list[dict[str, Any]] | None = None) -> str:
    """The report of `result` as one HTML document; `timeline` is `RunLog.timeline()` of the run."""
    rows = clause_rows(result)
    scenarios, matrix = _matrix(result, rows)
    template = _environment().get_template("report.html.j2")
    return template.render(
        result=result, verdict="FAILED" if result.exit_code else "PASSED", rows=rows,
        summary=_summary(rows, result.profiles), scenarios=scenarios, matrix=matrix,
        failures=_failures(result), timeline=timeline or [], servers=result.servers,
        generated=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_html(result: ConformanceResult, path: Path, *, timeline: list[dict[str, Any]] | None = None) -> None:
    """Write the HTML report to `path` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result, timeline=timeline), encoding="utf-8")
