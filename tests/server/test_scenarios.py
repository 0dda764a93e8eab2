"""Every upstream scenario of the mocks, over real sockets: the exact fields, no cascade, one call each.

A fresh server per case (its circuit breakers start closed); the mocks' journal proves one call per
upstream per status request, and the timing proves the bound.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tes_contract.contract.schemas import validator_for
from tes_contract.mocks import INVALID_VARIANTS, MockUpstreams

from .conftest import get_status

TIMEOUT_MS = 500
SLACK_S = 1.0
HEALTHY_TMUX = 2  # the mocks' default healthy tmux body: 2 sessions of 2 panes
HEALTHY_WORKER = (3, "healthy")  # the mocks' default healthy worker body: connected 3

TMUX_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("healthy", {}, 2),
    ("healthy", {"sessions": 5, "panes": 3}, 5),  # sessions, not panes
    ("healthy", {"online": False, "sessions": 4}, 0),  # online false: 0 whatever it lists
    ("zero", {}, 0),
    ("http_error", {}, 0),
    ("http_error", {"status": 503}, 0),
    ("down", {}, 0),
    ("hang", {}, 0),
    ("slow", {"delay": "0.6x"}, 2),
    ("slow_body", {}, 0),
    ("malformed_json", {}, 0),
    ("wrong_content_type", {}, 2),  # the body is valid; Content-Type is not read
    ("truncated", {}, 0),
    ("reset", {}, 0),
    ("empty", {}, 0),
    ("fixed", {"body": {"online": True, "sessions": [1, 2, 3]}}, 3),  # only the array's length is read
    *[("invalid_shape", {"variant": v}, 0) for v in INVALID_VARIANTS["tmux"]],
]

WORKER_CASES: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
    ("healthy", {}, (3, "healthy")),
    ("healthy", {"connected": 7}, (7, "healthy")),
    ("zero", {}, (0, "degraded")),
    ("http_error", {}, (0, "degraded")),
    ("http_error", {"status": 404}, (0, "degraded")),
    ("down", {}, (0, "offline")),
    ("hang", {}, (0, "offline")),
    ("slow", {"delay": "0.6x"}, (3, "healthy")),
    ("slow_body", {}, (0, "offline")),
    ("malformed_json", {}, (0, "degraded")),
    ("wrong_content_type", {}, (3, "healthy")),
    ("truncated", {}, (0, "offline")),  # no complete answer: the connection closed mid-body
    ("reset", {}, (0, "offline")),
    ("empty", {}, (0, "offline")),
    ("fixed", {"body": {"connected": True, "workers": []}}, (0, "degraded")),  # a boolean is not an integer
    ("fixed", {"body": {"connected": 4}}, (4, "healthy")),  # only `connected` is read
    ("fixed", {"raw": '{"connected": 5}', "content_type": "text/plain"}, (5, "healthy")),
    *[("invalid_shape", {"variant": v}, (0, "degraded")) for v in INVALID_VARIANTS["worker"]],
]


@pytest.fixture
async def mocks():
    async with MockUpstreams(client_timeout_ms=TIMEOUT_MS) as upstreams:
        yield upstreams


def _check_body(body: dict[str, Any]) -> None:
    assert list(validator_for("status").iter_errors(body)) == []
    sessions, meta = body["vector"]["sessions"], body["meta"]
    assert (meta["telemetryStatus"] == "healthy") == (sessions["activeWorkers"] > 0)


async def _one_status(mocks: MockUpstreams, start_server, http) -> tuple[dict[str, Any], float]:
    base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                              upstream_timeout_ms=TIMEOUT_MS)
    await mocks.clear_journal("tmux")
    await mocks.clear_journal("worker")
    started = time.perf_counter()
    body = await get_status(http, base)
    elapsed = time.perf_counter() - started
    _check_body(body)
    assert len(await mocks.journal("tmux")) <= 1 and len(await mocks.journal("worker")) <= 1  # once each, at most
    return body, elapsed


def _case_ids(cases: list[tuple[str, dict[str, object], object]]) -> list[str]:
    """`scenario-key=value-...` (or `-default`), at most 60 characters: a readable test id per case."""
    return [f"{s}-{'-'.join(f'{k}={v}' for k, v in p.items()) or 'default'}"[:60] for s, p, _ in cases]

@pytest.mark.parametrize(("scenario", "params", "tmux"), TMUX_CASES,
                         ids=_case_ids(TMUX_CASES))
async def test_tmux_scenario(mocks, start_server, http, scenario, params, tmux):
    await mocks.set("tmux", scenario, **params)
    body, elapsed = await _one_status(mocks, start_server, http)
    assert body["vector"]["sessions"]["tmux"] == tmux
    # No cascade: the worker's fields are their healthy values.
    assert (body["vector"]["sessions"]["activeWorkers"], body["meta"]["telemetryStatus"]) == HEALTHY_WORKER
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S
    if scenario != "down":
        assert len(await mocks.journal("tmux")) == 1


@pytest.mark.parametrize(("scenario", "params", "fields"), WORKER_CASES,
                         ids=_case_ids(WORKER_CASES))
async def test_worker_scenario(mocks, start_server, http, scenario, params, fields):
    await mocks.set("worker", scenario, **params)
    body, elapsed = await _one_status(mocks, start_server, http)
    assert (body["vector"]["sessions"]["activeWorkers"], body["meta"]["telemetryStatus"]) == fields
    assert body["vector"]["sessions"]["tmux"] == HEALTHY_TMUX  # no cascade
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S
    if scenario != "down":
        assert len(await mocks.journal("worker")) == 1


async def test_both_hanging_answer_within_one_timeout(mocks, start_server, http):
    await mocks.set("tmux", "hang")
    await mocks.set("worker", "hang")
    body, elapsed = await _one_status(mocks, start_server, http)
    assert body["vector"]["sessions"]["tmux"] == 0 and body["meta"]["telemetryStatus"] == "offline"
    # Concurrent: about one timeout, not two.
    assert TIMEOUT_MS / 1000 - 0.05 <= elapsed < TIMEOUT_MS / 1000 + 0.4
    # The server gave up on both calls (the journal shows the client left).
    assert all(entry["client_gave_up_at"] is not None for entry in await mocks.journal("worker"))


async def test_slow_at_eighty_percent_is_counted(start_server, http):
    async with MockUpstreams(client_timeout_ms=1000) as mocks:
        await mocks.set("tmux", "slow", delay="0.8x")
        await mocks.set("worker", "slow", delay="0.8x")
        base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                                  upstream_timeout_ms=1000)
        started = time.perf_counter()
        body = await get_status(http, base)
        elapsed = time.perf_counter() - started
    assert body["vector"]["sessions"]["tmux"] == 2
    assert (body["vector"]["sessions"]["activeWorkers"], body["meta"]["telemetryStatus"]) == (3, "healthy")
    assert 0.8 <= elapsed < 1.0 + SLACK_S  # both answered at 0.8 s, concurrently
