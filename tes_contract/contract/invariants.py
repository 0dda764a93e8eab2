"""Find every problem of a document: schema errors mapped to clauses, then the cross-field invariants."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from tes_contract.contract.clauses import CLAUSE_IDS
from tes_contract.contract.rules import STATUS_VERSION, traffic_mode_for
from tes_contract.contract.schemas import validator_for

_CLAUSE_IN_DESCRIPTION = re.compile(r"^([A-Z]+(?:-[A-Z0-9]+)+):")

#: Clause cited for a schema error that no field's description names, per kind.
_KIND_CLAUSE = {
    "status": "STATUS-SCHEMA-1",
    "status-push": "LIVE-MSG",
    "tmux-status": "UPSTREAM-TMUX-SHAPE",
    "worker-status": "UPSTREAM-WORKER-SHAPE",
    "worker-list": "DEV-WORKERS",
    "error": "ERROR-BODY",
}


@dataclass(frozen=True)
class Problem:
    """One way a document breaks the contract."""

    pointer: str
    clause: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Return the problem as a JSON-ready mapping."""
        return {"pointer": self.pointer, "clause": self.clause, "message": self.message}


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _clause_of(error: ValidationError, kind: str) -> str:
    description = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    match = _CLAUSE_IN_DESCRIPTION.match(description)
    if match and match.group(1) in CLAUSE_IDS:
        return match.group(1)
    return _KIND_CLAUSE[kind]


def _schema_problems(kind: str, document: Any) -> Iterator[Problem]:
    errors = sorted(validator_for(kind).iter_errors(document), key=lambda e: (list(e.absolute_path), e.message))
    for error in errors:
        yield Problem(_pointer(error.absolute_path), _clause_of(error, kind), error.message)


def _get(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def status_invariant_problems(body: Any, header_version: str | None = None, prefix: str = "") -> Iterator[Problem]:
    """Yield every broken cross-field invariant of one EnhancedStatusData body."""
    workers = _get(body, "vector", "sessions", "activeWorkers")
    telemetry = _get(body, "meta", "telemetryStatus")
    if _is_number(workers) and telemetry in ("healthy", "degraded", "offline"):
        if (telemetry == "healthy") != (workers > 0):
            yield Problem(
                f"{prefix}/meta/telemetryStatus", "STATUS-INV-TELEMETRY",
                f"telemetryStatus is {telemetry!r} but activeWorkers is {workers}: healthy exactly when "
                "activeWorkers > 0",
            )
    rate = _get(body, "vector", "others", "errorRate")
    mode = _get(body, "vector", "directions", "trafficMode")
    if _is_number(rate) and 0 <= rate <= 1 and isinstance(mode, str):
        expected = traffic_mode_for(rate)
        if mode != expected:
            yield Problem(
                f"{prefix}/vector/directions/trafficMode", "STATUS-INV-TRAFFIC",
                f"trafficMode is {mode!r} but errorRate {rate} gives {expected!r} "
                "(normal < 0.10 <= degraded <= 0.50 < isolated)",
            )
    flow_active = _get(body, "vector", "directions", "requestFlow", "activeRoutes")
    flow_total = _get(body, "vector", "directions", "requestFlow", "totalRoutes")
    if _is_number(flow_active) and _is_number(flow_total) and flow_active > flow_total:
        yield Problem(
            f"{prefix}/vector/directions/requestFlow/activeRoutes", "STATUS-INV-ROUTES",
            f"activeRoutes {flow_active} exceeds totalRoutes {flow_total}",
        )
    direction_active = _get(body, "vector", "directions", "activeRoutes")
    if _is_number(flow_active) and _is_number(direction_active) and flow_active != direction_active:
        yield Problem(
            f"{prefix}/vector/directions/activeRoutes", "STATUS-INV-ROUTES-EQUAL",
            f"directions.activeRoutes {direction_active} differs from requestFlow.activeRoutes {flow_active}",
        )
    version = _get(body, "meta", "statusVersion")
    if header_version is not None and version != header_version:
        yield Problem(
            f"{prefix}/meta/statusVersion", "STATUS-INV-VERSION",
            f"statusVersion {version!r} differs from the X-TES-Status-Version header {header_version!r}",
        )
    elif header_version is None and version is not None and version != STATUS_VERSION:
        yield Problem(f"{prefix}/meta/statusVersion", "STATUS-INV-VERSION",
                      f"statusVersion is {version!r}, not {STATUS_VERSION!r}")


def document_problems(kind: str, document: Any, *, schema_only: bool = False,
                      header_version: str | None = None) -> list[Problem]:
    """Return every problem of one document of `kind`: schema first, then (unless `schema_only`) invariants."""
    problems = list(_schema_problems(kind, document))
    if not schema_only:
        if kind == "status":
            problems.extend(status_invariant_problems(document, header_version))
        elif kind == "status-push":
            problems.extend(status_invariant_problems(_get(document, "data"), header_version, prefix="/data"))
    return problems
