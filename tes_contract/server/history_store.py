"""The history database: SQLite (standard library `sqlite3`), used from one thread only (`history.py`).

WAL journal, `synchronous=NORMAL` (a crash loses at most the last commits, never the file), one writer.
The schema is versioned with `PRAGMA user_version` and migrated step by step at open. Points older than
`RAW_S` are merged into 1-minute buckets (the HISTORY-QUERY bucket rule) and everything older than the
retention is deleted, both in small batches, so a week at the default interval stays a few MB.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Raw points are kept this long, then merged into 1-minute buckets.
RAW_S = 24 * 3600
BUCKET_MS = 60_000
#: Rows deleted or minutes merged per maintenance step (small: the writer never stalls for long).
BATCH = 500
TRAFFIC = ("normal", "degraded", "isolated")  # index = severity
TELEMETRY = ("healthy", "degraded", "offline")
#: Columns of a point after its timestamp, in the order of `schemas/status-history.json`.
POINT_COLUMNS = ("trafficMode", "telemetryStatus", "errorRate", "avgLatency", "requestsPerSecond", "tmux",
                 "activeWorkers", "apiSessions", "websocketConnections", "memory", "cpu")
_INTEGER_FIGURES = ("tmux", "activeWorkers", "apiSessions", "websocketConnections", "memory", "cpu")

MIGRATIONS: tuple[str, ...] = (
    # version 1
    """
    CREATE TABLE points (ts_ms INTEGER NOT NULL, merged INTEGER NOT NULL DEFAULT 0,
        trafficMode INTEGER NOT NULL, telemetryStatus INTEGER NOT NULL, errorRate REAL NOT NULL,
        avgLatency REAL NOT NULL, requestsPerSecond REAL NOT NULL, tmux INTEGER NOT NULL,
        activeWorkers INTEGER NOT NULL, apiSessions INTEGER NOT NULL, websocketConnections INTEGER NOT NULL,
        memory INTEGER NOT NULL, cpu INTEGER NOT NULL);
    CREATE INDEX points_ts ON points (ts_ms);
    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,
        from_value TEXT NOT NULL, to_value TEXT NOT NULL);
    CREATE INDEX events_ts ON events (ts_ms);
    """,
    # version 2: the alert queue (ALERT-*): one row per alert, keyed by its event; `body` is the JSON sent
    """
    CREATE TABLE alerts (event INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE, body TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
        created_ms INTEGER NOT NULL, next_ms INTEGER, done_ms INTEGER, last_error TEXT);
    CREATE INDEX alerts_state ON alerts (state);
    """,
)
#: Columns of an alert row, in table order.
ALERT_COLUMNS = ("event", "kind", "status", "idempotency_key", "body", "state", "attempts", "created_ms", "next_ms",
                 "done_ms", "last_error")


class CorruptDatabase(Exception):
    """The file is not a SQLite database (or fails its integrity check)."""


class LockedDatabase(Exception):
    """Another process holds the database."""


class HistoryDB:
    """One connection to the history database; every method runs on the history thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=0.5, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL").fetchone()
            self.db.execute("PRAGMA synchronous=NORMAL")
            if self.db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise CorruptDatabase(f"{path}: quick_check failed")
            self._migrate()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LockedDatabase(str(exc)) from exc
            raise
        except sqlite3.DatabaseError as exc:
            raise CorruptDatabase(f"{path}: {exc}") from exc

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;")

    def close(self) -> None:
        """Checkpoint the WAL into the file and close."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    def last_event_id(self) -> int:
        """The largest id ever given (AUTOINCREMENT's sequence: deleted ids are not reused either)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return int(row[0]) if row else 0

    def last_values(self) -> dict[str, str]:
        """Each kind's last event `to`: where observation resumes after a restart (EVENTS-START)."""
        rows = self.db.execute("SELECT kind, to_value FROM events WHERE id IN "
                               "(SELECT MAX(id) FROM events GROUP BY kind)").fetchall()
        return {kind: value for kind, value in rows}

    def write(self, points: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> None:
        """Insert points (`ts_ms` + POINT_COLUMNS) and events (with their ids) in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                f"INSERT INTO points (ts_ms, {', '.join(POINT_COLUMNS)}) VALUES ({', '.join('?' * 12)})",
                [(p["ts_ms"], TRAFFIC.index(p["trafficMode"]), TELEMETRY.index(p["telemetryStatus"]),
                  *(p[c] for c in POINT_COLUMNS[2:])) for p in points])
            self.db.executemany("INSERT INTO events (id, ts_ms, kind, from_value, to_value) VALUES (?, ?, ?, ?, ?)",
                                [(e["id"], e["ts_ms"], e["kind"], e["from"], e["to"]) for e in events])

    def save_alert(self, alert: dict[str, Any]) -> None:
        """Insert or update one alert (its columns `ALERT_COLUMNS`)."""
        with self.db:
            self.db.execute(f"INSERT OR REPLACE INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(ALERT_COLUMNS))})", [alert[c] for c in ALERT_COLUMNS])

    def alerts(self, where: str = "", args: Sequence[Any] = (), limit: int = 100) -> list[dict[str, Any]]:
        """Alerts matching `where` (SQL over ALERT_COLUMNS), newest event first."""
        rows = self.db.execute(f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts {where} ORDER BY event DESC LIMIT ?",
                               (*args, limit)).fetchall()
        return [dict(zip(ALERT_COLUMNS, row, strict=True)) for row in rows]

    def alert_counts(self) -> dict[str, int]:
        """How many alerts are in each state."""
        return {state: count for state, count in self.db.execute("SELECT state, COUNT(*) FROM alerts GROUP BY state")}

    def maintain(self, now_ms: int, retention_s: int) -> int:
        """One small step of retention and merging; returns the rows it touched (0: nothing left to do)."""
        cutoff = now_ms - retention_s * 1000
        touched = 0
        with self.db:
            self.db.execute("BEGIN")
            touched += self.db.execute("DELETE FROM points WHERE rowid IN (SELECT rowid FROM points WHERE "
                                       "ts_ms < ? LIMIT ?)", (cutoff, BATCH)).rowcount
            touched += self.db.execute("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_ms < ? "
                                       "LIMIT ?)", (cutoff, BATCH)).rowcount
            touched += self.db.execute("DELETE FROM alerts WHERE event IN (SELECT event FROM alerts WHERE created_ms "
                                       "< ? AND state != 'pending' LIMIT ?)", (cutoff, BATCH)).rowcount
            touched += self._merge_step(now_ms - RAW_S * 1000)
        return touched

    def _merge_step(self, raw_cutoff_ms: int) -> int:
        """Merge the oldest raw minutes before `raw_cutoff_ms` (whole minutes only) into one row each."""
        row = self.db.execute("SELECT MIN(ts_ms) FROM points WHERE merged = 0").fetchone()
        end = raw_cutoff_ms - raw_cutoff_ms % BUCKET_MS
        if row[0] is None or row[0] >= end:
            return 0
        start = row[0] - row[0] % BUCKET_MS
        end = min(end, start + BATCH * BUCKET_MS)
        figures = ", ".join(f"ROUND(AVG({c}))" if c in _INTEGER_FIGURES else f"AVG({c})" for c in POINT_COLUMNS[2:])
        self.db.execute(
            f"INSERT INTO points (ts_ms, merged, {', '.join(POINT_COLUMNS)}) "
            f"SELECT (ts_ms / {BUCKET_MS}) * {BUCKET_MS}, 1, MAX(trafficMode), MAX(telemetryStatus), {figures} "
            f"FROM points WHERE merged = 0 AND ts_ms >= ? AND ts_ms < ? GROUP BY ts_ms / {BUCKET_MS}", (start, end))
        return int(self.db.execute("DELETE FROM points WHERE merged = 0 AND ts_ms >= ? AND ts_ms < ?",
                                   (start, end)).rowcount)

    def checkpoint(self) -> None:
        """Fold the WAL back into the database file and truncate it (it cannot grow without bound)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def points(self, since_ms: int, until_ms: int, limit: int) -> list[dict[str, Any]]:
        """Points in [since, until], ascending; past `limit`, merged into `limit` buckets of equal time."""
        first, last, count = self.db.execute("SELECT MIN(ts_ms), MAX(ts_ms), COUNT(*) FROM points "
                                             "WHERE ts_ms BETWEEN ? AND ?", (since_ms, until_ms)).fetchone()
        if count <= limit:
            rows = self.db.execute(f"SELECT ts_ms, {', '.join(POINT_COLUMNS)} FROM points WHERE ts_ms BETWEEN ? "
                                   "AND ? ORDER BY ts_ms", (since_ms, until_ms)).fetchall()
        else:
            span = last - first + 1
            figures = ", ".join(f"ROUND(AVG({c}))" if c in _INTEGER_FIGURES else f"AVG({c})"
                                for c in POINT_COLUMNS[2:])
            bucket = f"((ts_ms - {first}) * {limit} / {span})"
            rows = self.db.execute(
                f"SELECT {first} + {bucket} * {span} / {limit}, MAX(trafficMode), MAX(telemetryStatus), {figures} "
                f"FROM points WHERE ts_ms BETWEEN ? AND ? GROUP BY {bucket} ORDER BY 1",
                (since_ms, until_ms)).fetchall()
        return [_point(row) for row in rows]

    def events(self, after: int, limit: int, since_ms: int) -> list[dict[str, Any]]:
        """Events with id > after and not older than the retention, ascending."""
        rows = self.db.execute("SELECT id, ts_ms, kind, from_value, to_value FROM events WHERE id > ? AND ts_ms >= ? "
                               "ORDER BY id LIMIT ?", (after, since_ms, limit)).fetchall()
        return [{"id": i, "ts_ms": ts, "kind": k, "from": f, "to": t} for i, ts, k, f, t in rows]


def _point(row: Sequence[Any]) -> dict[str, Any]:
    point: dict[str, Any] = {"ts_ms": int(row[0]), "trafficMode": TRAFFIC[int(row[1])],
                             "telemetryStatus": TELEMETRY[int(row[2])]}
    for name, value in zip(POINT_COLUMNS[2:], row[3:], strict=True):
        point[name] = int(value) if name in _INTEGER_FIGURES else float(value)
    return point
