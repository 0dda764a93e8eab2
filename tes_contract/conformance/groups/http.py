"""The HTTP surface, driven by schemathesis over the operations of the profiles under test.

Property-based: Hypothesis draws schemathesis cases with random query strings (which must be ignored);
schemathesis's coverage phase sends the methods the spec does not declare (which must answer 405 with
`Allow`). Every answer goes through schemathesis's own checks, mapped to our clause ids, and ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tes_contract.conformance.checks.http import clauses_tested, schemathesis_checks_pass, server_answers
from tes_contract.conformance.checks.response import (
    error_body_is_json,
    method_not_allowed_lists_get,
    query_string_ignored,
)
from tes_contract.conformance.client import MAX_BODY_BYTES
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.model import NOT_JSON, Exchange, Failure
from tes_contract.conformance.registry import run_check
from tes_contract.contract.schemas import openapi_path
from tes_contract.errors import Stopped

#: Methods the status path must refuse (the clause's list; HEAD may be served, OPTIONS may be CORS).
REFUSED_METHODS = ("PUT", "POST", "DELETE", "PATCH")
#: Operations whose clause needs more than schemathesis can see (the dev token, a known worker id, the rate
#: limit, tmux's own state): fuzzing them without the token would only ever see 401s and report a pass. The
#: dev-tmux, dev-snapshot and dev-security groups drive them.
_NOT_FUZZED = {"/api/dev/workers/{id}/snapshot", "/api/dev/tmux/sessions", "/api/dev/tmux/sessions/{name}",
               "/api/dev/tmux/sessions/{name}/panes/{index}/capture"}


def load_schema() -> Any:
    """The bundled OpenAPI document as a schemathesis schema, loaded afresh: a schema remembers which
    undeclared methods its coverage phase already sent, and a second run would send none."""
    import schemathesis  # loaded here, not at import: `tes-contract validate` should not pay for it

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


#: Seconds one answer may take, body included (requests' own timeout bounds each read, not the whole).
ANSWER_S = 30.0


def _bounded_body(response: Any, **_: Any) -> Any:
    """requests' response hook (it runs before the body is read): read the body ourselves, at most
    MAX_BODY_BYTES within ANSWER_S, so a 10 MB or endless body costs neither memory nor the run's time."""
    import requests

    body, deadline = bytearray(), time.monotonic() + ANSWER_S
    for chunk in response.raw.stream(65536, decode_content=True):
        body += chunk
        if len(body) > MAX_BODY_BYTES or time.monotonic() > deadline:
            response.close()
            what = (f"a body over the harness's read limit of {MAX_BODY_BYTES // (1024 * 1024)} MiB"
                    if len(body) > MAX_BODY_BYTES else f"a body still coming after {ANSWER_S:.0f} s")
            raise requests.RequestException(f"status {response.status_code} with {what}")
    response._content, response._content_consumed = bytes(body), True
    return response


class _Halt(BaseException):
    """The group is stopping: ends Hypothesis's run at once (an Exception would be shrunk as a failure)."""


def _run_operation(ctx: GroupContext, operation: Any, base_url: str) -> None:
    """Blocking: the property-based run of one operation (in a worker thread)."""
    import requests
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from tes_contract.conformance.groups.strategies import QUERY

    profile = operation.definition.raw.get("x-tes-profile", "core")
    is_status = operation.path == "/api/dev/status"
    session = requests.Session()
    session.hooks["response"].append(_bounded_body)
    scenario = ctx.scenario(f"{operation.method.upper()} {operation.path}")

    def judge(case: Any, response: Any, started: float, name: str) -> Exchange:
        exchange = _exchange(response, started)
        ctx.recorder.count_exchange()
        relevant = clauses_tested(profile, operation.path, exchange)
        ctx.check(schemathesis_checks_pass, name, case, response, exchange, operation, clauses=relevant)
        ctx.check(error_body_is_json, name, exchange)
        if is_status and exchange.method == "GET":
            ctx.judge_status(exchange, name)
            ctx.client.keep(exchange)
        return exchange

    @seed(ctx.seed)
    @settings(max_examples=ctx.examples, database=None, deadline=None, print_blob=False,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), query=QUERY)
    def fuzz(case: Any, query: dict[str, str]) -> None:
        if ctx.stop.is_set():
            raise _Halt
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

    try:
        fuzz()
    except _Halt:
        raise Stopped from None
    if is_status:
        _undeclared_methods(ctx, operation, base_url, session, judge)
    session.close()


def _undeclared_methods(ctx: GroupContext, operation: Any, base_url: str, session: Any,
                        judge: Callable[[Any, Any, float, str], Exchange]) -> None:
    """schemathesis's coverage phase: the methods the spec does not declare on the status path (405)."""
    import requests
    from schemathesis.generation import GenerationMode

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


def _no_answer(ctx: GroupContext, scenario: str, case: Any, exc: Exception) -> None:
    context = Failure("", "", "", curl=case.as_curl_command(), seed=ctx.seed)
    run_check(ctx.recorder, server_answers, scenario, f"{type(exc).__name__}: {exc}"[:300], context=context)


async def run_http(ctx: GroupContext) -> None:
    """schemathesis over every operation of the profiles under test (those the server implements)."""
    if ctx.mocks is not None:
        await ctx.mocks.healthy()
    profiles = tuple(p for p in ctx.profiles if p not in ctx.notes.get("not_implemented", ()))
    for operation in operations(profiles):
        if operation.definition.raw.get("x-tes-profile") == "live" or operation.path in _NOT_FUZZED:
            continue  # a WebSocket upgrade (the live group speaks WebSocket), or a clause reported not checked
        ctx.ensure_running()
        await asyncio.to_thread(_run_operation, ctx, operation, ctx.client.base_url)
