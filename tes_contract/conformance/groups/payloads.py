"""Property-based upstream payloads: Hypothesis writes worker and tmux bodies, valid and corrupted; the
mock serves each (`fixed`); the server's fields must equal the contract's function of the payload."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tes_contract.conformance.checks.upstream import (
    FIELD_CLAUSE,
    UPSTREAM_FIELDS,
    fields_follow_payload,
    upstream_fields,
)
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.scenarios import expected_fields
from tes_contract.errors import Stopped

#: Payloads tried in every run before the generated ones: the corruptions other implementations get wrong.
EXPLICIT: dict[str, list[tuple[int, Any]]] = {
    "worker": [(200, {"connected": True}), (200, {"connected": False}), (200, {"connected": "3"}),
               (200, {"connected": 2.5}), (200, {"connected": -1}), (200, {"connected": None}), (200, {}),
               (200, [{"connected": 2}]), (500, {"connected": 2}), (200, {"connected": 0, "workers": [{}]})],
    "tmux": [(200, {"online": "true", "sessions": [{}]}), (200, {"online": True, "sessions": {}}),
             (200, {"online": False, "sessions": [{}, {}]}), (200, {"online": True}), (200, [{"online": True}]),
             (503, {"online": True, "sessions": [{}]}), (200, {"online": True, "sessions": [{"panes": [{}, {}]}]})],
}


#: Tries of one example whose mock answer came too late to be judged; the last try is judged regardless.
_ATTEMPTS = 3


def _answered_in_time(journal: list[dict[str, Any]], timeout_ms: float) -> bool:
    """True when every call the mock saw was answered well inside the server's timeout (or none came)."""
    for entry in journal:
        completed, arrived = entry.get("completed_at"), entry.get("arrived_at")
        if entry.get("client_gave_up_at") is not None or completed is None or arrived is None:
            return False
        if (completed - arrived) * 1000 > 0.5 * timeout_ms:
            return False
    return True


class _Mismatch(AssertionError):
    """One example broke the property (Hypothesis shrinks it)."""


class _ServerGone(BaseException):
    """The server ended (or the run stops): no example is judged any more. A BaseException, so Hypothesis
    neither counts the example as failing nor shrinks towards it: it ends the run at once."""


async def _serve_and_read(ctx: GroupContext, upstream: str, name: str, status: int, payload: Any
                          ) -> tuple[dict[str, Any], str, bool]:
    """Serve the payload, read the status; also say whether the mock's answer could be judged."""
    mocks = ctx.mocks
    assert mocks is not None
    await mocks.set(upstream, "fixed", status=status, body=payload)
    await mocks.clear_journal(upstream)
    exchange = await ctx.client.status()
    if exchange.status is None and await ctx.server_gone():
        raise _ServerGone  # a request that reached no live server says nothing of the payload
    ctx.judge_status(exchange, name, {"status": status, "body": payload})
    observed = upstream_fields(exchange.body) if exchange.status == 200 else {}
    return observed, exchange.curl(), _answered_in_time(await mocks.journal(upstream), ctx.timeout_ms)


async def run_payloads(ctx: GroupContext, upstream: str) -> None:
    """Serve generated payloads through the mock and compare the server's fields with the oracle."""
    assert ctx.mocks is not None
    loop = asyncio.get_running_loop()
    name = ctx.scenario("property")
    await ctx.start_healthy()
    last_failure: list[tuple[int, Any, dict[str, Any], str]] = []

    # Hypothesis loads here, not at import: `tes-contract validate` should not pay for it.
    from hypothesis import HealthCheck, Phase, example, given, seed, settings

    from tes_contract.conformance.groups.strategies import STATUS, tmux_bodies, worker_bodies

    strategy = tmux_bodies() if upstream == "tmux" else worker_bodies()

    @seed(ctx.seed)
    @settings(max_examples=ctx.examples, database=None, deadline=None, derandomize=False, print_blob=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    @given(status=STATUS, payload=strategy)
    def property_holds(status: int, payload: Any) -> None:
        if ctx.stop.is_set():
            raise _ServerGone
        expected = expected_fields(upstream, True, status, payload)
        for _ in range(_ATTEMPTS):
            try:
                observed, curl, judgeable = asyncio.run_coroutine_threadsafe(
                    _serve_and_read(ctx, upstream, name, status, payload), loop).result(timeout=60)
            except Exception:
                if ctx.stop.is_set():  # the mocks closing under a stopped group, not the payload's fault
                    raise _ServerGone from None
                raise
            mismatch = any(observed.get(k) != v for k, v in expected.items())
            # A mock answer that reached the server late (this process is busy generating examples) makes
            # "offline" a right answer: try again rather than blame the server.
            if not mismatch or judgeable:
                break
        if mismatch:
            last_failure[:] = [(status, payload, observed, curl)]
            raise _Mismatch(json.dumps({"status": status, "payload": payload}))

    for status, payload in EXPLICIT[upstream]:
        property_holds = example(status=status, payload=payload)(property_holds)
    try:
        await asyncio.to_thread(property_holds)
    except _Mismatch:
        pass
    except _ServerGone:
        raise Stopped from None  # the runner reports the server's exit, once
    _verdict(ctx, upstream, name, last_failure)


def _verdict(ctx: GroupContext, upstream: str, name: str, last_failure: list[tuple[int, Any, dict[str, Any], str]]
             ) -> None:
    """Record the property's verdict: the minimal failing payload Hypothesis shrank to, or a pass."""
    clauses = ("UPSTREAM-TMUX-VALID" if upstream == "tmux" else "UPSTREAM-WORKER-VALID",
               *(FIELD_CLAUSE[f] for f in UPSTREAM_FIELDS[upstream]))
    if last_failure:
        status, payload, observed, curl = last_failure[0]
        ctx.check(fields_follow_payload, name, upstream, observed, status, payload, clauses=clauses)
        ctx.notes[f"payloads-{upstream}"] = f"minimal failing payload: {json.dumps(payload)} (status {status})"
        ctx.recorder.progress(f"{ctx.group}: {ctx.notes[f'payloads-{upstream}']}")
    else:
        ctx.recorder.record("fields_follow_payload", clauses, name, [])


async def run_worker_payloads(ctx: GroupContext) -> None:
    """Property-based worker-status payloads."""
    await run_payloads(ctx, "worker")


async def run_tmux_payloads(ctx: GroupContext) -> None:
    """Property-based tmux-status payloads."""
    await run_payloads(ctx, "tmux")
