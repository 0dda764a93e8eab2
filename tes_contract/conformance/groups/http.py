"""The HTTP surface, driven by schemathesis over the operations of the profiles under test.

Property-based: Hypothesis draws schemathesis cases with random query strings (which must be ignored);
schemathesis's coverage phase sends the methods the spec does not declare (which must answer 405 with
`Allow`). Every answer goes through schemathesis's own checks, mapped to our clause ids, and ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tes_contract.conformance.checks.response import (
    error_body_is_json,
    method_not_allowed_lists_get,
    query_string_ignored,
)
from tes_contract.conformance.groups.base import GroupContext, Stopped
from tes_contract.conformance.model import NOT_JSON, Exchange, Failure, run_check
from tes_contract.conformance.registry import check
from tes_contract.contract.schemas import openapi_path

#: Methods the status path must refuse (the clause's list; HEAD may be served, OPTIONS may be CORS).
REFUSED_METHODS = ("PUT", "POST", "DELETE", "PATCH")
_HEADER_CLAUSE = {"content-type": "STATUS-HDR-1", "cache-control": "STATUS-HDR-2",
                  "x-tes-status-version": "STATUS-HDR-3"}
#: Clause of a schemathesis failure per profile of the operation, when no finer mapping applies.
_PROFILE_CLAUSE = {"core": "STATUS-SCHEMA-1", "metrics": "METRICS-EXPOSITION", "live": "LIVE-CONNECT"}
_DEV_CLAUSE = {"/api/dev/tmux/status": "DEV-TMUX-STATUS", "/api/dev/workers": "DEV-WORKERS",
               "/api/dev/workers/{id}/snapshot": "DEV-SNAPSHOT"}

_QUERY = st.dictionaries(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8),
                         st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=12), max_size=3)


def load_schema() -> Any:
    """The bundled OpenAPI document as a schemathesis schema, loaded afresh: a schema remembers which
    undeclared methods its coverage phase already sent, and a second run would send none."""
    return schemathesis.openapi.from_path(openapi_path())


def operations(profiles: tuple[str, ...], schema: Any = None) -> list[Any]:
    """The operations the spec tags with one of `profiles` (x-tes-profile)."""
    found = []
    for result in (schema or load_schema()).get_all_operations():
        operation = result.ok()
        if operation is not None and operation.definition.raw.get("x-tes-profile") in profiles:
            found.append(operation)
    return found


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    """schemathesis keeps headers as {name: [values]}; requests as {name: value}."""
    pairs = []
    for name, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), str(item)))
    return pairs


def _exchange(response: Any, started: float) -> Exchange:
    exchange = Exchange(response.request.method, response.request.url, sent_at=started, received_at=time.time(),
                        status=response.status_code, headers=_header_pairs(response.headers), text=response.text)
    try:
        exchange.body = response.json()
    except ValueError:
        exchange.body = NOT_JSON
    return exchange


def _clause_of(failure: Any, operation: Any, exchange: Exchange) -> str:
    profile = operation.definition.raw.get("x-tes-profile", "core")
    if profile == "dev":
        return _DEV_CLAUSE.get(operation.path, "DEV-WORKERS")
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


@check("STATUS-HTTP-1", "STATUS-HTTP-2", "STATUS-HTTP-4", "STATUS-HDR-1", "STATUS-HDR-2", "STATUS-HDR-3",
       "STATUS-SCHEMA-1", "METRICS-EXPOSITION", "DEV-TMUX-STATUS", "DEV-WORKERS", "DEV-SNAPSHOT", "LIVE-CONNECT")
def schemathesis_checks_pass(case: Any, response: Any, exchange: Exchange, operation: Any) -> Iterator[Failure]:
    """schemathesis's checks (no 5xx, status, headers, content type, schema, unsupported methods) pass."""
    selected = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
                st_checks.response_headers_conformance, st_checks.response_schema_conformance,
                st_checks.unsupported_method]
    try:
        case.validate_response(response, checks=selected)
    except FailureGroup as group:
        for failure in group.exceptions:
            yield Failure(_clause_of(failure, operation, exchange), f"schemathesis {failure.title!r} passes",
                          " ".join(str(failure.message).split())[:400])
    except AssertionError as exc:  # a single failure, depending on the schemathesis version
        yield Failure(_clause_of(exc, operation, exchange), "schemathesis checks pass",
                      " ".join(str(exc).split())[:400])


