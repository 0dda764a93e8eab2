"""Checks of one HTTP answer of the status endpoint: status, headers, body schema, invariants."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from tes_contract.conformance.model import NOT_JSON, Exchange, Failure, Recorder
from tes_contract.conformance.registry import check, run_check
from tes_contract.contract.invariants import document_problems, status_invariant_problems
from tes_contract.contract.rules import STATUS_VERSION

_JSON_TYPE = re.compile(r"^application/json\s*(;.*)?$", re.IGNORECASE)
_ANSI = re.compile("\x1b\\[")

#: Clauses a schema error can cite: the field clauses the schema's descriptions name.
SCHEMA_CLAUSES = (
    "STATUS-SCHEMA-1", "STATUS-FIELD-TIMESTAMP", "STATUS-FIELD-TMUX", "STATUS-FIELD-WORKERS",
    "STATUS-FIELD-APISESSIONS", "STATUS-FIELD-WS", "STATUS-FIELD-REGION", "STATUS-FIELD-TRAFFICMODE",
    "STATUS-FIELD-ROUTES", "STATUS-FIELD-LATENCY", "STATUS-FIELD-RPS", "STATUS-FIELD-MEMORY", "STATUS-FIELD-CPU",
    "STATUS-FIELD-ERRORRATE", "STATUS-FIELD-UPTIME", "STATUS-FIELD-ENDPOINTS", "STATUS-FIELD-TELEMETRY",
    "STATUS-FIELD-VERSION", "STATUS-INV-ROUTES-EQUAL",
)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


@check("STATUS-HTTP-1")
def status_answers_200(ex: Exchange) -> Iterator[Failure]:
    """GET /api/dev/status answers 200 whatever the upstreams do."""
    if ex.status != 200:
        observed = f"status {ex.status}" if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("STATUS-HTTP-1", "status 200", observed)


@check("STATUS-HTTP-4")
def no_server_error(ex: Exchange) -> Iterator[Failure]:
    """No answer of the status endpoint is a 5xx (or no answer at all)."""
    if ex.status is None:
        yield Failure("STATUS-HTTP-4", "an answer below 500", f"no answer: {ex.error}")
    elif ex.status >= 500:
        yield Failure("STATUS-HTTP-4", "an answer below 500", f"status {ex.status}: {_short(ex.text, 200)}")


@check("STATUS-HDR-1", "STATUS-HDR-2", "STATUS-HDR-3")
def status_headers_match_contract(ex: Exchange) -> Iterator[Failure]:
    """Content-Type is JSON, Cache-Control has no-cache, X-TES-Status-Version is exactly 2.0."""
    if ex.status != 200:
        return
    content_type = ex.header("Content-Type")
    if content_type is None or not _JSON_TYPE.match(content_type.strip()):
        yield Failure("STATUS-HDR-1", "Content-Type: application/json (parameters may follow)",
                      f"Content-Type: {content_type!r}")
    cache = ex.header("Cache-Control")
    directives = [d.strip().lower() for d in (cache or "").split(",")]
    if "no-cache" not in directives:
        yield Failure("STATUS-HDR-2", "Cache-Control containing the directive no-cache", f"Cache-Control: {cache!r}")
    version = ex.header("X-TES-Status-Version")
    if version != STATUS_VERSION:
        yield Failure("STATUS-HDR-3", f"X-TES-Status-Version: {STATUS_VERSION}", f"X-TES-Status-Version: {version!r}")


@check(*SCHEMA_CLAUSES)
def body_matches_schema(ex: Exchange) -> Iterator[Failure]:
    """The body validates against EnhancedStatusData (closed objects, integers, formats)."""
    if ex.status != 200:
        return
    if ex.body is NOT_JSON:
        yield Failure("STATUS-SCHEMA-1", "a JSON body", f"not JSON: {_short(ex.text)!r}")
        return
    for problem in document_problems("status", ex.body, schema_only=True):
        yield Failure(problem.clause, f"{problem.pointer or '/'} valid per schemas/enhanced-status.json",
                      problem.message)


@check("STATUS-INV-TELEMETRY", "STATUS-INV-TRAFFIC", "STATUS-INV-ROUTES", "STATUS-INV-VERSION")
def body_keeps_invariants(ex: Exchange) -> Iterator[Failure]:
    """Every cross-field invariant holds in the body (with the version header)."""
    if ex.status != 200 or ex.body is NOT_JSON:
        return
    for problem in status_invariant_problems(ex.body, ex.header("X-TES-Status-Version")):
        yield Failure(problem.clause, f"invariant {problem.clause} at {problem.pointer}", problem.message)


@check("STATUS-FIELD-TIMESTAMP")
def timestamp_is_current(ex: Exchange, skew_s: float = 2.0) -> Iterator[Failure]:
    """The timestamp was taken while the request was in flight (within `skew_s` of the harness's clock)."""
    if ex.status != 200 or not isinstance(ex.body, dict) or not isinstance(ex.body.get("timestamp"), str):
        return
    try:
        stamp = datetime.strptime(ex.body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return  # the schema check reports the format
    if not ex.sent_at - skew_s <= stamp <= ex.received_at + skew_s:
        sent = datetime.fromtimestamp(ex.sent_at, UTC).isoformat()
        yield Failure("STATUS-FIELD-TIMESTAMP", f"a timestamp within {skew_s} s of the request (sent {sent})",
                      f"timestamp {ex.body['timestamp']}")


@check("STATUS-FIELD-MEMORY")
def memory_is_bytes(ex: Exchange) -> Iterator[Failure]:
    """memory is in bytes: more than 1 MiB for any real process."""
    memory = ex.body.get("vector", {}).get("others", {}).get("memory") if isinstance(ex.body, dict) else None
    if isinstance(memory, int) and not isinstance(memory, bool) and 0 < memory < 1 << 20:
        yield Failure("STATUS-FIELD-MEMORY", "memory in bytes (> 1 MiB for a real process)", f"memory {memory}")


@check("STATUS-HTTP-2")
def method_not_allowed_lists_get(ex: Exchange) -> Iterator[Failure]:
    """A method other than GET answers 405 with an Allow header that lists GET."""
    if ex.status != 405:
        observed = f"status {ex.status}" if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("STATUS-HTTP-2", f"{ex.method} answers 405", observed)
        return
    allow = ex.header("Allow")
    if allow is None or "GET" not in [m.strip().upper() for m in allow.split(",")]:
        yield Failure("STATUS-HTTP-2", "an Allow header listing GET", f"Allow: {allow!r}")


@check("STATUS-HTTP-3")
def query_string_ignored(ex: Exchange) -> Iterator[Failure]:
    """A GET with a query string answers like one without: 200 and a body that validates."""
    if ex.status != 200:
        yield Failure("STATUS-HTTP-3", "status 200 whatever the query string", f"status {ex.status}")
    elif ex.body is NOT_JSON or document_problems("status", ex.body, schema_only=True):
        yield Failure("STATUS-HTTP-3", "a valid status body whatever the query string",
                      f"body {_short(ex.text)!r}")


@check("ERROR-BODY")
def error_body_is_json(ex: Exchange) -> Iterator[Failure]:
    """An error answer with a JSON body matches schemas/error.json; no ANSI codes anywhere."""
    if ex.status is None or ex.status < 400:
        return
    if _ANSI.search(ex.text):
        yield Failure("ERROR-BODY", "an error body without ANSI colour codes", f"body {_short(ex.text)!r}")
    content_type = ex.header("Content-Type") or ""
    if _JSON_TYPE.match(content_type.strip()):
        if ex.body is NOT_JSON:
            yield Failure("ERROR-BODY", "a JSON error body", f"not JSON: {_short(ex.text)!r}")
            return
        for problem in document_problems("error", ex.body):
            yield Failure("ERROR-BODY", f"{problem.pointer or '/'} valid per schemas/error.json", problem.message)


@check("ERROR-BODY")
def unknown_path_answers_json_404(ex: Exchange) -> Iterator[Failure]:
    """A path no route serves (newlines and non-ASCII included) answers 404 with a JSON error body."""
    content_type = ex.header("Content-Type") or ""
    if ex.status != 404 or not _JSON_TYPE.match(content_type.strip()) or ex.body is NOT_JSON:
        observed = f"status {ex.status}, Content-Type {content_type!r}: {_short(ex.text, 120)!r}" \
            if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("ERROR-BODY", "404 with a JSON error body for a path no route serves", observed)


#: The checks run on every answer of GET /api/dev/status, in every scenario.
STATUS_RESPONSE_CHECKS = (
    no_server_error, status_answers_200, status_headers_match_contract, body_matches_schema,
    body_keeps_invariants, memory_is_bytes, error_body_is_json,
)

CHECKS = (*STATUS_RESPONSE_CHECKS, timestamp_is_current, method_not_allowed_lists_get, query_string_ignored,
          unknown_path_answers_json_404)


def run_status_checks(recorder: Recorder, exchange: Exchange, scenario: str, *, skew_s: float = 2.0,
                      context: Failure | None = None) -> list[Failure]:
    """Run every check of one status answer (the every-answer checks and the timestamp's) and record them."""
    failures: list[Failure] = []
    for func in STATUS_RESPONSE_CHECKS:
        failures += run_check(recorder, func, scenario, exchange, context=context)
    failures += run_check(recorder, timestamp_is_current, scenario, exchange, skew_s, context=context)
    return failures
