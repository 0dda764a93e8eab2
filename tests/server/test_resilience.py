"""Single-flight and circuit breakers over real sockets against the mocks, and the naive mode they replace."""

from __future__ import annotations

import asyncio
import time

import pytest

from tes_contract.mocks import MockUpstreams

from .conftest import get_status

TIMEOUT_MS = 600


@pytest.fixture
async def mocks():
    async with MockUpstreams(client_timeout_ms=TIMEOUT_MS) as upstreams:
        yield upstreams


async def _timed(http, base):
    started = time.perf_counter()
    body = await get_status(http, base)
    return body, time.perf_counter() - started


def _worker(body):
    return body["vector"]["sessions"]["activeWorkers"], body["meta"]["telemetryStatus"]


async def test_concurrent_requests_share_one_call_in_flight(mocks, start_server, http):
    base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                              upstream_timeout_ms=TIMEOUT_MS)
    await mocks.set("worker", "slow", delay_ms=250)
    await mocks.set("tmux", "slow", delay_ms=250)
    bodies = await asyncio.gather(*(get_status(http, base) for _ in range(20)))
    assert all(_worker(b) == (3, "healthy") and b["vector"]["sessions"]["tmux"] == 2 for b in bodies)
    assert len(await mocks.journal("worker")) == 1 and len(await mocks.journal("tmux")) == 1


async def test_completed_answers_are_never_reused(mocks, start_server, http):
    base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                              upstream_timeout_ms=TIMEOUT_MS)
    for connected in (1, 2, 3, 4):
        await mocks.set("worker", "healthy", connected=connected)
        assert _worker(await get_status(http, base)) == (connected, "healthy")
    assert len(await mocks.journal("worker")) == 4 and len(await mocks.journal("tmux")) == 4


async def test_hanging_worker_answered_at_once_after_first_timeout_then_recovery(mocks, start_server, http):
    base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                              upstream_timeout_ms=TIMEOUT_MS, probe_interval_s=0.5)
    await mocks.set("worker", "hang")
    first, first_s = await _timed(http, base)
    assert _worker(first) == (0, "offline") and first_s >= TIMEOUT_MS / 1000 - 0.05
    # Known dead: answered at once, the tmux fields still real, while probes hang in the background.
    for _ in range(10):
        body, elapsed = await _timed(http, base)
        assert _worker(body) == (0, "offline") and body["vector"]["sessions"]["tmux"] == 2
        assert elapsed < 0.3
        await asyncio.sleep(0.1)
    probes = len(await mocks.journal("worker")) - 1
    assert 1 <= probes <= 3  # one probe per 0.5 s interval, not one per request

    await mocks.set("worker", "healthy", connected=5)
    recovered_at = time.perf_counter()
    while True:
        body, elapsed = await _timed(http, base)
        assert elapsed < 0.3  # recovery never makes a request wait
        if _worker(body) == (5, "healthy"):
            break
        assert time.perf_counter() - recovered_at < 5.0, "recovery must show within 5 s"
        await asyncio.sleep(0.05)
    # A probe interval plus one call, here well under the 5 s the contract allows.
    assert time.perf_counter() - recovered_at < 0.5 + TIMEOUT_MS / 1000 + 0.5


async def test_down_worker_recovers_within_the_probe_interval(mocks, start_server, http):
    base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                              upstream_timeout_ms=TIMEOUT_MS)  # default probe interval, 1 s
    await mocks.set("worker", "down")
    assert _worker(await get_status(http, base)) == (0, "offline")
    await mocks.set("worker", "healthy")
    recovered_at = time.perf_counter()
    while _worker(await get_status(http, base)) != (3, "healthy"):
        assert time.perf_counter() - recovered_at < 5.0
        await asyncio.sleep(0.05)
    assert time.perf_counter() - recovered_at < 1.0 + 0.5


async def test_naive_mode_calls_every_time_and_waits_every_time(mocks, start_server, http):
    base = await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url,
                              upstream_timeout_ms=300, naive=True)
    bodies = await asyncio.gather(*(get_status(http, base) for _ in range(5)))
    assert all(_worker(b) == (3, "healthy") for b in bodies)
    assert len(await mocks.journal("worker")) == 5 and len(await mocks.journal("tmux")) == 5
    await mocks.set("worker", "hang")
    for _ in range(2):
        body, elapsed = await _timed(http, base)
        assert _worker(body) == (0, "offline") and elapsed >= 0.3 - 0.05  # no breaker: the full timeout
