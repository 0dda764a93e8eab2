"""aioresponses helpers raise and answer what a real aiohttp client meets on the socket mocks."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from aioresponses import aioresponses

from tes_contract.mocks import MockUpstreams, ScenarioError
from tes_contract.mocks.aioresponses_helpers import add_tmux, add_worker

FAULTS = ["down", "hang", "reset", "empty", "truncated", "slow_body"]
ANSWERS = [("healthy", {"connected": 4}), ("zero", {}), ("http_error", {"status": 503}), ("malformed_json", {}),
           ("wrong_content_type", {}), ("invalid_shape", {"variant": "connected_true"}),
           ("fixed", {"status": 418, "raw": "teapot", "content_type": "text/plain"}), ("slow", {"delay_ms": 50})]
TIMEOUT = aiohttp.ClientTimeout(total=0.5)


async def fetch(url: str) -> tuple[int, str, bytes] | type[BaseException]:
    """Status, content type and body, or the class of the exception the client raised."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(url) as response:
            return response.status, response.headers["Content-Type"], await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc)


@pytest.fixture
async def real():
    async with MockUpstreams(client_timeout_ms=500) as mocks:
        yield mocks


@pytest.mark.parametrize("scenario", FAULTS)
async def test_faults_raise_the_exception_class_of_the_real_socket(real, scenario):
    await real.set("worker", scenario, **({"duration_ms": 2000} if scenario == "slow_body" else {}))
    url = real.worker_url + "/workers/status"
    over_the_socket = await fetch(url)
    with aioresponses() as m:
        add_worker(m, real.worker_url, scenario, client_timeout_ms=500)
        helped = await fetch(url)
    assert isinstance(over_the_socket, type) and over_the_socket is helped


@pytest.mark.parametrize(("scenario", "params"), ANSWERS, ids=[a[0] for a in ANSWERS])
async def test_answers_match_the_socket_mocks(real, scenario, params):
    await real.set("worker", scenario, **params)
    url = real.worker_url + "/workers/status"
    status, content_type, body = await fetch(url)  # type: ignore[misc]
    with aioresponses() as m:
        add_worker(m, real.worker_url, scenario, **params)
        h_status, h_content_type, h_body = await fetch(url)  # type: ignore[misc]
    assert (h_status, h_content_type) == (status, content_type)
    assert without_times(h_body) == without_times(body)


def without_times(body: bytes) -> bytes:
    """The body with its timestamps blanked: the two sides build them at different instants."""
    return re.sub(rb'"\d{4}-\d\d-\d\dT[^"]*"', b'"T"', body)


async def test_slow_beyond_the_timeout_times_out_and_tmux_works_too():
    with aioresponses() as m:
        add_tmux(m, "http://tmux.test/api/dev/tmux/status", "slow", delay="1.2x", client_timeout_ms=100)
        assert await fetch("http://tmux.test/api/dev/tmux/status") is TimeoutError
    with aioresponses() as m:
        add_tmux(m, "http://tmux.test/api/dev/tmux/status", "healthy", sessions=4)
        status, _, body = await fetch("http://tmux.test/api/dev/tmux/status")  # type: ignore[misc]
        assert status == 200 and len(json.loads(body)["sessions"]) == 4


def test_per_request_scenarios_are_refused():
    with aioresponses() as m, pytest.raises(ScenarioError, match="use MockUpstreams"):
        add_worker(m, "http://w.test", "chaos")
