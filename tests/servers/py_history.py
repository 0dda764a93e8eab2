"""The history profile of the independent Python server (stdlib sqlite3 and aiohttp only, no tes_contract).

Hooked into py_status_server.py: `HistoryPart.open(env, breaks)` at start, `observe(doc)` on every status
body, `sample()` every TES_HISTORY_INTERVAL_MS, `history()`/`events()` for the two endpoints.
Break modes (TES_BREAK): see BREAKS and tests/servers/README.md, "History breaks".
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from py_alerts import BREAKS as ALERT_BREAKS  # the webhook alerts, in their own file
from py_alerts import AlertPart

BREAKS = frozenset({"log_overwritten", "events_duplicated", "ids_reset", "history_lost", "retention_ignored"}) \
    | ALERT_BREAKS
HISTORY_PATH = "/api/dev/status/history"
EVENTS_PATH = "/api/dev/events"
FIELDS = ("errorRate", "avgLatency", "requestsPerSecond", "tmux", "activeWorkers", "apiSessions",
          "websocketConnections", "memory", "cpu")
COUNTS = {"tmux", "activeWorkers", "apiSessions", "websocketConnections", "memory", "cpu"}
RANK = {"normal": 0, "degraded": 1, "isolated": 2, "healthy": 0, "offline": 2}


class StateError(Exception):
    """TES_STATE_DIR cannot be used."""


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(text: str) -> int:
    parsed = datetime.fromisoformat(text.upper())
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return int(parsed.timestamp() * 1000)


class HistoryPart:
    def __init__(self, env: dict[str, str], breaks: frozenset[str]) -> None:
        self.breaks = breaks
        self.on_event: Callable[[dict[str, Any]], None] | None = None  # the live part pushes each (EVENTS-PUSH)
        self.interval_ms = int(env.get("TES_HISTORY_INTERVAL_MS") or 10000)
        self.retention_s = int(env.get("TES_HISTORY_RETENTION_S") or 604800)
        self.log_path = Path(env.get("TES_EVENT_LOG") or "logs/worker-events.log")
        state = Path(env.get("TES_STATE_DIR") or ".tes")
        try:
            state.mkdir(parents=True, exist_ok=True)
            self.lock = open(state / "py-history.lock", "a")  # noqa: SIM115 - held for the process's life
        except OSError as error:
            raise StateError(f"TES_STATE_DIR={str(state)!r} is not a writable folder: {error}") from None
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StateError(f"TES_STATE_DIR={str(state)!r} is held by another process") from None
        path = ":memory:" if "history_lost" in breaks else str(state / "py-history.db")
        try:
            self.db = self._connect(path)
        except sqlite3.DatabaseError:
            os.replace(path, f"{path}.corrupt-{int(time.time())}")
            print(json.dumps({"event": "corrupt_db_moved", "path": path}), flush=True)
            self.db = self._connect(path)
        self.next_id = 1 if "ids_reset" in breaks else \
            (self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0] + 1)
        last = dict(self.db.execute("SELECT kind, dest FROM events ORDER BY id").fetchall())
        self.last: dict[str, str | None] = {"trafficMode": last.get("trafficMode", "normal"),
                                            "telemetryStatus": last.get("telemetryStatus")}
        self.last_event: dict[str, Any] | None = None
        self.alerts = AlertPart(env, breaks, self.db, self.last)

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA integrity_check").fetchone()
        db.execute("CREATE TABLE IF NOT EXISTS points (ms INTEGER, doc TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER, ms INTEGER, kind TEXT, src TEXT, dest TEXT)")
        return db

    def observe(self, doc: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        values = {"trafficMode": doc["vector"]["directions"]["trafficMode"],
                  "telemetryStatus": doc["meta"]["telemetryStatus"]}
        for kind, value in values.items():
            before, self.last[kind] = self.last[kind], value
            if before is not None and before != value:
                self._event(now, kind, before, value)
            elif "events_duplicated" in self.breaks and self.last_event is not None:
                event = self.last_event
                self._event(now, event["kind"], event["from"], event["to"])

    def _event(self, now: int, kind: str, src: str, dest: str) -> None:
        event = {"id": self.next_id, "timestamp": _stamp(now), "kind": kind, "from": src, "to": dest}
        self.next_id += 1
        self.last_event = event
        self.db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)", (event["id"], now, kind, src, dest))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w" if "log_overwritten" in self.breaks else "a") as log:
            log.write(json.dumps(event) + "\n")
        self.alerts.on_event(event)
        if self.on_event is not None:
            self.on_event(event)

    def sample(self, doc: dict[str, Any]) -> None:
        self.observe(doc)
        sessions, directions = doc["vector"]["sessions"], doc["vector"]["directions"]
        others = doc["vector"]["others"]
        point = {"trafficMode": directions["trafficMode"], "telemetryStatus": doc["meta"]["telemetryStatus"],
                 "errorRate": others["errorRate"], "avgLatency": directions["requestFlow"]["avgLatency"],
                 "requestsPerSecond": directions["requestFlow"]["requestsPerSecond"], "tmux": sessions["tmux"],
                 "activeWorkers": sessions["activeWorkers"], "apiSessions": max(1, sessions["apiSessions"]),
                 "websocketConnections": sessions["websocketConnections"], "memory": others["memory"],
                 "cpu": others["cpu"]}
        now = int(time.time() * 1000)
        self.db.execute("INSERT INTO points VALUES (?, ?)", (now, json.dumps(point)))
        if "retention_ignored" not in self.breaks:
            cutoff = now - self.retention_s * 1000
            self.db.execute("DELETE FROM points WHERE ms < ?", (cutoff,))
            self.db.execute("DELETE FROM events WHERE ms < ?", (cutoff,))

    def history(self, query: Any) -> tuple[int, dict[str, Any]]:
        try:
            until = _ms(query["until"]) if "until" in query else int(time.time() * 1000)
            since = _ms(query["since"]) if "since" in query else until - 3600_000
        except (ValueError, OverflowError):
            return 400, {"error": "since and until must be RFC 3339 date-times"}
        raw = query.get("limit", "1000")
        if not raw.isdigit() or not 1 <= int(raw) <= 10000:
            return 400, {"error": f"limit {raw!r} must be 1..10000"}
        if since > until:
            return 400, {"error": "since is after until"}
        rows = self.db.execute("SELECT ms, doc FROM points WHERE ms BETWEEN ? AND ? ORDER BY ms",
                               (since, until)).fetchall()
        points = [(ms, json.loads(doc)) for ms, doc in rows]
        limit = int(raw)
        if len(points) > limit:
            points = _buckets(points, limit)
        return 200, {"intervalMs": self.interval_ms, "retentionS": self.retention_s,
                     "points": [{"timestamp": _stamp(ms), **p} for ms, p in points]}

    def events(self, query: Any) -> tuple[int, dict[str, Any]]:
        after, limit = query.get("after", "0"), query.get("limit", "100")
        if not after.isdigit():
            return 400, {"error": f"after {after!r} must be an event id >= 0"}
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return 400, {"error": f"limit {limit!r} must be 1..1000"}
        rows = self.db.execute("SELECT id, ms, kind, src, dest FROM events WHERE id > ? ORDER BY rowid LIMIT ?",
                               (int(after), int(limit))).fetchall()
        return 200, {"events": [{"id": i, "timestamp": _stamp(ms), "kind": k, "from": s, "to": d}
                                for i, ms, k, s, d in rows]}


def _buckets(points: list[tuple[int, dict[str, Any]]], limit: int) -> list[tuple[int, dict[str, Any]]]:
    first, span = points[0][0], points[-1][0] - points[0][0] + 1
    groups: dict[int, list[dict[str, Any]]] = {}
    for ms, point in points:
        groups.setdefault((ms - first) * limit // span, []).append(point)
    merged = []
    for index in sorted(groups):
        group = groups[index]
        item: dict[str, Any] = {kind: max((p[kind] for p in group), key=RANK.__getitem__)
                                for kind in ("trafficMode", "telemetryStatus")}
        for name in FIELDS:
            mean = sum(p[name] for p in group) / len(group)
            item[name] = int(mean + 0.5) if name in COUNTS else mean
        merged.append((first + index * span // limit, item))
    return merged
