"""Property-based upstream payloads: Hypothesis writes worker and tmux bodies, valid and corrupted; the
mock serves each (`fixed`); the server's fields must equal the contract's function of the payload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from tes_contract.conformance.checks.upstream import FIELD_CLAUSE, UPSTREAM_FIELDS
from tes_contract.conformance.client import upstream_fields
from tes_contract.conformance.groups.base import GroupContext, Stopped
from tes_contract.conformance.model import Failure
from tes_contract.conformance.registry import check
from tes_contract.conformance.scenarios import expected_fields

# Integers stay within 2**53 and floats are never integral (2.0): JSON parsers of other languages read
# those as integers, and the contract's rule is about the JSON value, not one parser's types.
_SAFE_INT = st.integers(min_value=0, max_value=2**53 - 1)
_FRACTION = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).filter(
    lambda x: not x.is_integer())
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), _FRACTION, st.text(max_size=8))
_JSON = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                     max_leaves=6)
_STATUS = st.sampled_from([200, 200, 200, 200, 201, 400, 404, 500, 503])


def worker_bodies() -> st.SearchStrategy[Any]:
    """Worker-status bodies: valid ones with extra fields, and every way `connected` can be wrong."""
    connected = st.one_of(_SAFE_INT, st.integers(0, 20), st.booleans(), st.integers(-10**6, -1), _FRACTION,
                          st.text(max_size=5), st.none())
    extra = st.dictionaries(st.sampled_from(["workers", "version", "note", "connectedAt"]), _JSON, max_size=2)
    with_connected = st.builds(lambda c, e: {**e, "connected": c}, connected, extra)
    return st.one_of(with_connected, with_connected, extra, _JSON)


def tmux_bodies() -> st.SearchStrategy[Any]:
    """Tmux-status bodies: valid ones (sessions of any shape: only their number counts) and corrupted ones."""
    sessions = st.one_of(st.lists(_JSON, max_size=6), st.dictionaries(st.text(max_size=4), _JSON, max_size=2),
                         _SCALAR)
    online = st.one_of(st.booleans(), st.booleans(), _SCALAR)
    extra = st.dictionaries(st.sampled_from(["error", "host", "version"]), _JSON, max_size=2)
    full = st.builds(lambda o, s, e: {**e, "online": o, "sessions": s}, online, sessions, extra)
    partial = st.builds(lambda o, e: {**e, "online": o}, online, extra)
    return st.one_of(full, full, full, partial, _JSON)


@check("UPSTREAM-TMUX-VALID", "UPSTREAM-WORKER-VALID", "STATUS-FIELD-TMUX", "STATUS-FIELD-WORKERS",
       "STATUS-FIELD-TELEMETRY")
def fields_follow_payload(upstream: str, observed: dict[str, Any], status: int, payload: Any) -> Iterator[Failure]:
    """The server's fields equal the contract's function (rules) of the payload it was served."""
    expected = expected_fields(upstream, True, status, payload)
    wrong = {k: v for k, v in expected.items() if observed.get(k) != v}
    if wrong:
        clause = "UPSTREAM-TMUX-VALID" if upstream == "tmux" else "UPSTREAM-WORKER-VALID"
        for id in (clause, *(FIELD_CLAUSE[k] for k in wrong)):
            yield Failure(id, ", ".join(f"{k}={v!r}" for k, v in wrong.items())
                          + f" for a {status} answer with this payload",
                          ", ".join(f"{k}={observed.get(k)!r}" for k in wrong), payload=payload)


#: Payloads tried in every run before the generated ones: the corruptions other implementations get wrong.
EXPLICIT: dict[str, list[tuple[int, Any]]] = {
    "worker": [(200, {"connected": True}), (200, {"connected": False}), (200, {"connected": "3"}),
               (200, {"connected": 2.5}), (200, {"connected": -1}), (200, {"connected": None}), (200, {}),
               (200, [{"connected": 2}]), (500, {"connected": 2}), (200, {"connected": 0, "workers": [{}]})],
    "tmux": [(200, {"online": "true", "sessions": [{}]}), (200, {"online": True, "sessions": {}}),
             (200, {"online": False, "sessions": [{}, {}]}), (200, {"online": True}), (200, [{"online": True}]),
             (503, {"online": True, "sessions": [{}]}), (200, {"online": True, "sessions": [{"panes": [{}, {}]}]})],
}


class _Mismatch(AssertionError):
    """One example broke the property (Hypothesis shrinks it)."""


async def run_payloads(ctx: GroupContext, upstream: str) -> None:
    """Serve generated payloads through the mock and compare the server's fields with the oracle."""
    assert ctx.mocks is not None
    loop = asyncio.get_running_loop()
    name = ctx.scenario("property")
    await ctx.start_healthy()
    last_failure: list[tuple[int, Any, dict[str, Any], str]] = []

    async def serve_and_read(status: int, payload: Any) -> tuple[dict[str, Any], str]:
        await ctx.mocks.set(upstream, "fixed", status=status, body=payload)  # type: ignore[union-attr]
        exchange = await ctx.status(name, payload={"status": status, "body": payload})
        return (upstream_fields(exchange.body) if exchange.status == 200 else {}), exchange.curl()

    strategy = tmux_bodies() if upstream == "tmux" else worker_bodies()

    @seed(ctx.seed)
    @settings(max_examples=ctx.examples, database=None, deadline=None, derandomize=False, print_blob=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    @given(status=_STATUS, payload=strategy)
    def property_holds(status: int, payload: Any) -> None:
        if ctx.stop.is_set():
            raise Stopped
        observed, curl = asyncio.run_coroutine_threadsafe(serve_and_read(status, payload), loop).result(timeout=60)
        expected = expected_fields(upstream, True, status, payload)
        if any(observed.get(k) != v for k, v in expected.items()):
            last_failure[:] = [(status, payload, observed, curl)]
            raise _Mismatch(json.dumps({"status": status, "payload": payload}))

    for status, payload in EXPLICIT[upstream]:
        property_holds = example(status=status, payload=payload)(property_holds)
    try:
        await asyncio.to_thread(property_holds)
    except _Mismatch:
        pass
    clauses = ("UPSTREAM-TMUX-VALID" if upstream == "tmux" else "UPSTREAM-WORKER-VALID",
               *(FIELD_CLAUSE[f] for f in UPSTREAM_FIELDS[upstream]))
    if last_failure:
        status, payload, observed, curl = last_failure[0]
        ctx.check(fields_follow_payload, name, upstream, observed, status, payload, clauses=clauses)
        ctx.notes[f"payloads-{upstream}"] = f"minimal failing payload: {json.dumps(payload)} (status {status})"
    else:
        ctx.recorder.record("fields_follow_payload", clauses, name, [])


async def run_worker_payloads(ctx: GroupContext) -> None:
    """Property-based worker-status payloads."""
    await run_payloads(ctx, "worker")


async def run_tmux_payloads(ctx: GroupContext) -> None:
    """Property-based tmux-status payloads."""
    await run_payloads(ctx, "tmux")
