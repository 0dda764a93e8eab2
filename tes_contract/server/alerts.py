"""Webhook alerts (ALERT-*): one alert per event, queued in the history database, delivered off the answer path.

An alert is made on the loop, synchronously, when the history engine observes its event (no I/O there, so a
status answer never waits for it: ALERT-ISOLATION). Its row is queued on the history thread right after its
event's row, so an accepted alert survives a restart (a SIGKILL loses at most what the last interval had not
written, as for events). Each alert is then delivered by a task of its own (deliveries are independent): a
POST of `schemas/alert.json` with the same `Idempotency-Key` on every attempt, each attempt bounded by
`TES_UPSTREAM_TIMEOUT_MS`, on a client session of its own (a hanging webhook cannot hold the connections the
upstream calls need). 2xx: delivered, never sent again. 3xx or 4xx: failed at once (the receiver refuses
it; redirects are not followed). 5xx, refused, reset, timed out: retried after RETRY_DELAYS_S, growing, for
127 s in all, then failed. After a restart, pending alerts resume where they were.

Why aiohttp's client and not a retry library (tenacity, backoff): the schedule is eight numbers and the
state must live in the database across restarts, which those libraries keep in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tes_contract.contract.formats import rfc3339_ms
from tes_contract.server.history import History
from tes_contract.server.history_store import HistoryDB
from tes_contract.server.logs import log_event
from tes_contract.server.settings import Settings

#: Delay before each retry, in seconds (growing); the last retry comes 127.5 s after the first attempt.
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
#: The values that fire (ALERT-FIRE); the others (normal, healthy) resolve.
BAD = {"trafficMode": frozenset({"degraded", "isolated"}), "telemetryStatus": frozenset({"degraded", "offline"})}
#: Alerts `GET /api/dev/alerts` lists, newest first.
RECENT = 100
#: Concurrent webhook connections at most (more deliveries wait for one; each attempt stays bounded).
MAX_CONNECTIONS = 32

Alert = dict[str, Any]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stamp(ms: int | None) -> str | None:
    return rfc3339_ms(ms) if ms is not None else None


def public_alert(alert: Alert) -> dict[str, Any]:
    """One alert as `GET /api/dev/alerts` shows it: the body sent and its delivery state."""
    stamp = _stamp
    return {"event": alert["event"], "kind": alert["kind"], "status": alert["status"], "state": alert["state"],
            "attempts": alert["attempts"], "createdAt": stamp(alert["created_ms"]),
            "nextAttemptAt": stamp(alert["next_ms"]) if alert["state"] == "pending" else None,
            "doneAt": stamp(alert["done_ms"]), "lastError": alert["last_error"],
            "idempotencyKey": alert["idempotency_key"], "alert": json.loads(alert["body"])}


def webhook_origin(url: str | None) -> str | None:
    """Scheme, host and port of the webhook: its path often holds a secret (chat webhooks do), so not shown."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class Alerts:
    """Open with `await Alerts.open(settings, history)`; `on_event` is a history listener; `await close()`."""

    def __init__(self, settings: Settings, history: History, session: aiohttp.ClientSession) -> None:
        self.url = settings.alert_webhook_url
        self.timeout_ms = settings.upstream_timeout_ms
        self._history = history
        self._session = session
        #: Per kind, `startsAt` of the bad spell an alert fired for (None: nothing fired, nothing to resolve).
        self._spells: dict[str, str | None] = {kind: None for kind in BAD}
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @classmethod
    async def open(cls, settings: Settings, history: History) -> Alerts:
        """The session, the spells left open by the last run, and its pending alerts resumed."""
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS), trust_env=False,
                                        timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout_s))
        alerts = cls(settings, history, session)
        try:
            await alerts._resume()
        except BaseException:
            await session.close()
            raise
        return alerts

    async def _resume(self) -> None:
        def read(db: HistoryDB) -> tuple[dict[str, list[Alert]], list[Alert]]:
            last = {kind: db.alerts("WHERE kind = ?", (kind,), 1) for kind in BAD}
            return last, db.alerts("WHERE state = 'pending'", (), 1_000_000)

        last, pending = await self._history.call(read)
        for kind, rows in last.items():
            # A spell is still open when its last alert fired and the value resumed from is still bad.
            if rows and rows[0]["status"] == "firing" and self._history.last_value(kind) in BAD[kind]:
                self._spells[kind] = json.loads(rows[0]["body"])["startsAt"]
        if self.url is None:
            return
        for alert in reversed(pending):
            self._start(alert)
        if pending:
            log_event("alerts_resumed", pending=len(pending))

    def on_event(self, event: dict[str, Any]) -> None:
        """Make the alert of one event (ALERT-FIRE), queue its row, start its delivery; on the loop, no I/O."""
        if self.url is None:
            return
        kind, value = event["kind"], event["to"]
        body: dict[str, Any] = {"kind": kind, "value": value, "previous": event["from"], "event": event["id"]}
        if value in BAD[kind]:
            starts = self._spells[kind] or event["timestamp"]
            self._spells[kind] = starts
            body = {"status": "firing", **body, "startsAt": starts}
        elif self._spells[kind] is not None:
            body = {"status": "resolved", **body, "startsAt": self._spells[kind], "endsAt": event["timestamp"]}
            self._spells[kind] = None
        else:
            return  # back to good with nothing fired (the spell began before the first observation)
        now = _now_ms()
        alert: Alert = {"event": event["id"], "kind": kind, "status": body["status"],
                        "idempotency_key": f"tes-alert-{uuid.uuid4()}", "body": json.dumps(body, separators=(",", ":")),
                        "state": "pending", "attempts": 0, "created_ms": now, "next_ms": now, "done_ms": None,
                        "last_error": None}
        self._history.post(HistoryDB.save_alert, dict(alert))
        self._start(alert)

    def _start(self, alert: Alert) -> None:
        self._tasks[alert["event"]] = asyncio.get_running_loop().create_task(self._deliver(alert))

    async def _deliver(self, alert: Alert) -> None:
        """Attempt until delivered, refused or out of retries; every attempt's outcome is written."""
        try:
            while alert["state"] == "pending":
                wait_s = (alert["next_ms"] - _now_ms()) / 1000
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                outcome, error = await self._attempt(alert)
                self._settle(alert, outcome, error)
                self._history.post(HistoryDB.save_alert, dict(alert))
        except Exception:
            log_event("alert_delivery_failed", level=logging.ERROR, alert_event=alert["event"], exc_info=True)
        finally:
            self._tasks.pop(alert["event"], None)

    def _settle(self, alert: Alert, outcome: str, error: str | None) -> None:
        alert["attempts"] += 1
        now = _now_ms()
        alert["last_error"] = error
        if outcome == "delivered":
            alert["state"], alert["done_ms"], alert["next_ms"] = "delivered", now, None
        elif outcome == "refused" or alert["attempts"] > len(RETRY_DELAYS_S):
            alert["state"], alert["done_ms"], alert["next_ms"] = "failed", now, None
            if outcome != "refused":
                alert["last_error"] = f"{error}; gave up after {alert['attempts']} attempts"
        else:
            alert["next_ms"] = now + int(RETRY_DELAYS_S[alert["attempts"] - 1] * 1000)
        if alert["state"] != "pending":
            log_event("alert_" + alert["state"], level=logging.INFO if outcome == "delivered" else logging.WARNING,
                      alert_event=alert["event"], status=alert["status"], attempts=alert["attempts"],
                      error=alert["last_error"])

    async def _attempt(self, alert: Alert) -> tuple[str, str | None]:
        """One POST: ("delivered" | "refused" | "retry", the error or None)."""
        assert self.url is not None
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert["idempotency_key"],
                   "User-Agent": "tes-contract alerts"}
        try:
            async with self._session.post(self.url, data=alert["body"].encode(), headers=headers,
                                          allow_redirects=False) as response:
                status = response.status
        except TimeoutError:
            return "retry", f"timed out after {self.timeout_ms} ms"
        except aiohttp.ClientConnectorError as exc:
            return "retry", f"cannot connect: {exc.os_error.strerror or exc.os_error}"
        except (aiohttp.ClientError, OSError) as exc:
            return "retry", f"{type(exc).__name__}: {exc}"
        if 200 <= status < 300:
            return "delivered", None
        if status >= 500:
            return "retry", f"HTTP {status}"
        return "refused", f"HTTP {status} (not retried: a 3xx or 4xx means the receiver refuses the alert)"

    async def describe(self) -> dict[str, Any]:
        """`GET /api/dev/alerts`: the webhook (origin only), counts per state, the latest alerts."""
        counts, recent = await self._history.call(lambda db: (db.alert_counts(), db.alerts(limit=RECENT)))
        return {"webhook": webhook_origin(self.url), "timeoutMs": self.timeout_ms,
                "retryDelaysS": list(RETRY_DELAYS_S),
                "counts": {state: counts.get(state, 0) for state in ("pending", "delivered", "failed")},
                "alerts": [public_alert(a) for a in recent]}

    async def close(self) -> None:
        """Stop the deliveries (pending alerts stay queued for the next start) and close the session."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._session.close()
