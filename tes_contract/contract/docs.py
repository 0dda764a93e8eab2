"""Render the contract's clauses as markdown: docs/contract.md, so the document and the checks cite one source.

The checked-in file also carries each clause's checks, which only the harness knows: regenerate it with
`python -m tes_contract.conformance.docs --contract > docs/contract.md` (a test fails when they differ).
Run as a module, this prints the clauses alone, without the checks.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from tes_contract.contract.clauses import (
    CLAUSE_IDS,
    CLAUSES,
    FAMILIES,
    PROFILE_DESCRIPTIONS,
    PROFILES,
    Clause,
    family_of,
)
from tes_contract.contract.rules import DEFAULT_TIMEOUT_MS, ENVIRONMENT, RECOVERY_S, STATUS_VERSION
from tes_contract.contract.schemas import KINDS

REGENERATE = "python -m tes_contract.conformance.docs --contract > docs/contract.md"

_INTRO = f"""\
# TES Enhanced Status API — contract v{STATUS_VERSION}

<!-- Generated from tes_contract/contract/clauses.py and the conformance checks' registry by `{REGENERATE}`.
     Do not edit by hand: tests/test_contract_docs.py fails when this file and the clauses differ. -->

`GET /api/dev/status` answers one JSON document, `EnhancedStatusData`, that aggregates tmux sessions,
worker telemetry, request-flow metrics and process metrics. The seed document describes it loosely and the
original implementation contradicted it; contract v{STATUS_VERSION} pins every decision as a numbered,
testable clause below. The clause ids are stable: checks cite them, `tes-contract validate` prints them
next to each problem, and JSON Schema descriptions start with the id of the clause they pin.

## What v{STATUS_VERSION} pins

- **The answer**: status 200, `Content-Type: application/json`, `Cache-Control` with `no-cache`,
  `X-TES-Status-Version: {STATUS_VERSION}`; other methods answer 405 with `Allow`; query parameters are ignored.
- **The body**: `schemas/enhanced-status.json` (JSON Schema 2020-12), every object closed except the
  optional `vector.sessions.websocketSubscribers`; integers where counts are (a JSON boolean is not an
  integer); `timestamp` RFC 3339 UTC with milliseconds and `Z`; units (`cpu` in ms, `uptime` in s,
  `memory` in bytes, `avgLatency` in ms); the 60 s window of `errorRate`, `avgLatency` and
  `requestsPerSecond`; the exact `trafficMode` boundaries (normal < 0.10 <= degraded <= 0.50 < isolated).
- **The invariants**: `telemetryStatus == "healthy"` exactly when `activeWorkers > 0`; trafficMode
  matches errorRate; `activeRoutes <= totalRoutes`; `directions.activeRoutes == requestFlow.activeRoutes`;
  timestamp, uptime and cpu never decrease across answers.
- **The upstreams**: both called concurrently, each at most once per status request, each bounded by
  `TES_UPSTREAM_TIMEOUT_MS` (default {DEFAULT_TIMEOUT_MS}) over connect, headers and body; one upstream's
  failure never changes the other's fields nor causes a 5xx; recovery shows within {RECOVERY_S:g} s. Their
  APIs are `upstreams.openapi.yaml`, and what counts as a valid upstream body is pinned so every
  implementation agrees.
- **The profiles** beyond `core`: `live`, `dev`, `metrics` (below).

Machine-readable: `openapi.yaml`, `upstreams.openapi.yaml`, `schemas/*.json`, and the clause list
`tes_contract.contract.CLAUSES`. Document kinds `tes-contract validate --kind` knows:
{", ".join(f"`{kind}` (`schemas/{name}`)" for kind, name in KINDS.items())}.

## How a server under test is configured

A server run by the conformance harness (the reference server too) reads these environment variables
(clause CONFIG-ENV):

| variable | default | meaning |
| --- | --- | --- |
"""

_READING = """\
## Reading a clause

Each clause has an id, a profile and a title, then:

- **Must**: what an implementation MUST do.
- **Observed**: how a check (or `tes-contract validate`) observes it from outside the server.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _checks_line(clause: Clause, checks_by_clause: Mapping[str, Sequence[str]]) -> str:
    checks = checks_by_clause.get(clause.id, ())
    names = ", ".join(f"`{name}`" for name in checks) if checks else "none yet"
    return f"**Checked by:** {names}\n"


def _clause_section(clause: Clause, checks_by_clause: Mapping[str, Sequence[str]] | None) -> str:
    text = f"#### `{clause.id}` — {clause.title}\n\n**Must:** {clause.must}\n\n**Observed:** {clause.observed}\n"
    if checks_by_clause is not None:
        text += "\n" + _checks_line(clause, checks_by_clause)
    return text


def render_markdown(checks_by_clause: Mapping[str, Sequence[str]] | None = None) -> str:
    """Return docs/contract.md: the intro, then every clause grouped by profile and family.

    Args:
        checks_by_clause: clause id -> names of the checks that test it; when given, each clause shows a
            "Checked by" line (or "none yet") and the index a column. Unknown clause ids raise ValueError.

    Example:
        >>> "STATUS-HDR-3" in render_markdown()
        True
    """
    if checks_by_clause is not None:
        unknown = sorted(set(checks_by_clause) - CLAUSE_IDS)
        if unknown:
            raise ValueError(f"checks cite unknown clause ids: {', '.join(unknown)}")
    parts = [_INTRO]
    parts.append("".join(f"| `{name}` | {_cell(default)} | {_cell(meaning)} |\n"
                         for name, default, meaning in ENVIRONMENT))
    parts.append("\n## Profiles\n\nConformance is reported per profile.\n\n")
    for profile in PROFILES:
        count = sum(c.profile == profile for c in CLAUSES)
        noun = "clause" if count == 1 else "clauses"
        parts.append(f"- **{profile}** ({count} {noun}): {PROFILE_DESCRIPTIONS[profile]}\n")
    parts.append("\n" + _READING + "\n## Index\n\n")
    if checks_by_clause is None:
        parts.append("| id | profile | title |\n| --- | --- | --- |\n")
        parts.extend(f"| [`{c.id}`](#{_anchor(c)}) | {c.profile} | {_cell(c.title)} |\n" for c in CLAUSES)
    else:
        parts.append("| id | profile | title | checks |\n| --- | --- | --- | --- |\n")
        parts.extend(f"| [`{c.id}`](#{_anchor(c)}) | {c.profile} | {_cell(c.title)} | "
                     f"{len(checks_by_clause.get(c.id, ()))} |\n" for c in CLAUSES)
    titles = dict(FAMILIES)
    for profile in PROFILES:
        parts.append(f"\n## Profile `{profile}`\n")
        for prefix, _ in FAMILIES:
            members = [c for c in CLAUSES if c.profile == profile and family_of(c.id) == prefix]
            if not members:
                continue
            parts.append(f"\n### {prefix} — {titles[prefix]}\n")
            parts.extend("\n" + _clause_section(c, checks_by_clause) for c in members)
    return "".join(parts)


def _anchor(clause: Clause) -> str:
    """GitHub's anchor of the clause's heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = f"{clause.id} — {clause.title}".lower()
    kept = "".join(ch for ch in heading if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
