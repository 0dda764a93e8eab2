"""Find every problem of a document: schema errors mapped to clauses, then the cross-field invariants."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from tes_contract.contract.clauses import CLAUSE_IDS
from tes_contract.contract.formats import json_pointer
from tes_contract.contract.rules import traffic_mode_for
from tes_contract.contract.schemas import fast_validator_for, validator_for
from tes_contract.errors import ToolError

_CLAUSE_IN_DESCRIPTION = re.compile(r"^([A-Z]+(?:-[A-Z0-9]+)+):")

#: Clause cited for a schema error that no field's description names, per kind.
_KIND_CLAUSE = {
    "status": "STATUS-SCHEMA-1",
    "status-push": "LIVE-DATA",
    "tmux-status": "UPSTREAM-TMUX-SHAPE",
    "worker-status": "UPSTREAM-WORKER-SHAPE",
    "worker-list": "DEV-WORKERS",
    "error": "ERROR-BODY",
    "status-history": "HISTORY-QUERY",
    "events": "EVENTS-QUERY",
    "alert": "ALERT-SHAPE",
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


def _leading_clause(subschema: Any) -> str | None:
    description = subschema.get("description", "") if isinstance(subschema, dict) else ""
    match = _CLAUSE_IN_DESCRIPTION.match(description)
    return match.group(1) if match and match.group(1) in CLAUSE_IDS else None


def _clause_of(error: ValidationError, kind: str) -> str:
    """Cite the most specific clause: the one a description names, else the kind's shape clause.

    The failing subschema's description decides; for a missing key, the missing property's own description
    (so a worker body without `connected` cites UPSTREAM-WORKER-VALID, not the shape clause).
    """
    if error.validator == "required" and isinstance(error.schema, dict) and isinstance(error.validator_value, list):
        properties = error.schema.get("properties", {})
        for name in error.validator_value:
            if error.message == f"{name!r} is a required property":
                found = _leading_clause(properties.get(name))
                if found:
                    return found
    return _leading_clause(error.schema) or _KIND_CLAUSE[kind]


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "object"), (type(None), "null"))


def _show(value: Any, limit: int = 60) -> str:
    """The value as JSON (not Python repr: `true`, not `True`), shortened for a message."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plain_message(error: ValidationError) -> str:
    """jsonschema's message, in JSON words where it would show Python reprs to a reader."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "type":
        got = next((name for cls, name in _JSON_TYPES if isinstance(error.instance, cls)),
                   type(error.instance).__name__)
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        message = f"expected {expected_text}, got {got} {_show(error.instance)}"
        if got == "boolean" and expected_text in ("integer", "number"):
            message += " (a JSON boolean is not a number)"
        return message
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = [name for name in error.validator_value if error.message == f"{name!r} is a required property"]
        if missing:
            return f"missing required key {_show(missing[0])}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = schema.get("properties", {})
        unknown = [key for key in error.instance if key not in known]
        if unknown:
            keys = ", ".join(_show(key) for key in unknown)
            return f"unknown key{'s' if len(unknown) > 1 else ''} {keys} (the object is closed)"
    if error.validator == "const":
        return f"expected {_show(error.validator_value)}, got {_show(error.instance)}"
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return f"{_show(error.instance)} is not one of {', '.join(_show(v) for v in error.validator_value)}"
    if error.validator == "pattern":
        example = schema.get("examples", [None])[0]
        hint = f", e.g. {_show(example)}" if example is not None else ""
        return f"{_show(error.instance)} does not match the pattern {error.validator_value}{hint}"
    return error.message


def _schema_problems(kind: str, document: Any) -> Iterator[Problem]:
    errors = sorted(validator_for(kind).iter_errors(document), key=lambda e: (list(e.absolute_path), e.message))
    for error in errors:
        yield Problem(json_pointer(error.absolute_path), _clause_of(error, kind), plain_message(error))


def _non_finite_problems(kind: str, document: Any, path: tuple[Any, ...] = ()) -> Iterator[Problem]:
    # Python's json module accepts NaN and Infinity; JSON does not, and NaN slips past every range keyword.
    if isinstance(document, float) and not math.isfinite(document):
        yield Problem(json_pointer(path), _KIND_CLAUSE[kind], f"{document!r} is not a JSON number")
    elif isinstance(document, dict):
        for key, value in document.items():
            yield from _non_finite_problems(kind, value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _non_finite_problems(kind, value, (*path, index))


def field(document: Any, *path: str) -> Any:
    """Return document[path[0]][path[1]]..., or None where a key is missing."""
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _count(value: Any) -> bool:
    """True for a value that passes its field's schema as a count: an integer-valued number >= 0, not a bool."""
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and value >= 0 and value == int(value))


