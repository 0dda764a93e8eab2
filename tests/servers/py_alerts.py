"""Webhook alerts of the independent Python server (aiohttp's client and stdlib sqlite3, no tes_contract).

Hooked into py_history.py (`HistoryPart.listeners`) and py_status_server.py (`start`, `settle_inline`,
`close`): each event that fires or resolves makes an alert, stored in the history database before it is
sent, POSTed to TES_ALERT_WEBHOOK_URL with an Idempotency-Key, retried after 0.3 s doubling up to 38.4 s
(76.5 s in all) on 5xx or no answer, never on 3xx/4xx, never after a 2xx.
Break modes (TES_BREAK): BREAKS below and tests/servers/README.md, "History breaks".
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

BREAKS = frozenset({"alerts_retry_4xx", "alerts_sent_twice", "alerts_no_resolved", "alerts_awaited",
                    "alerts_refused_dropped"})
BAD = {"trafficMode": ("degraded", "isolated"), "telemetryStatus": ("degraded", "offline")}
DELAYS_S = tuple(0.3 * 2**n for n in range(8))


class AlertPart:
    def __init__(self, env: dict[str, str], breaks: frozenset[str], db: sqlite3.Connection,
                 last: dict[str, str | None]) -> None:
        self.url = env.get("TES_ALERT_WEBHOOK_URL") or None
        self.timeout_s = int(env.get("TES_UPSTREAM_TIMEOUT_MS") or 5000) / 1000
        self.breaks = breaks
        self.db = db
        db.execute("CREATE TABLE IF NOT EXISTS alerts (event INTEGER PRIMARY KEY, kind TEXT, status TEXT, "
                   "key TEXT, body TEXT, state TEXT, attempts INTEGER)")
        self.spells: dict[str, str | None] = {kind: None for kind in BAD}
        for kind in BAD:
            row = db.execute("SELECT status, body FROM alerts WHERE kind = ? ORDER BY event DESC LIMIT 1",
                             (kind,)).fetchone()
            if row and row[0] == "firing" and last.get(kind) in BAD[kind]:
                self.spells[kind] = json.loads(row[1])["startsAt"]
        self.session: ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.inline: list[dict[str, Any]] = []  # alerts_awaited: first attempts the status answer waits for

    async def start(self) -> None:
        self.session = ClientSession(timeout=ClientTimeout(total=self.timeout_s))
        for event, key, body, attempts in self.db.execute(
                "SELECT event, key, body, attempts FROM alerts WHERE state = 'pending' ORDER BY event").fetchall():
            self._spawn({"event": event, "key": key, "body": body, "attempts": attempts})

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()

    def on_event(self, event: dict[str, Any]) -> None:
        """Make the event's alert, if it calls for one; on the loop, no waiting."""
        if self.url is None:
            return
        kind = event["kind"]
        base = {"kind": kind, "value": event["to"], "previous": event["from"], "event": event["id"]}
        if event["to"] in BAD[kind]:
            self.spells[kind] = self.spells[kind] or event["timestamp"]
            body = {"status": "firing", **base, "startsAt": self.spells[kind]}
        elif self.spells[kind] is not None:
            body = {"status": "resolved", **base, "startsAt": self.spells[kind], "endsAt": event["timestamp"]}
            self.spells[kind] = None
            if "alerts_no_resolved" in self.breaks:
                return
        else:
            return
        alert = {"event": event["id"], "key": str(uuid.uuid4()), "body": json.dumps(body), "attempts": 0}
        self.db.execute("INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, 'pending', 0)",
                        (event["id"], kind, body["status"], alert["key"], alert["body"]))
        if "alerts_awaited" in self.breaks:
            self.inline.append(alert)
        else:
            self._spawn(alert)

    async def settle_inline(self) -> None:
        """alerts_awaited: the status answer waits for the first attempt of each new alert."""
        while self.inline:
            alert = self.inline.pop(0)
            if await self._attempt_once(alert) == "retry":
                self._spawn(alert)

    def _spawn(self, alert: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(alert))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, alert: dict[str, Any]) -> None:
        while True:
            if alert["attempts"]:
                await asyncio.sleep(DELAYS_S[min(alert["attempts"], len(DELAYS_S)) - 1])
            outcome = await self._attempt_once(alert)
            if outcome != "retry":
                return
            if alert["attempts"] > len(DELAYS_S):
                self._done(alert, "failed")
                return

    async def _attempt_once(self, alert: dict[str, Any]) -> str:
        status = await self._post(alert)
        alert["attempts"] += 1
        if status is not None and 200 <= status < 300:
            if "alerts_sent_twice" in self.breaks and not alert.get("again"):
                alert["again"] = True
                await self._post(alert)
            self._done(alert, "delivered")
            return "delivered"
        if status is not None and status < 500 and "alerts_retry_4xx" not in self.breaks:
            self._done(alert, "failed")
            return "failed"
        if status is None and "alerts_refused_dropped" in self.breaks and alert["attempts"] == 1:
            self._done(alert, "failed")  # the break: a first attempt without an answer ends the alert
            return "failed"
        self.db.execute("UPDATE alerts SET attempts = ? WHERE event = ?", (alert["attempts"], alert["event"]))
        return "retry"

    async def _post(self, alert: dict[str, Any]) -> int | None:
        assert self.session is not None and self.url is not None
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert["key"]}
        try:
            async with self.session.post(self.url, data=alert["body"], headers=headers,
                                         allow_redirects=False) as response:
                return response.status
        except (TimeoutError, ClientError, OSError):
            return None

    def _done(self, alert: dict[str, Any], state: str) -> None:
        self.db.execute("UPDATE alerts SET state = ?, attempts = ? WHERE event = ?",
                        (state, alert["attempts"], alert["event"]))
