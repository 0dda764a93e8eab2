"""Webhook alerts of the reference server, against the real webhook mock on its own socket (ALERT-*).

Timing tolerances: deliveries are awaited for up to 3 s (the contract's 1 s plus room for a busy CI
machine); a status answer with the webhook hanging must come within 0.4 s (healthy upstreams answer in
milliseconds; the hanging attempt is bounded at 0.5 s, so an answer that waited for it would take more).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from tes_contract.contract.schemas import validator_for
from tes_contract.mocks import MockUpstreams
from tes_contract.server import Settings, create_app
from tes_contract.server.alerts import RETRY_DELAYS_S

TIMEOUT_MS = 500


@asynccontextmanager
async def served(mocks: MockUpstreams, **overrides: Any) -> AsyncIterator[str]:
    """The reference server with history and alerts to the webhook mock, on a free port; its base URL."""
    settings = {"port": 0, "tmux_status_url": mocks.tmux_url, "worker_api_url": mocks.worker_url,
                "alert_webhook_url": mocks.webhook_url, "upstream_timeout_ms": TIMEOUT_MS,
                "history_interval_ms": 100, **overrides}
    runner = web.AppRunner(create_app(Settings(**settings)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _get(base: str, path: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, session.get(base + path) as response:
        return response.status, await response.json(), time.monotonic() - started


async def _wait(predicate: Callable[[], Any], within_s: float = 3.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def _flip(mocks: MockUpstreams, base: str, scenario: str, shown: str) -> None:
    await mocks.set("worker", scenario)

    async def shows() -> bool:
        return (await _get(base, "/api/dev/status"))[1]["meta"]["telemetryStatus"] == shown

    assert await _wait(shows, 5.0), f"telemetryStatus never became {shown}"


async def _deliveries(mocks: MockUpstreams, count: int, within_s: float = 3.0) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        entries = await mocks.journal("webhook")
        return entries if len(entries) >= count else None

    return await _wait(enough, within_s) or await mocks.journal("webhook")


async def test_firing_then_resolved_each_delivered_once_with_its_event():
    async with MockUpstreams() as mocks, served(mocks) as base:
        await _flip(mocks, base, "healthy", "healthy")
        await _flip(mocks, base, "down", "offline")
        await _flip(mocks, base, "http_error", "degraded")
        await _flip(mocks, base, "healthy", "healthy")
        entries = await _deliveries(mocks, 3)
        await asyncio.sleep(1.0)  # nothing more may come: each got a 200
        assert len(await mocks.journal("webhook")) == 3
        _, events, _ = await _get(base, "/api/dev/events")
        _, listing, _ = await _get(base, "/api/dev/alerts")
    bodies = [json.loads(e["body"]) for e in entries]
    for body in bodies:
        validator_for("alert.json").validate(body)
    telemetry = [e for e in events["events"] if e["kind"] == "telemetryStatus"]
    assert [(b["status"], b["value"], b["previous"], b["event"]) for b in bodies] == \
        [("firing", "offline", "healthy", telemetry[0]["id"]), ("firing", "degraded", "offline", telemetry[1]["id"]),
         ("resolved", "healthy", "degraded", telemetry[2]["id"])]
    assert {b["startsAt"] for b in bodies} == {telemetry[0]["timestamp"]}  # one bad spell
    assert bodies[2]["endsAt"] == telemetry[2]["timestamp"]
    keys = [e["headers"]["Idempotency-Key"] for e in entries]
    assert len(set(keys)) == 3
    for entry, event in zip(entries, telemetry, strict=True):
        stamp = time.mktime(time.strptime(event["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert entry["arrived_at"] - stamp < 2.0  # within 1 s of its event (the stamp is cut to the second)
    assert listing["counts"] == {"pending": 0, "delivered": 3, "failed": 0}
    assert listing["webhook"] == mocks.webhook_url.removesuffix("/webhook")  # origin only: the path may be secret
    assert [a["idempotencyKey"] for a in reversed(listing["alerts"])] == keys


async def test_500_twice_then_ok_is_three_attempts_with_one_key_and_growing_delays():
    async with MockUpstreams() as mocks, served(mocks) as base:
        await _flip(mocks, base, "healthy", "healthy")
        await mocks.run_timeline({"upstreams": {"webhook": ["http_error x2", "healthy"]}})
        await _flip(mocks, base, "down", "offline")
        entries = await _deliveries(mocks, 3, within_s=5.0)
        await asyncio.sleep(1.0)
        assert len(await mocks.journal("webhook")) == 3
        _, listing, _ = await _get(base, "/api/dev/alerts")
    assert [e["status"] for e in entries] == [500, 500, 200]
    assert len({e["headers"]["Idempotency-Key"] for e in entries}) == 1
    gaps = [b["arrived_at"] - a["arrived_at"] for a, b in zip(entries, entries[1:], strict=False)]
    assert RETRY_DELAYS_S[0] * 0.9 <= gaps[0] < gaps[1], gaps
    (alert,) = listing["alerts"]
    assert (alert["state"], alert["attempts"], alert["lastError"]) == ("delivered", 3, None)


async def _answered_once(webhook: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One alert to a webhook answering `webhook`, then twice the first retry delay: journal and listing."""
    async with MockUpstreams(webhook=webhook) as mocks, served(mocks) as base:
        await _flip(mocks, base, "healthy", "healthy")
        await _flip(mocks, base, "down", "offline")
        await _deliveries(mocks, 1)
        await asyncio.sleep(2 * RETRY_DELAYS_S[0] + 0.5)
        entries = await mocks.journal("webhook")
        _, listing, _ = await _get(base, "/api/dev/alerts")
    return entries, listing