def _rate(value: Any) -> bool:
    """True for a value that passes the errorRate schema: a finite number in [0, 1], not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


_TRAFFIC_MODES = ("normal", "degraded", "isolated")
_TELEMETRY = ("healthy", "degraded", "offline")


def status_invariant_problems(body: Any, header_version: str | None = None, prefix: str = "") -> Iterator[Problem]:
    """Yield every broken cross-field invariant of one EnhancedStatusData body.

    An invariant is judged only when the fields it relates each pass their own schema: a field that is
    already wrong is reported once, under its field clause, not again as a broken invariant.
    `header_version` is the `X-TES-Status-Version` header of the answer, when there is one (STATUS-INV-VERSION);
    that `statusVersion` is "2.0" is the schema's business (STATUS-FIELD-VERSION).
    """
    workers = field(body, "vector", "sessions", "activeWorkers")
    telemetry = field(body, "meta", "telemetryStatus")
    if _count(workers) and telemetry in _TELEMETRY and (telemetry == "healthy") != (workers > 0):
        yield Problem(
            f"{prefix}/meta/telemetryStatus", "STATUS-INV-TELEMETRY",
            f"telemetryStatus is {telemetry!r} but activeWorkers is {workers}: healthy exactly when "
            "activeWorkers > 0",
        )
    rate = field(body, "vector", "others", "errorRate")
    mode = field(body, "vector", "directions", "trafficMode")
    if _rate(rate) and mode in _TRAFFIC_MODES:
        expected = traffic_mode_for(rate)
        if mode != expected:
            yield Problem(
                f"{prefix}/vector/directions/trafficMode", "STATUS-INV-TRAFFIC",
                f"trafficMode is {mode!r} but errorRate {rate} gives {expected!r} "
                "(normal < 0.10 <= degraded <= 0.50 < isolated)",
            )
    flow_active = field(body, "vector", "directions", "requestFlow", "activeRoutes")
    flow_total = field(body, "vector", "directions", "requestFlow", "totalRoutes")
    if _count(flow_active) and _count(flow_total) and flow_active > flow_total:
        yield Problem(
            f"{prefix}/vector/directions/requestFlow/activeRoutes", "STATUS-INV-ROUTES",
            f"activeRoutes {flow_active} exceeds totalRoutes {flow_total}",
        )
    direction_active = field(body, "vector", "directions", "activeRoutes")
    if _count(flow_active) and _count(direction_active) and flow_active != direction_active:
        yield Problem(
            f"{prefix}/vector/directions/activeRoutes", "STATUS-INV-ROUTES-EQUAL",
            f"directions.activeRoutes {direction_active} differs from requestFlow.activeRoutes {flow_active}",
        )
    version = field(body, "meta", "statusVersion")
    if header_version is not None and version != header_version:
        yield Problem(
            f"{prefix}/meta/statusVersion", "STATUS-INV-VERSION",
            f"statusVersion {version!r} differs from the X-TES-Status-Version header {header_version!r}",
        )


def document_problems(kind: str, document: Any, *, schema_only: bool = False,
                      header_version: str | None = None) -> list[Problem]:
    """Return every problem of one document of `kind`: schema first, then (unless `schema_only`) invariants."""
    if kind not in _KIND_CLAUSE:
        raise ToolError(f"unknown kind {kind!r}; kinds: {', '.join(sorted(_KIND_CLAUSE))}")
    problems = [*_non_finite_problems(kind, document), *_schema_problems(kind, document)]
    if not schema_only:
        if kind == "status":
            problems.extend(status_invariant_problems(document, header_version))
        elif kind == "status-push":
            problems.extend(status_invariant_problems(field(document, "data"), header_version, prefix="/data"))
    return problems


def _has_non_finite(document: Any) -> bool:
    if isinstance(document, float):
        return not math.isfinite(document)
    if isinstance(document, dict):
        return any(_has_non_finite(value) for value in document.values())
    if isinstance(document, list):
        return any(_has_non_finite(value) for value in document)
    return False


#: Kinds whose schema types every value (closed objects, typed leaves): jsonschema-rs already rejects NaN and
#: Infinity there, as it cannot represent them, so the walk for them is skipped. `error` allows extra keys.
_FULLY_TYPED = frozenset({"status", "status-push", "tmux-status", "worker-status", "worker-list", "status-history",
                          "events", "alert"})


def _status_invariants_hold(body: Any, header_version: str | None) -> bool:
    """status_invariant_problems(body) is empty, for a body that already passed the schema (so no checks)."""
    vector, meta = body["vector"], body["meta"]
    directions = vector["directions"]
    flow = directions["requestFlow"]
    return ((meta["telemetryStatus"] == "healthy") == (vector["sessions"]["activeWorkers"] > 0)
            and traffic_mode_for(vector["others"]["errorRate"]) == directions["trafficMode"]
            and flow["activeRoutes"] <= flow["totalRoutes"]
            and directions["activeRoutes"] == flow["activeRoutes"]
            and (header_version is None or meta["statusVersion"] == header_version))


def is_valid_document(kind: str, document: Any, *, schema_only: bool = False,
                      header_version: str | None = None) -> bool:
    """True exactly when `document_problems` would find nothing, decided fast (jsonschema-rs for the schema).

    Use it to skip the slow, explaining path for the documents that are fine; the property tests prove the
    two verdicts agree.
    """
    if kind not in _KIND_CLAUSE:
        raise ToolError(f"unknown kind {kind!r}; kinds: {', '.join(sorted(_KIND_CLAUSE))}")
    if not fast_validator_for(kind)(document):
        return False
    if kind not in _FULLY_TYPED and _has_non_finite(document):
        return False
    if schema_only:
        return True
    if kind == "status":
        return _status_invariants_hold(document, header_version)
    if kind == "status-push":
        return _status_invariants_hold(document["data"], header_version)
    return True
