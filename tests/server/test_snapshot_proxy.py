"""The snapshot proxy (DEV-SNAPSHOT) against the project's worker mock on a real socket.

Time bounds: the upstream timeout is 1000 ms; the slow body takes 0.8 x (800 ms) and must arrive whole, a
hang must end by the timeout plus 2 s of slack for a busy CI machine.
"""

from __future__ import annotations

import hashlib
import time

import aiohttp
import pytest

from tes_contract.mocks import MockUpstreams
from tes_contract.mocks.snapshots import snapshot_digest

TOKEN = "snapshot-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT_MS = 1000


@pytest.fixture
async def mocks():
    async with MockUpstreams(client_timeout_ms=TIMEOUT_MS) as upstreams:
        yield upstreams


@pytest.fixture
async def base(mocks, start_server):
    return await start_server(tmux_status_url=mocks.tmux_url, worker_api_url=mocks.worker_url, dev_token=TOKEN,
                              upstream_timeout_ms=TIMEOUT_MS)


def _snapshot_calls(journal):
    return [e for e in journal if e["path"].endswith("/snapshot")]


async def _get(http, url, headers=AUTH):
    async with http.get(url, headers=headers) as response:
        return response.status, response.headers, await response.read()


async def test_body_is_streamed_byte_for_byte_as_an_attachment(mocks, base, http):
    await mocks.set("worker", "healthy", snapshot={"mode": "healthy", "size": 3 * 1024 * 1024 + 7})
    status, headers, body = await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="worker-worker-1-snapshot.json"'
    assert len(body) == 3 * 1024 * 1024 + 7
    assert hashlib.sha256(body).hexdigest() == snapshot_digest("worker-1", 3 * 1024 * 1024 + 7)


async def test_a_body_taking_0_8x_of_the_timeout_arrives_whole(mocks, base, http):
    await mocks.set("worker", "healthy", snapshot={"mode": "slow_body", "size": 20000, "duration": "0.8x"})
    started = time.monotonic()
    status, _, body = await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")
    assert time.monotonic() - started >= 0.7  # it really was slow
    assert status == 200 and hashlib.sha256(body).hexdigest() == snapshot_digest("worker-1", 20000)


async def test_a_slower_body_is_aborted_never_a_short_complete_one(mocks, base, http):
    await mocks.set("worker", "healthy", snapshot={"mode": "slow_body", "size": 20000, "duration": "2x"})
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientPayloadError):
        await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")
    assert time.monotonic() - started < TIMEOUT_MS / 1000 + 2.0


async def test_a_hang_is_504_within_the_timeout(mocks, base, http):
    await mocks.set("worker", "healthy", snapshot="hang")
    started = time.monotonic()
    status, _, body = await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")
    assert status == 504 and b"error" in body
    assert time.monotonic() - started < TIMEOUT_MS / 1000 + 2.0


async def test_a_reset_mid_body_aborts(mocks, base, http):
    await mocks.set("worker", "healthy", snapshot={"mode": "reset", "size": 500000})
    with pytest.raises(aiohttp.ClientPayloadError):
        await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")


@pytest.mark.parametrize(("mode", "status"), [("not_found", 404), ("bad_request", 400)])
async def test_the_workers_404_and_400_pass_through_as_json(mocks, base, http, mode, status):
    await mocks.set("worker", "healthy", snapshot=mode)
    answer, headers, body = await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")
    assert answer == status and headers["Content-Type"].startswith("application/json") and b'"error"' in body


async def test_worker_down_is_503(mocks, base, http):
    await mocks.set("worker", "down")
    assert (await _get(http, f"{base}/api/dev/workers/worker-1/snapshot"))[0] == 503


@pytest.mark.parametrize("worker_id", [".", "..", "a b", "x" * 129, "a%2Fb", "%00", "b@d"])
async def test_bad_ids_are_400_before_any_upstream_call(mocks, base, http, worker_id):
    status, _, _ = await _get(http, f"{base}/api/dev/workers/{worker_id}/snapshot")
    assert status in (400, 404)  # 404: aiohttp's router normalises dot segments away (no route)
    assert _snapshot_calls(await mocks.journal("worker")) == []


async def test_second_request_within_10_s_is_429_with_retry_after_other_workers_free(mocks, base, http):
    await mocks.set("worker", "healthy", snapshot="not_found")  # the slot is used whatever the worker answers
    assert (await _get(http, f"{base}/api/dev/workers/worker-1/snapshot"))[0] == 404
    status, headers, _ = await _get(http, f"{base}/api/dev/workers/worker-1/snapshot")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 10
    assert len(_snapshot_calls(await mocks.journal("worker"))) == 1
    await mocks.set("worker", "healthy")
    assert (await _get(http, f"{base}/api/dev/workers/worker-2/snapshot"))[0] == 200


async def test_refused_requests_take_no_slot_and_call_nothing(mocks, base, http):
    assert (await _get(http, f"{base}/api/dev/workers/worker-1/snapshot", headers={}))[0] == 401
    foreign = {**AUTH, "Origin": "http://evil.example"}
    assert (await _get(http, f"{base}/api/dev/workers/worker-1/snapshot", headers=foreign))[0] == 403
    assert _snapshot_calls(await mocks.journal("worker")) == []
    assert (await _get(http, f"{base}/api/dev/workers/worker-1/snapshot"))[0] == 200


def test_the_limiter_counts_whole_seconds():
    from tes_contract.server.worker_snapshot import RateLimiter

    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.take("w") is None
    now[0] += 9.2
    assert limiter.take("w") == 1
    now[0] += 0.8
    assert limiter.take("w") is None
