"""The webhook receiver mock: its own socket, scenarios switched at run time, a journal with every body."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from tes_contract.contract.schemas import validator_for
from tes_contract.mocks import MockControl, MockUpstreams

ALERT = {"status": "firing", "kind": "telemetryStatus", "value": "offline", "previous": "healthy", "event": 1,
         "startsAt": "2026-01-01T12:00:03.120Z"}


async def _post(client: httpx.AsyncClient, url: str, key: str = "k-1") -> httpx.Response:
    return await client.post(url, json=ALERT, headers={"Idempotency-Key": key})


async def test_each_scenario_answers_as_named_and_the_journal_keeps_body_and_headers():
    async with MockUpstreams() as mocks, httpx.AsyncClient(timeout=5) as client, \
            MockControl(mocks.control_url) as control:
        assert mocks.webhook_url.endswith("/webhook") and mocks.webhook_port not in (mocks.tmux_port, 0)
        assert (await _post(client, mocks.webhook_url)).status_code == 200
        await control.set("webhook", "client_error")  # over the control API, as another process would
        assert (await _post(client, mocks.webhook_url, "k-2")).status_code == 400
        await mocks.set("webhook", "client_error", status=422)
        assert (await _post(client, mocks.webhook_url, "k-3")).status_code == 422
        await mocks.set("webhook", "http_error", status=503)
        assert (await _post(client, mocks.webhook_url, "k-4")).status_code == 503
        await mocks.set("webhook", "reset")
        try:
            await _post(client, mocks.webhook_url, "k-5")
            raise AssertionError("reset answered")
        except httpx.TransportError:
            pass
        entries = await control.journal("webhook")
    assert [e["status"] for e in entries] == [200, 400, 422, 503, None]
    for entry in entries:
        validator_for("mock-journal-entry.json").validate(entry)
        assert json.loads(entry["body"]) == ALERT and entry["method"] == "POST" and entry["upstream"] == "webhook"
    assert [e["headers"]["Idempotency-Key"] for e in entries] == ["k-1", "k-2", "k-3", "k-4", "k-5"]


async def test_hang_holds_until_the_sender_gives_up_and_the_journal_says_when():
    async with MockUpstreams(webhook="hang") as mocks, httpx.AsyncClient(timeout=0.3) as client:
        started = time.time()
        try:
            await _post(client, mocks.webhook_url)
            raise AssertionError("hang answered")
        except httpx.TimeoutException:
            pass
        await asyncio.sleep(0.1)
        (entry,) = await mocks.journal("webhook")
    assert entry["status"] is None and entry["client_gave_up_at"] is not None
    assert 0.25 <= entry["client_gave_up_at"] - started < 2.0


async def test_a_timeline_fails_twice_then_accepts():
    async with MockUpstreams() as mocks, httpx.AsyncClient(timeout=5) as client:
        await mocks.run_timeline({"upstreams": {"webhook": ["http_error x2", "healthy"]}})
        codes = [(await _post(client, mocks.webhook_url)).status_code for _ in range(4)]
        wrong_path = await client.post(mocks.webhook_url.replace("/webhook", "/other"), json=ALERT)
        wrong_method = await client.get(mocks.webhook_url)
    assert codes == [500, 500, 200, 200]
    assert (wrong_path.status_code, wrong_method.status_code, wrong_method.headers["Allow"]) == (404, 405, "POST")
