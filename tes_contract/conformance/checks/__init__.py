"""The checks: small functions that yield failures, each tagged with the clauses it tests.

Registered here explicitly, one list per profile: a check that is not in `CHECKS` is no check of the
harness (a test keeps every `@check` of these modules registered), and two checks may not share a name.
"""

from __future__ import annotations

from tes_contract.conformance.checks import (
    across,
    alerts,
    dev,
    history,
    http,
    live,
    metrics,
    process,
    response,
    traffic,
    upstream,
)
from tes_contract.conformance.registry import Registry

#: The checks of each profile (a check of one profile may also cite clauses of another, as schemathesis's do).
PROFILE_CHECKS = {
    "core": (*response.CHECKS, *across.CHECKS, *traffic.CHECKS, *upstream.CHECKS, *http.CHECKS, *process.CHECKS),
    "live": live.CHECKS,
    "dev": dev.CHECKS,
    "metrics": metrics.CHECKS,
    "history": (*history.CHECKS, *alerts.CHECKS),
}

#: Every check of the harness.
CHECKS = Registry(func for funcs in PROFILE_CHECKS.values() for func in funcs)

__all__ = ["CHECKS", "PROFILE_CHECKS", "across", "alerts", "dev", "history", "http", "live", "metrics", "process",
           "response", "traffic", "upstream"]