def _run_operation(ctx: GroupContext, operation: Any, base_url: str) -> None:
    """Blocking: the property-based run of one operation (in a worker thread)."""
    profile = operation.definition.raw.get("x-tes-profile", "core")
    is_status = operation.path == "/api/dev/status"
    session = requests.Session()
    scenario = ctx.scenario(f"{operation.method.upper()} {operation.path}")

    def judge(case: Any, response: Any, started: float, name: str) -> Exchange:
        exchange = _exchange(response, started)
        ctx.recorder.count_exchange()
        relevant = _clauses_for(profile, operation.path, exchange)
        ctx.check(schemathesis_checks_pass, name, case, response, exchange, operation, clauses=relevant)
        ctx.check(error_body_is_json, name, exchange)
        if is_status and exchange.method == "GET":
            ctx.client.check_status_answer(exchange, name, seed=ctx.seed)
        return exchange

    @seed(ctx.seed)
    @settings(max_examples=ctx.examples, database=None, deadline=None, print_blob=False,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), query=_QUERY)
    def fuzz(case: Any, query: dict[str, str]) -> None:
        if ctx.stop.is_set():
            raise Stopped
        started = time.time()
        name = scenario + (" ?query" if query else "")
        try:
            response = case.call(base_url=base_url, session=session, params=query or None, timeout=30)
        except requests.RequestException as exc:
            _no_answer(ctx, name, case, exc)
            return
        exchange = judge(case, response, started, name)
        if is_status and query:
            ctx.check(query_string_ignored, ctx.scenario("query-string"), exchange)

    fuzz()
    if not is_status:
        return
    schema = operation.schema
    config = schema.config.generation_for(operation=operation)
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]  # undeclared methods come with the negative ones
    for case in schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config):
        if case.method.upper() not in REFUSED_METHODS:
            continue
        if ctx.stop.is_set():
            raise Stopped
        started = time.time()
        name = ctx.scenario(f"{case.method.upper()} {operation.path}")
        try:
            response = case.call(base_url=base_url, session=session, timeout=30)
        except requests.RequestException as exc:
            _no_answer(ctx, name, case, exc)
            continue
        exchange = judge(case, response, started, name)
        ctx.check(method_not_allowed_lists_get, name, exchange)
    session.close()


@check("STATUS-HTTP-4")
def server_answers(error: str) -> Iterator[Failure]:
    """The server answers every request (no dropped connection, no stall)."""
    yield Failure("STATUS-HTTP-4", "an answer", f"no answer: {error}")


def _no_answer(ctx: GroupContext, scenario: str, case: Any, exc: Exception) -> None:
    context = Failure("", "", "", curl=case.as_curl_command(), seed=ctx.seed)
    run_check(ctx.recorder, server_answers, scenario, f"{type(exc).__name__}: {exc}"[:300], context=context)


def _clauses_for(profile: str, path: str, exchange: Exchange) -> tuple[str, ...]:
    if profile == "core":
        if exchange.method != "GET":
            return ("STATUS-HTTP-2",)
        return ("STATUS-HTTP-1", "STATUS-HTTP-4", "STATUS-HDR-1", "STATUS-HDR-2", "STATUS-HDR-3", "STATUS-SCHEMA-1")
    if profile == "dev":
        return (_DEV_CLAUSE.get(path, "DEV-WORKERS"),)
    return (_PROFILE_CLAUSE[profile],)


async def run_http(ctx: GroupContext) -> None:
    """schemathesis over every operation of the profiles under test (those the server implements)."""
    if ctx.mocks is not None:
        await ctx.mocks.healthy()
    profiles = tuple(p for p in ctx.profiles if p not in ctx.notes.get("not_implemented", ()))
    for operation in operations(profiles):
        if operation.definition.raw.get("x-tes-profile") == "live":
            continue  # a WebSocket upgrade: the live group speaks WebSocket
        ctx.ensure_running()
        await asyncio.to_thread(_run_operation, ctx, operation, ctx.client.base_url)
