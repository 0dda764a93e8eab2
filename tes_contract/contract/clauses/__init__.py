"""The numbered clauses of contract v2.0: one source of truth for docs/contract.md and for the checks.

One module per profile (`core`, `live`, `dev`, `metrics`, `history`), each a tuple `CLAUSES`; this package joins them.
"""

from __future__ import annotations

from tes_contract.contract.clauses import core, dev, history, live, metrics
from tes_contract.contract.clauses.base import FAMILIES, PROFILE_DESCRIPTIONS, PROFILES, Clause

CLAUSES: tuple[Clause, ...] = (*core.CLAUSES, *live.CLAUSES, *dev.CLAUSES, *metrics.CLAUSES, *history.CLAUSES)
CLAUSE_IDS: frozenset[str] = frozenset(c.id for c in CLAUSES)
BY_ID: dict[str, Clause] = {c.id: c for c in CLAUSES}


def family_of(id: str) -> str:
    """Return the family prefix of a clause id (`STATUS-INV-ROUTES-EQUAL` -> `STATUS-INV`); ValueError if none."""
    prefixes = [prefix for prefix, _ in FAMILIES if id == prefix or id.startswith(prefix + "-")]
    if not prefixes:
        raise ValueError(f"clause id {id!r} belongs to no family ({', '.join(p for p, _ in FAMILIES)})")
    return max(prefixes, key=len)


def clause(id: str) -> Clause:
    """Return the clause with this id; KeyError names an unknown id."""
    try:
        return BY_ID[id]
    except KeyError:
        raise KeyError(f"unknown contract clause {id!r}") from None


__all__ = ["BY_ID", "CLAUSES", "CLAUSE_IDS", "Clause", "FAMILIES", "PROFILES", "PROFILE_DESCRIPTIONS", "base", "clause",
           "core", "dev", "family_of", "history", "live", "metrics"]
