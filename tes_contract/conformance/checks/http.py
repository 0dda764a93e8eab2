"""Checks of the HTTP surface schemathesis drives: its own checks mapped to our clauses, and dropped answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check

_HEADER_CLAUSE = {"content-type": "STATUS-HDR-1", "cache-control": "STATUS-HDR-2",
                  "x-tes-status-version": "STATUS-HDR-3"}
#: Clause of a schemathesis failure per profile of the operation, when no finer mapping applies.
_PROFILE_CLAUSE = {"core": "STATUS-SCHEMA-1", "metrics": "METRICS-EXPOSITION", "live": "LIVE-CONNECT"}
_DEV_CLAUSE = {"/api/dev/tmux/status": "DEV-TMUX-STATUS", "/api/dev/workers": "DEV-WORKERS",
               "/api/dev/status/history": "HISTORY-QUERY", "/api/dev/events": "EVENTS-QUERY"}
#: The status clauses a schemathesis case of the status endpoint tests: GET ones, and the rest (405).
_STATUS_GET_CLAUSES = ("STATUS-HTTP-1", "STATUS-HTTP-4", "STATUS-HDR-1", "STATUS-HDR-2", "STATUS-HDR-3",
                       "STATUS-SCHEMA-1")


def clause_of_failure(failure: Any, profile: str, path: str, exchange: Exchange) -> str:
    """The clause a schemathesis failure on an operation of `profile` at `path` breaks."""
    if profile in ("dev", "history"):
        return _DEV_CLAUSE.get(path, "DEV-WORKERS")
    if profile != "core":
        return _PROFILE_CLAUSE.get(profile, "STATUS-SCHEMA-1")
    kind = type(failure).__name__
    if kind in ("ServerError", "ContentTypeServerError"):
        return "STATUS-HTTP-4"
    if kind == "UndefinedStatusCode":
        return "STATUS-HTTP-1"
    if kind in ("UnsupportedMethodResponse", "AllowHeaderMismatch"):
        return "STATUS-HTTP-2"
    if kind in ("MissingContentType", "MalformedMediaType", "UndefinedContentType"):
        return "STATUS-HDR-1"
    if kind == "MissingHeaders":
        return _HEADER_CLAUSE.get(str(failure.missing_headers[0]).lower(), "STATUS-HDR-3")
    if kind == "JsonSchemaError" and "header" in failure.title.lower():
        for name, clause in _HEADER_CLAUSE.items():
            if exchange.header(name) == failure.instance:
                return clause
        return "STATUS-HDR-3"
    return "STATUS-SCHEMA-1"


def clauses_tested(profile: str, path: str, exchange: Exchange) -> tuple[str, ...]:
    """The clauses one schemathesis case tests, by the operation's profile and the case's method."""
    if profile == "core":
        return _STATUS_GET_CLAUSES if exchange.method == "GET" else ("STATUS-HTTP-2",)
    if profile in ("dev", "history"):
        return (_DEV_CLAUSE.get(path, "DEV-WORKERS"),)
    return (_PROFILE_CLAUSE[profile],)


@check("STATUS-HTTP-1", "STATUS-HTTP-2", "STATUS-HTTP-4", "STATUS-HDR-1", "STATUS-HDR-2", "STATUS-HDR-3",
       "STATUS-SCHEMA-1", "METRICS-EXPOSITION", "DEV-TMUX-STATUS", "DEV-WORKERS", "LIVE-CONNECT",
       "HISTORY-QUERY", "EVENTS-QUERY")
def schemathesis_checks_pass(case: Any, response: Any, exchange: Exchange, operation: Any) -> Iterator[Failure]:
    """schemathesis's checks (no 5xx, status, headers, content type, schema, unsupported methods) pass."""
    from schemathesis import checks as st_checks
    from schemathesis.core.failures import FailureGroup

    profile = operation.definition.raw.get("x-tes-profile", "core")
    selected = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
                st_checks.response_headers_conformance, st_checks.response_schema_conformance,
                st_checks.unsupported_method]
    try:
        case.validate_response(response, checks=selected)
    except FailureGroup as group:
        for failure in group.exceptions:
            yield Failure(clause_of_failure(failure, profile, operation.path, exchange),
                          f"schemathesis {failure.title!r} passes", " ".join(str(failure.message).split())[:400])
    except AssertionError as exc:  # a single failure, depending on the schemathesis version
        yield Failure(clause_of_failure(exc, profile, operation.path, exchange), "schemathesis checks pass",
                      " ".join(str(exc).split())[:400])


@check("STATUS-HTTP-4")
def server_answers(error: str) -> Iterator[Failure]:
    """The server answers every request (no dropped connection, no stall)."""
    yield Failure("STATUS-HTTP-4", "an answer", f"no answer: {error}")


CHECKS = (schemathesis_checks_pass, server_answers)
