"""Upstream scenarios, named after the condition, with what the contract says each must show."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tes_contract.contract.rules import tmux_field, worker_fields
from tes_contract.mocks import INVALID_VARIANTS, MockApi

UPSTREAMS = ("tmux", "worker")
NOT_JSON_BODY = None  # what the oracle gets for a body that is not JSON

#: Healthy bodies the harness asks for: panes != sessions and connected != len(workers), so counting the
#: wrong thing shows.
HEALTHY: dict[str, dict[str, Any]] = {"tmux": {"sessions": 3, "panes": 2}, "worker": {"workers": 5, "connected": 4}}
#: What the oracle reads of those bodies (rules look at nothing else).
HEALTHY_BODY: dict[str, Any] = {"tmux": {"online": True, "sessions": [{}, {}, {}]}, "worker": {"connected": 4}}
ZERO_BODY: dict[str, Any] = {"tmux": {"online": True, "sessions": []}, "worker": {"connected": 0}}


def expected_fields(upstream: str, answered: bool, status: int | None = None, body: Any = None) -> dict[str, Any]:
    """The status fields an upstream decides, by the contract's rules, from what it did."""
    if upstream == "tmux":
        return {"tmux": tmux_field(answered, status, body)}
    workers, telemetry = worker_fields(answered, status, body)
    return {"activeWorkers": workers, "telemetryStatus": telemetry}


def healthy_fields(upstream: str) -> dict[str, Any]:
    """The fields of an upstream serving the harness's healthy body."""
    return expected_fields(upstream, True, 200, HEALTHY_BODY[upstream])


@dataclass(frozen=True)
class UpstreamScenario:
    """One condition of one upstream: the mock scenario that makes it, and what the oracle sees."""

    name: str
    mock: str
    params: dict[str, Any] = field(default_factory=dict)
    answered: bool = True
    status: int | None = 200
    body: Any = NOT_JSON_BODY
    also: tuple[str, ...] = ()  # clauses the scenario tests beyond the field clauses

    def expected(self, upstream: str) -> dict[str, Any]:
        """The fields the status must show in this scenario."""
        return expected_fields(upstream, self.answered, self.status, self.body)


def _invalid_body(upstream: str, variant: str) -> Any:
    from tes_contract.mocks.bodies import invalid_body

    return invalid_body(upstream, variant)


def scenarios_for(upstream: str) -> list[UpstreamScenario]:
    """Every scenario of one upstream, those it answers first (a circuit breaker opened by a dead upstream
    may hold the state up to 5 s, which the polling allows for)."""
    healthy, valid = HEALTHY[upstream], ("UPSTREAM-TMUX-VALID" if upstream == "tmux" else "UPSTREAM-WORKER-VALID",)
    body = HEALTHY_BODY[upstream]
    items = [
        UpstreamScenario("healthy", "healthy", healthy, body=body),
        UpstreamScenario("zero", "zero", body=ZERO_BODY[upstream]),
        UpstreamScenario("slow", "slow", {**healthy, "delay": "0.8x"}, body=body, also=("TIMEOUT-COUNTED",)),
        # Content-Type is not read: the validity rule looks at the body only.
        UpstreamScenario("wrong_content_type", "wrong_content_type", healthy, body=body),
        UpstreamScenario("http_error", "http_error", {"status": 500}, status=500, body={"error": "failing"}),
        UpstreamScenario("malformed_json", "malformed_json", also=valid),
    ]
    for variant in INVALID_VARIANTS[upstream]:
        items.append(UpstreamScenario(f"invalid_shape:{variant}", "invalid_shape", {"variant": variant},
                                      body=_invalid_body(upstream, variant), also=valid))
    # No answer: refused, held past the timeout, body dribbled past it, cut, reset, closed without a reply.
    for name, params in (("down", {}), ("hang", {}), ("slow_body", {**healthy, "duration": "3x"}),
                         ("truncated", healthy), ("reset", {}), ("empty", {})):
        items.append(UpstreamScenario(name, name, params, answered=False, status=None))
    return items


class Mocks:
    """The mocks of a group (MockUpstreams or MockControl), remembering the scenarios set for reproductions."""

    def __init__(self, upstreams: MockApi) -> None:
        self.upstreams = upstreams
        self.described = {"tmux": "tmux=healthy", "worker": "worker=healthy"}

    async def set(self, upstream: str, scenario: str, **params: Any) -> None:
        """Switch one upstream's scenario and remember it for reproductions."""
        await self.upstreams.set(upstream, scenario, **params)
        args = ", ".join(f"{k}={json.dumps(v)}" for k, v in params.items())  # JSON, as the control API takes it
        self.described[upstream] = f"{upstream}={scenario}" + (f"({args})" if args else "")

    async def set_both(self, scenario: str, **params: Any) -> None:
        """Put both upstreams in one scenario (body parameters are the healthy ones where accepted)."""
        for upstream in UPSTREAMS:
            await self.set(upstream, scenario, **params)

    async def healthy(self) -> None:
        """Both upstreams healthy, with the harness's bodies."""
        for upstream in UPSTREAMS:
            await self.set(upstream, "healthy", **HEALTHY[upstream])

    async def journal(self, upstream: str) -> list[dict[str, Any]]:
        """The calls the upstream has seen."""
        return await self.upstreams.journal(upstream)

    async def clear_journal(self, upstream: str) -> None:
        """Forget the calls the upstream has seen."""
        await self.upstreams.clear_journal(upstream)

    async def journals(self) -> dict[str, list[dict[str, Any]]]:
        """Both journals."""
        return {upstream: await self.journal(upstream) for upstream in UPSTREAMS}

    def describe(self) -> str:
        """Both scenarios in force (and the webhook's, once a group set it), for reproductions."""
        return "; ".join(self.described[u] for u in (*UPSTREAMS, "webhook") if u in self.described)
