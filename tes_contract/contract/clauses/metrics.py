"""The clauses of the `metrics` profile: Prometheus exposition."""

from __future__ import annotations

from tes_contract.contract.clauses.base import Clause

_c = Clause

CLAUSES: tuple[Clause, ...] = (
    _c("METRICS-EXPOSITION", "metrics", "Prometheus text exposition",
       "`GET /api/dev/metrics` answers Prometheus text exposition format 0.0.4 "
       "(`Content-Type: text/plain; version=0.0.4`), parseable by a Prometheus parser.",
       "Parse the body with prometheus_client's text parser."),
)
