"""Every scenario over real sockets, seen by httpx the way a status server's client sees it."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from tes_contract.contract.rules import tmux_sessions, worker_connected
from tes_contract.contract.schemas import validator_for
from tes_contract.mocks import INVALID_VARIANTS, MockUpstreams

TIMEOUT_S = 1.0
SLACK_S = 0.75  # generous: other helpers' tests share the two cores


@pytest.fixture
def mock_upstreams_options():
    return {"client_timeout_ms": TIMEOUT_S * 1000}


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as c:
        yield c


def status_url(mocks: MockUpstreams) -> str:
    return mocks.worker_url + "/workers/status"


async def test_healthy_bodies_validate_and_follow_parameters(mock_upstreams, client):
    tmux = await client.get(mock_upstreams.tmux_url)
    worker = await client.get(status_url(mock_upstreams))
    assert tmux.status_code == worker.status_code == 200
    assert tmux.headers["content-type"] == worker.headers["content-type"] == "application/json"
    validator_for("tmux-status").validate(tmux.json())
    validator_for("worker-status").validate(worker.json())
    await mock_upstreams.set("tmux", "healthy", sessions=5, panes=3)
    await mock_upstreams.set("worker", "healthy", connected=7)
    tmux = (await client.get(mock_upstreams.tmux_url)).json()
    worker = (await client.get(status_url(mock_upstreams))).json()
    validator_for("tmux-status").validate(tmux)
    validator_for("worker-status").validate(worker)
    assert tmux_sessions(tmux) == 5 and all(len(s["panes"]) == 3 for s in tmux["sessions"])
    assert worker_connected(worker) == 7 and len(worker["workers"]) == 7
    await mock_upstreams.set("tmux", "healthy", online=False)
    offline = (await client.get(mock_upstreams.tmux_url)).json()
    validator_for("tmux-status").validate(offline)
    assert tmux_sessions(offline) == 0


async def test_zero_is_valid_and_empty(mock_upstreams, client):
    await mock_upstreams.set("tmux", "zero")
    await mock_upstreams.set("worker", "zero")
    tmux = (await client.get(mock_upstreams.tmux_url)).json()
    worker = (await client.get(status_url(mock_upstreams))).json()
    validator_for("tmux-status").validate(tmux)
    validator_for("worker-status").validate(worker)
    assert (tmux_sessions(tmux), worker_connected(worker)) == (0, 0)


async def test_snapshot_is_an_attachment_and_bad_ids_are_refused(mock_upstreams, client):
    ok = await client.get(mock_upstreams.worker_url + "/workers/worker-2/snapshot")
    assert ok.status_code == 200
    assert ok.headers["content-disposition"].startswith("attachment")
    assert ok.json()["id"] == "worker-2"
    bad = await client.get(mock_upstreams.worker_url + "/workers/b%40d/snapshot")
    unknown = await client.get(mock_upstreams.worker_url + "/workers/worker-99/snapshot")
    assert (bad.status_code, unknown.status_code) == (400, 404)
    validator_for("error").validate(bad.json())
    validator_for("error").validate(unknown.json())
    assert (await client.get(mock_upstreams.worker_url + "/nowhere")).status_code == 404
    refused = await client.post(status_url(mock_upstreams))
    assert refused.status_code == 405 and "GET" in refused.headers["allow"]


@pytest.mark.parametrize("status", [500, 503])
async def test_http_error_answers_the_status_with_an_error_body(mock_upstreams, client, status):
    params = {} if status == 500 else {"status": status}
    await mock_upstreams.set("worker", "http_error", **params)
    response = await client.get(status_url(mock_upstreams))
    assert response.status_code == status
    validator_for("error").validate(response.json())


async def test_down_refuses_connections_then_reopens_on_the_same_port(mock_upstreams, client):
    port = mock_upstreams.worker_port
    assert (await client.get(status_url(mock_upstreams))).status_code == 200  # leaves a pooled keep-alive
    await mock_upstreams.set("worker", "down")
    with pytest.raises(httpx.ConnectError):
        await client.get(status_url(mock_upstreams))
    assert (await mock_upstreams.get("worker"))["listening"] is False
    await mock_upstreams.set("worker", "healthy")
    assert mock_upstreams.worker_port == port
    assert (await client.get(status_url(mock_upstreams))).status_code == 200


async def test_hang_makes_the_client_give_up_at_its_timeout_and_the_journal_says_when(mock_upstreams, client):
    await mock_upstreams.set("worker", "hang")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await client.get(status_url(mock_upstreams))
    elapsed = time.monotonic() - started
    assert TIMEOUT_S <= elapsed < TIMEOUT_S + SLACK_S
    entry = await _settled_entry(mock_upstreams, "worker")
    assert entry["completed_at"] is None and entry["status"] is None
    waited = entry["client_gave_up_at"] - entry["arrived_at"]
    assert TIMEOUT_S - 0.05 <= waited < TIMEOUT_S + SLACK_S
    assert entry["decision"] == {"scenario": "hang"}


async def _settled_entry(mocks: MockUpstreams, upstream: str) -> dict:
    """The last journal entry once the mock has seen the disconnect (it learns it asynchronously)."""
    for _ in range(100):
        entry = (await mocks.journal(upstream))[-1]
        if entry["client_gave_up_at"] is not None or entry["completed_at"] is not None:
            return entry
        await asyncio.sleep(0.02)
    raise AssertionError(f"journal entry never settled: {(await mocks.journal(upstream))[-1]}")


async def test_slow_fraction_of_timeout_answers_inside_it(mock_upstreams):
    timeout_s = 2.0  # 0.8x leaves 0.4 s of margin, enough on a busy machine
    await mock_upstreams.set_client_timeout(timeout_s * 1000)
    await mock_upstreams.set("worker", "slow", delay="0.8x")
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        started = time.monotonic()
        response = await client.get(status_url(mock_upstreams))
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        validator_for("worker-status").validate(response.json())
        assert 0.8 * timeout_s - 0.02 <= elapsed < timeout_s
        await mock_upstreams.set("tmux", "slow", delay_ms=300)
        started = time.monotonic()
        assert (await client.get(mock_upstreams.tmux_url)).status_code == 200
        assert 0.28 <= time.monotonic() - started < 0.3 + SLACK_S


async def test_slow_body_sends_headers_at_once_but_the_whole_answer_exceeds_the_time(mock_upstreams, client):
    await mock_upstreams.set("worker", "slow_body", duration="1.2x", chunks=6)
    started = time.monotonic()
    async with client.stream("GET", status_url(mock_upstreams)) as response:
        headers_at = time.monotonic() - started
        body = await response.aread()
    done_at = time.monotonic() - started
    assert response.status_code == 200 and headers_at < 0.5
    assert done_at > TIMEOUT_S  # per-read timeouts never fire: only a total deadline catches this
    validator_for("worker-status").validate(json.loads(body))
    entry = (await _settled_entry(mock_upstreams, "worker"))
    assert entry["completed_at"] - entry["arrived_at"] >= 1.2 * TIMEOUT_S - 0.02


async def test_slow_body_with_a_total_deadline_gives_up_and_is_journalled(mock_upstreams, client):
    await mock_upstreams.set("worker", "slow_body", duration_ms=3000)
    began = time.time()  # the deadline runs from here, connect included, so compare with this
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await client.get(status_url(mock_upstreams))
    entry = await _settled_entry(mock_upstreams, "worker")
    assert entry["completed_at"] is None
    assert 0.5 - 0.02 <= entry["client_gave_up_at"] - began < 0.5 + SLACK_S


async def test_malformed_json_is_not_json(mock_upstreams, client):
    await mock_upstreams.set("tmux", "malformed_json")
    response = await client.get(mock_upstreams.tmux_url)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_wrong_content_type_serves_a_valid_body_as_html(mock_upstreams, client):
    await mock_upstreams.set("worker", "wrong_content_type", connected=2)
    response = await client.get(status_url(mock_upstreams))
    assert response.headers["content-type"].startswith("text/html")
    validator_for("worker-status").validate(response.json())
    assert worker_connected(response.json()) == 2


@pytest.mark.parametrize(("upstream", "variant"),
                         [(u, v) for u, variants in INVALID_VARIANTS.items() for v in variants])
async def test_invalid_shape_variants_break_the_validity_rule(mock_upstreams, client, upstream, variant):
    await mock_upstreams.set(upstream, "invalid_shape", variant=variant)
    url = mock_upstreams.tmux_url if upstream == "tmux" else status_url(mock_upstreams)
    response = await client.get(url)
    body = response.json()  # valid JSON ...
    rule = tmux_sessions if upstream == "tmux" else worker_connected
    assert rule(body) is None  # ... that the contract calls invalid
    assert not validator_for(f"{upstream}-status").is_valid(body)


async def test_truncated_body_raises_remote_protocol_error(mock_upstreams, client):
    await mock_upstreams.set("worker", "truncated")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        await client.get(status_url(mock_upstreams))
    entry = await _settled_entry(mock_upstreams, "worker")
    assert entry["status"] == 200 and entry["client_gave_up_at"] is None


async def test_reset_raises_read_error(mock_upstreams, client):
    await mock_upstreams.set("worker", "reset")
    with pytest.raises(httpx.ReadError):  # ECONNRESET while waiting for the answer
        await client.get(status_url(mock_upstreams))
    assert (await mock_upstreams.journal("worker"))[-1]["client_gave_up_at"] is None


async def test_empty_raises_remote_protocol_error(mock_upstreams, client):
    await mock_upstreams.set("tmux", "empty")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await client.get(mock_upstreams.tmux_url)


async def test_flapping_alternates_every_n_requests(mock_upstreams, client):
    await mock_upstreams.set("worker", "flapping", a="healthy", b={"scenario": "http_error", "status": 502}, every=2)
    statuses = [(await client.get(status_url(mock_upstreams))).status_code for _ in range(6)]
    assert statuses == [200, 200, 502, 502, 200, 200]
    assert [e["decision"]["request"] for e in await mock_upstreams.journal("worker")] == list(range(6))


async def _chaos_run(seed: int, count: int = 24) -> tuple[list[str], list[dict]]:
    async with MockUpstreams(client_timeout_ms=200) as mocks, httpx.AsyncClient(timeout=0.2) as client:
        weights = {"healthy": 2, "http_error": 1, "empty": 1, "malformed_json": 1}
        await mocks.set("worker", "chaos", seed=seed, weights=weights)
        for _ in range(count):
            try:
                await client.get(status_url(mocks))
            except httpx.HTTPError:
                pass
        entries = await mocks.journal("worker")
    return [e["decision"]["scenario"] for e in entries], entries


async def test_chaos_same_seed_same_sequence_different_seed_different():
    first, entries = await _chaos_run(seed=7)
    second, _ = await _chaos_run(seed=7)
    other, _ = await _chaos_run(seed=8)
    assert first == second
    assert first != other
    assert len(set(first)) > 1
    assert all(e["decision"]["seed"] == 7 and 0 <= e["decision"]["draw"] < 1 for e in entries)


async def test_fixed_serves_exactly_the_given_answer(mock_upstreams, client):
    await mock_upstreams.set("worker", "fixed", status=201, body={"connected": 3, "extra": [1, 2]})
    response = await client.get(status_url(mock_upstreams))
    assert (response.status_code, response.json()) == (201, {"connected": 3, "extra": [1, 2]})
    await mock_upstreams.set("worker", "fixed", raw="not json", content_type="text/plain", headers={"X-A": "b"})
    response = await client.get(status_url(mock_upstreams))
    assert (response.status_code, response.content, response.headers["content-type"], response.headers["x-a"]) \
        == (200, b"not json", "text/plain", "b")
    await mock_upstreams.set("worker", "fixed", raw_base64="/w==")  # not UTF-8: bytes as given
    assert (await client.get(status_url(mock_upstreams))).content == b"\xff"


async def test_journal_records_every_request_with_its_decision(mock_upstreams, client):
    await client.get(status_url(mock_upstreams), headers={"X-Request-Id": "abc"})
    [entry] = await mock_upstreams.journal("worker")
    assert set(entry) == {"seq", "upstream", "method", "path", "headers", "scenario", "decision", "arrived_at",
                          "completed_at", "client_gave_up_at", "status"}
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    assert (entry["method"], entry["path"], entry["status"], headers["x-request-id"]) \
        == ("GET", "/workers/status", 200, "abc")
    assert entry["arrived_at"] <= entry["completed_at"]
    validator_for("mock-journal-entry.json").validate(entry)
    assert await mock_upstreams.clear_journal("worker") == 1 and await mock_upstreams.journal("worker") == []


async def test_nothing_leaks_after_close():
    before = {t for t in asyncio.all_tasks()}
    async with MockUpstreams() as mocks, httpx.AsyncClient(timeout=0.3) as client:
        await mocks.set("worker", "hang")
        hung = asyncio.create_task(client.get(status_url(mocks)))
        await asyncio.sleep(0.1)
        urls = [mocks.tmux_url, status_url(mocks), mocks.control_url]
    for url in urls:  # every listener closed
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient(timeout=0.5) as fresh:
                await fresh.get(url)
    with pytest.raises(httpx.HTTPError):  # the hung request was dropped, not answered
        await hung
    await asyncio.sleep(0.05)
    assert {t for t in asyncio.all_tasks() if not t.done()} - before - {asyncio.current_task()} == set()
