"""TES_UPSTREAM_TIMEOUT_MS unset: the bound is 5 s, from both sides (a 4 s answer counted, a hang cut at 5 s).

The one test of the server that runs at the default timeout; both halves run concurrently (~5 s in all).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestServer

from tes_contract.mocks import MockUpstreams
from tes_contract.server import Settings, create_app

from .conftest import get_status

SLACK_S = 1.5


async def _timed_status(http, mocks: MockUpstreams) -> tuple[dict, float]:
    env = {"TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url}  # no timeout variable
    settings = Settings.from_env(env, port=0, history=False)
    assert settings.upstream_timeout_ms == 5000
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        started = time.perf_counter()
        body = await get_status(http, str(server.make_url("")).rstrip("/"))
        return body, time.perf_counter() - started
    finally:
        await server.close()


@pytest.mark.slow
async def test_default_timeout_counts_4s_and_cuts_a_hang_at_5s(http):
    async with MockUpstreams(client_timeout_ms=5000) as answering, MockUpstreams(client_timeout_ms=5000) as hanging:
        await answering.set("tmux", "slow", delay_ms=4000)
        await answering.set("worker", "slow", delay_ms=4000)
        await hanging.set("tmux", "hang")
        await hanging.set("worker", "hang")
        (late, late_s), (cut, cut_s) = await asyncio.gather(_timed_status(http, answering),
                                                            _timed_status(http, hanging))
    # Answers at 4 s are inside the 5 s default: counted.
    assert late["vector"]["sessions"]["tmux"] == 2
    assert (late["vector"]["sessions"]["activeWorkers"], late["meta"]["telemetryStatus"]) == (3, "healthy")
    assert 4.0 <= late_s < 5.0 + SLACK_S
    # Both hanging: one 5 s timeout (concurrent calls), not two, and not more.
    assert cut["vector"]["sessions"]["tmux"] == 0
    assert (cut["vector"]["sessions"]["activeWorkers"], cut["meta"]["telemetryStatus"]) == (0, "offline")
    assert 5.0 - 0.05 <= cut_s < 5.0 + SLACK_S
