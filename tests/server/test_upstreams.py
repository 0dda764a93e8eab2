"""Unit tests of the upstream calls and their classification, with aioresponses (no sockets)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp
import aioresponses.core as aioresponses_core
import pytest
from aioresponses import aioresponses

from tes_contract.server.upstreams import NOT_JSON, UpstreamAnswer, fetch_json, tmux_count, worker_fields

URL = "http://upstream.test/workers/status"


class _CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without the `stream_writer` aiohttp 3.14 requires (aioresponses
    issue #289); give it one that says the request was fully written."""

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture(autouse=True)
def _aioresponses_on_aiohttp_314(monkeypatch):
    monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.mark.parametrize(("status", "payload", "expected"), [
    (200, {"connected": 5, "workers": []}, (5, "healthy")),
    (200, {"connected": 1}, (1, "healthy")),  # only `connected` is read
    (200, {"connected": 0, "workers": []}, (0, "degraded")),
    (200, {"connected": True}, (0, "degraded")),  # a JSON boolean is not an integer
    (200, {"connected": False}, (0, "degraded")),
    (200, {"connected": -1}, (0, "degraded")),
    (200, {"connected": 2.0}, (0, "degraded")),
    (200, {"connected": "3"}, (0, "degraded")),
    (200, {"connected": None}, (0, "degraded")),
    (200, {"workers": []}, (0, "degraded")),
    (200, [{"connected": 3}], (0, "degraded")),
    (200, 3, (0, "degraded")),
    (500, {"connected": 3}, (0, "degraded")),  # non-2xx: degraded whatever the body
    (404, {"error": "x"}, (0, "degraded")),
    (204, None, (0, "degraded")),
])
async def test_worker_classification(session, status, payload, expected):
    with aioresponses() as mocked:
        mocked.get(URL, status=status, payload=payload)
        answer = await fetch_json(session, URL, 1.0)
    assert answer.answered and answer.status == status
    assert worker_fields(answer) == expected


async def test_worker_body_not_json_is_degraded(session):
    with aioresponses() as mocked:
        mocked.get(URL, status=200, body="{not json", content_type="application/json")
        answer = await fetch_json(session, URL, 1.0)
    assert answer.answered and answer.body is NOT_JSON
    assert worker_fields(answer) == (0, "degraded")


async def test_content_type_is_not_read(session):
    with aioresponses() as mocked:
        mocked.get(URL, status=200, body='{"connected": 4}', content_type="text/html")
        answer = await fetch_json(session, URL, 1.0)
    assert worker_fields(answer) == (4, "healthy")


@pytest.mark.parametrize("error", [
    aiohttp.ClientConnectionError("refused"),
    aiohttp.ServerDisconnectedError(),
    aiohttp.ClientPayloadError("truncated"),
    ConnectionResetError(104, "reset"),
    TimeoutError(),
])
async def test_no_answer_is_offline(session, error):
    with aioresponses() as mocked:
        mocked.get(URL, exception=error)
        answer = await fetch_json(session, URL, 1.0)
    assert not answer.answered and answer.reason
    assert worker_fields(answer) == (0, "offline")
    assert tmux_count(answer) == 0


@pytest.mark.parametrize(("status", "payload", "expected"), [
    (200, {"online": True, "sessions": [{}, {}, {}]}, 3),
    (200, {"online": True, "sessions": []}, 0),
    (200, {"online": False, "sessions": [{}, {}]}, 0),  # offline tmux: 0 whatever it lists
    (200, {"online": 1, "sessions": [{}]}, 0),  # 1 is not a boolean
    (200, {"online": True, "sessions": {}}, 0),
    (200, {"sessions": [{}]}, 0),
    (200, {"online": True}, 0),
    (200, [], 0),
    (500, {"online": True, "sessions": [{}]}, 0),
])
async def test_tmux_classification(session, status, payload, expected):
    with aioresponses() as mocked:
        mocked.get(URL, status=status, payload=payload)
        answer = await fetch_json(session, URL, 1.0)
    assert tmux_count(answer) == expected


async def test_timeout_bounds_a_slow_answer(session):
    async def slow(url, **kwargs):
        await asyncio.sleep(5)

    with aioresponses() as mocked:
        mocked.get(URL, callback=slow, payload={"connected": 1})
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await fetch_json(session, URL, 0.2)
    assert loop.time() - started < 1.0
    assert not answer.answered and answer.reason.startswith("timeout")


def test_answer_ok_needs_2xx():
    assert UpstreamAnswer(True, 299).ok and not UpstreamAnswer(True, 300).ok and not UpstreamAnswer(False).ok
