"""The independent servers (Node.js, Python) over real sockets against the mock upstreams.

Correct mode: every body validates and the fields follow the contract's functions; a few break modes
observably change behaviour. The conformance verdicts are in test_broken_servers.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tes_contract.contract.invariants import document_problems
from tes_contract.contract.rules import traffic_mode_for
from tes_contract.mocks import MockUpstreams
from tests.servers.launch import KINDS, node_binary, started

TIMEOUT_MS = 600
SLACK_S = 1.5  # a busy 2-core machine; the contract bound is timeout + slack


def test_node_is_installed():
    """CI installs nodejs; a missing or too old node fails here with the fix, never skips."""
    node_binary()


@pytest.fixture
async def mocks() -> AsyncIterator[MockUpstreams]:
    async with MockUpstreams(client_timeout_ms=TIMEOUT_MS) as upstreams:
        await upstreams.set("tmux", "healthy", sessions=3, panes=2)
        await upstreams.set("worker", "healthy", workers=4, connected=4)
        yield upstreams


def _env(mocks: MockUpstreams, **extra: str) -> dict[str, str]:
    return {"TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url,
            "TES_UPSTREAM_TIMEOUT_MS": str(TIMEOUT_MS), "TES_PRIMARY_REGION": "eu-west-2", **extra}


async def _status(client: httpx.AsyncClient, base: str) -> tuple[httpx.Response, Any]:
    response = await client.get(f"{base}/api/dev/status?ignored=1")
    assert response.status_code == 200, response.text
    body = response.json()
    problems = document_problems("status", body, header_version=response.headers.get("X-TES-Status-Version"))
    assert problems == [], [p.as_dict() for p in problems]
    return response, body


def _fields(body: Any) -> tuple[int, int, str]:
    return (body["vector"]["sessions"]["tmux"], body["vector"]["sessions"]["activeWorkers"],
            body["meta"]["telemetryStatus"])


@pytest.mark.parametrize("kind", KINDS)
async def test_correct_server_keeps_the_contract(kind: str, mocks: MockUpstreams):
    async with started(kind, _env(mocks)) as base, httpx.AsyncClient(timeout=10) as client:
        response, body = await _status(client, base)
        assert response.headers["Content-Type"].startswith("application/json")
        assert "no-cache" in response.headers["Cache-Control"]
        assert response.headers["X-TES-Status-Version"] == "2.0"
        assert _fields(body) == (3, 4, "healthy")
        assert body["vector"]["directions"]["primaryRegion"] == "eu-west-2"
        assert body["vector"]["sessions"]["apiSessions"] == 1

        put = await client.put(f"{base}/api/dev/status")
        assert put.status_code == 405 and "GET" in put.headers["Allow"]
        assert document_problems("error", put.json()) == []
        missing = await client.get(f"{base}/no/such/path")
        assert missing.status_code == 404 and document_problems("error", missing.json()) == []

        # One upstream fails at a time; the other's fields stay (no cascade), never a 5xx.
        expectations = [("worker", "malformed_json", (3, 0, "degraded")), ("worker", "http_error", (3, 0, "degraded")),
                        ("worker", "reset", (3, 0, "offline")), ("worker", "zero", (3, 0, "degraded")),
                        ("tmux", "malformed_json", (0, 4, "healthy")), ("tmux", "empty", (0, 4, "healthy"))]
        for upstream, scenario, expected in expectations:
            await mocks.reset()
            await mocks.set("tmux", "healthy", sessions=3, panes=2)
            await mocks.set("worker", "healthy", workers=4, connected=4)
            await mocks.set(upstream, scenario)
            _, body = await _status(client, base)
            assert _fields(body) == expected, (upstream, scenario)
        await mocks.set("tmux", "healthy", sessions=3, panes=2)
        await mocks.set("worker", "invalid_shape", variant="connected_true")
        _, body = await _status(client, base)
        assert _fields(body) == (3, 0, "degraded")

        # Both hanging: one timeout (concurrent calls), not two; an answer at 0.8 x timeout is counted.
        await mocks.set("tmux", "hang")
        await mocks.set("worker", "hang")
        began = time.monotonic()
        _, body = await _status(client, base)
        elapsed = time.monotonic() - began
        assert _fields(body) == (0, 0, "offline")
        assert TIMEOUT_MS / 1000 * 0.9 <= elapsed <= TIMEOUT_MS / 1000 + SLACK_S, elapsed
        await mocks.set("tmux", "healthy", sessions=3, panes=2)
        await mocks.set("worker", "slow", delay="0.8x", workers=4, connected=4)
        _, body = await _status(client, base)
        assert _fields(body) == (3, 4, "healthy")


@pytest.mark.parametrize("kind", KINDS)
async def test_error_rate_boundary_is_degraded(kind: str, mocks: MockUpstreams):
    """1 answer of 503 among 10 completed: errorRate exactly 0.10 is degraded (STATUS-FIELD-TRAFFICMODE)."""
    await mocks.set("worker", "reset")
    async with started(kind, _env(mocks)) as base, httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{base}/api/dev/workers")).status_code == 503
        for _ in range(9):
            assert (await client.get(f"{base}/nothing-here")).status_code == 404
        _, body = await _status(client, base)
        assert body["vector"]["others"]["errorRate"] == 0.1
        assert body["vector"]["directions"]["trafficMode"] == traffic_mode_for(0.1) == "degraded"


async def _observe(kind: str, mocks: MockUpstreams, breaks: str) -> dict[str, Any]:
    """The observations that tell a broken server from a correct one."""
    await mocks.set("tmux", "healthy", sessions=3, panes=2)
    await mocks.set("worker", "malformed_json")
    async with started(kind, _env(mocks, TES_BREAK=breaks)) as base, httpx.AsyncClient(timeout=10) as client:
        put = await client.put(f"{base}/api/dev/status")
        first = (await client.get(f"{base}/api/dev/status")).json()
        await mocks.set("worker", "healthy", workers=4, connected=4)
        second = (await client.get(f"{base}/api/dev/status")).json()
        return {"put": put.status_code, "tmux": first["vector"]["sessions"]["tmux"],
                "malformed": first["meta"]["telemetryStatus"], "recovered": second["meta"]["telemetryStatus"]}


@pytest.mark.parametrize("kind", KINDS)
async def test_break_modes_change_behaviour(kind: str, mocks: MockUpstreams):
    correct = await _observe(kind, mocks, "")
    assert correct == {"put": 405, "tmux": 3, "malformed": "degraded", "recovered": "healthy"}
    broken = await _observe(kind, mocks, "count_panes,no_405,parse_error_offline")
    assert broken == {"put": 404, "tmux": 6, "malformed": "offline", "recovered": "healthy"}
    cached = await _observe(kind, mocks, "cached_response")
    assert cached["recovered"] == "degraded"  # the first body, served again


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_break_mode_is_refused(kind: str, mocks: MockUpstreams):
    with pytest.raises(AssertionError, match="unknown TES_BREAK"):
        async with started(kind, _env(mocks, TES_BREAK="no_such_break")):
            pass