async def test_a_4xx_is_never_retried_and_shows_as_failed():
    entries, listing = await _answered_once("client_error")
    assert [e["status"] for e in entries] == [400]
    assert listing["counts"]["failed"] == 1 and "HTTP 400" in listing["alerts"][0]["lastError"]


async def test_a_hanging_webhook_delays_no_answer_and_each_attempt_is_bounded():
    async with MockUpstreams(webhook="hang") as mocks, served(mocks) as base:
        await _flip(mocks, base, "healthy", "healthy")
        await _flip(mocks, base, "down", "offline")
        slowest = max([(await _get(base, "/api/dev/status"))[2] for _ in range(10)])
        entries = await _deliveries(mocks, 2, within_s=4.0)  # the first gave up at the timeout, then a retry
        _, listing, _ = await _get(base, "/api/dev/alerts")
    assert slowest < 0.4, slowest
    first = entries[0]
    assert first["client_gave_up_at"] is not None
    assert TIMEOUT_MS / 1000 * 0.9 <= first["client_gave_up_at"] - first["arrived_at"] < TIMEOUT_MS / 1000 + 1.0
    assert entries[1]["headers"]["Idempotency-Key"] == first["headers"]["Idempotency-Key"]
    assert listing["counts"]["pending"] == 1 and "timed out" in listing["alerts"][0]["lastError"]


async def test_an_accepted_alert_survives_a_restart_and_is_then_delivered_once():
    async with MockUpstreams(webhook="down") as mocks:
        async with served(mocks) as base:
            await _flip(mocks, base, "healthy", "healthy")
            await _flip(mocks, base, "down", "offline")
            await asyncio.sleep(0.3)  # the first attempt is refused; the alert waits for its retry
            _, before, _ = await _get(base, "/api/dev/alerts")
        assert before["counts"]["pending"] == 1 and "cannot connect" in before["alerts"][0]["lastError"]
        await mocks.set("webhook", "healthy")
        async with served(mocks) as base:
            entries = await _deliveries(mocks, 1, within_s=5.0)
            await asyncio.sleep(0.5)
            _, after, _ = await _get(base, "/api/dev/alerts")
            # The spell is still open after the restart: the return to healthy resolves it.
            await _flip(mocks, base, "healthy", "healthy")
            resolved = await _deliveries(mocks, 2)
    assert len(entries) == 1 and entries[0]["headers"]["Idempotency-Key"] == before["alerts"][0]["idempotencyKey"]
    assert after["counts"] == {"pending": 0, "delivered": 1, "failed": 0}
    assert json.loads(resolved[1]["body"])["status"] == "resolved"


async def test_no_webhook_no_alert():
    async with MockUpstreams() as mocks, served(mocks, alert_webhook_url=None) as base:
        await _flip(mocks, base, "healthy", "healthy")
        await _flip(mocks, base, "down", "offline")
        await asyncio.sleep(0.5)
        _, listing, _ = await _get(base, "/api/dev/alerts")
        assert await mocks.journal("webhook") == []
    assert listing["webhook"] is None and listing["alerts"] == []


def test_a_version_1_database_migrates_to_the_alert_queue_keeping_its_events(tmp_path):
    import sqlite3

    from tes_contract.server.history_store import MIGRATIONS, HistoryDB

    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(f"{MIGRATIONS[0]}; PRAGMA user_version = 1;")
        old.execute("INSERT INTO events VALUES (7, 1000, 'telemetryStatus', 'healthy', 'offline')")
    db = HistoryDB(path)
    try:
        assert db.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
        assert db.last_event_id() == 7 and db.alerts() == [] and db.alert_counts() == {}
    finally:
        db.close()


async def test_without_the_history_feature_there_are_no_alerts_and_no_crash():
    from tes_contract.server.app import FEATURES
    from tes_contract.server.routes import alerts, history

    async with MockUpstreams() as mocks:
        features = [f for f in FEATURES if f is not history.setup]
        assert alerts.setup in features
        runner = web.AppRunner(create_app(Settings(port=0, worker_api_url=mocks.worker_url,
                                                   alert_webhook_url=mocks.webhook_url), features))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            assert (await _get(base, "/api/dev/alerts"))[0] == 404
            assert (await _get(base, "/api/dev/status"))[0] == 200
        finally:
            await runner.cleanup()


def test_the_retry_schedule_grows_and_lasts_at_least_a_minute():
    assert all(a < b for a, b in zip(RETRY_DELAYS_S, RETRY_DELAYS_S[1:], strict=False))
    assert sum(RETRY_DELAYS_S[:-1]) >= 60  # the last retry comes after 60 s of retrying (ALERT-RETRY)


async def test_a_redirect_is_neither_followed_nor_retried():
    redirect = {"scenario": "fixed", "status": 302, "body": {}, "headers": {"Location": "/elsewhere"}}
    entries, listing = await _answered_once(redirect)
    assert [(e["path"], e["status"]) for e in entries] == [("/webhook", 302)]
    assert listing["counts"]["failed"] == 1 and "HTTP 302" in listing["alerts"][0]["lastError"]
