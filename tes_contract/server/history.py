"""The history engine: a point every interval, events of every observed change, the event log.

Every database call and every event-log write runs on one dedicated thread (a one-worker executor), so
nothing of it is on the event loop and there is one writer. Why the standard library's `sqlite3` and not
`aiosqlite`: aiosqlite is the same design (one thread per connection, a queue in front) as a dependency;
an executor of one worker is that in a few lines, and the writes can be batched on the thread.

Observation is synchronous on the loop (`observe`, called with every new snapshot): event ids are given
there from a counter loaded at start, so a status answer never waits for the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from tes_contract.contract.formats import rfc3339_ms
from tes_contract.errors import ConfigError
from tes_contract.server.history_store import CorruptDatabase, HistoryDB, LockedDatabase
from tes_contract.server.logs import log_event
from tes_contract.server.settings import Settings
from tes_contract.server.snapshot import StatusFields

DB_NAME = "history.sqlite3"
#: Points kept in memory while the disk refuses writes (then the oldest are dropped).
MAX_PENDING_POINTS = 10_000
CHECKPOINT_EVERY_S = 60.0

Event = dict[str, Any]
T = TypeVar("T")


def public_event(event: Event) -> Event:
    """The event as the API, the log and the push show it (`schemas/events.json#/$defs/event`)."""
    return {"id": event["id"], "timestamp": rfc3339_ms(event["ts_ms"]), "kind": event["kind"],
            "from": event["from"], "to": event["to"]}


class History:
    """Open with `await History.open(settings)`; feed with `observe`/`sample`; query; `await close()`."""

    def __init__(self, settings: Settings, db: HistoryDB, lock: IO[str], executor: ThreadPoolExecutor) -> None:
        self.settings = settings
        self._db = db
        self._lock = lock
        self._executor = executor
        self._next_id = db.last_event_id() + 1
        resumed = db.last_values()
        self._last: dict[str, str | None] = {"trafficMode": resumed.get("trafficMode", "normal"),
                                             "telemetryStatus": resumed.get("telemetryStatus")}
        self._points: list[dict[str, Any]] = []  # thread-confined: pending writes
        self._events: list[Event] = []
        self._log_lines: list[str] = []
        self._failing = False
        self._post_failing = False
        self._log_path = Path(settings.event_log)
        self._last_checkpoint = time.monotonic()
        #: Called on the loop with each new event (public form): the push and the alerts subscribe here.
        self.listeners: list[Callable[[Event], None]] = []

    @classmethod
    async def open(cls, settings: Settings) -> History:
        """Open (or create) the database in TES_STATE_DIR; ConfigError (exit 2) naming it when unusable."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tes-history")
        loop = asyncio.get_running_loop()
        try:
            db, lock = await loop.run_in_executor(executor, _open_state, settings)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(settings, db, lock, executor)

    def observe(self, fields: StatusFields) -> None:
        """Record the changes of trafficMode and telemetryStatus this snapshot shows (on the loop, no I/O)."""
        now_ms = int(time.time() * 1000)
        for kind, value in (("trafficMode", fields.traffic_mode), ("telemetryStatus", fields.telemetry_status)):
            before = self._last[kind]
            self._last[kind] = value
            if before is None or before == value:
                continue  # None: the first telemetryStatus on a fresh state dir is the baseline (EVENTS-START)
            event = {"id": self._next_id, "ts_ms": now_ms, "kind": kind, "from": before, "to": value}
            self._next_id += 1
            self._submit([], [event])
            for listener in list(self.listeners):
                try:
                    listener(public_event(event))
                except Exception:
                    log_event("event_listener_failed", level=logging.ERROR, exc_info=True)

    def record(self, fields: StatusFields, ts_ms: int) -> None:
        """Queue one point of these fields (written on the history thread)."""
        self.observe(fields)
        self._submit([{"ts_ms": ts_ms, **_figures(fields)}], [])

    def _submit(self, points: list[dict[str, Any]], events: list[Event]) -> None:
        self._executor.submit(self._write, points, events)

    def _write(self, points: list[dict[str, Any]], events: list[Event]) -> None:
        """On the thread: write what is pending; a failure (disk full) is logged once and retried next time."""
        self._points.extend(points)
        del self._points[:-MAX_PENDING_POINTS]
        self._events.extend(events)
        try:
            if self._points or self._events:
                self._db.write(self._points, self._events)
                self._log_lines.extend(json.dumps(public_event(e), separators=(",", ":")) + "\n" for e in self._events)
                self._points, self._events = [], []
            if self._log_lines:
                _append(self._log_path, "".join(self._log_lines))
                self._log_lines = []
        except (OSError, Exception) as exc:
            if not self._failing:
                log_event("history_write_failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}",
                          state_dir=self.settings.state_dir, event_log=self.settings.event_log)
            self._failing = True
            return
        if self._failing:
            log_event("history_write_resumed")
            self._failing = False

    def _maintain(self) -> None:
        try:
            self._db.maintain(int(time.time() * 1000), self.settings.history_retention_s)
            if time.monotonic() - self._last_checkpoint > CHECKPOINT_EVERY_S:
                self._db.checkpoint()
                self._last_checkpoint = time.monotonic()
        except Exception as exc:
            if not self._failing:
                log_event("history_maintenance_failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}")

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        """`func(db, *args)` on the history thread (after every write queued before it); its result."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, self._db, *args)

    def post(self, func: Callable[..., object], *args: Any) -> None:
        """Queue `func(db, *args)` on the history thread, in order with the writes; a failure is logged."""
        def run() -> None:
            try:
                func(self._db, *args)
            except Exception as exc:
                if not self._post_failing:  # once per outage (a full disk), like the points' writes
                    log_event("history_write_failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}",
                              state_dir=self.settings.state_dir)
                self._post_failing = True
            else:
                self._post_failing = False
        self._executor.submit(run)

    def last_value(self, kind: str) -> str | None:
        """The last value observed of `kind` (trafficMode, telemetryStatus); None before the first."""
        return self._last[kind]

    async def maintain(self) -> None:
        """One step of retention, merging and checkpointing, on the thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._maintain)

    async def points(self, since_ms: int, until_ms: int, limit: int) -> list[dict[str, Any]]:
        """Points of [since, until] not older than the retention (HISTORY-QUERY, HISTORY-RETENTION)."""
        oldest = int(time.time() * 1000) - self.settings.history_retention_s * 1000
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._db.points, max(since_ms, oldest), until_ms, limit)

    async def events(self, after: int, limit: int) -> list[Event]:
        """Events with id > after, not older than the retention, in the public form."""
        oldest = int(time.time() * 1000) - self.settings.history_retention_s * 1000
        rows = await asyncio.get_running_loop().run_in_executor(self._executor, self._db.events, after, limit, oldest)
        return [public_event(e) for e in rows]

    async def close(self) -> None:
        """Write what is pending, checkpoint, close, release the lock."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            await loop.run_in_executor(self._executor, self._write, [], [])
        with contextlib.suppress(Exception):
            await loop.run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=True)
        self._lock.close()


def _figures(fields: StatusFields) -> dict[str, Any]:
    return {"trafficMode": fields.traffic_mode, "telemetryStatus": fields.telemetry_status,
            "errorRate": fields.error_rate, "avgLatency": fields.avg_latency,
            "requestsPerSecond": fields.requests_per_second, "tmux": fields.tmux,
            "activeWorkers": fields.active_workers, "apiSessions": fields.api_sessions,
            "websocketConnections": fields.websocket_connections, "memory": fields.memory, "cpu": fields.cpu}


def _append(path: Path, text: str) -> None:
    """Append to the event log (O_APPEND: never truncated, never rewritten), creating it and its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        data = text.encode()
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def _open_state(settings: Settings) -> tuple[HistoryDB, IO[str]]:
    """On the thread: the state dir, its lock, the database (a corrupt one moved aside for a new one)."""
    folder = Path(settings.state_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / "history.lock").open("a")
    except OSError as exc:
        raise ConfigError(f"TES_STATE_DIR={settings.state_dir!r}: not a writable folder ({exc.strerror or exc})") \
            from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise ConfigError(f"TES_STATE_DIR={settings.state_dir!r}: its history database is held by another "
                          "process (another server on the same state dir?)") from None
    path = folder / DB_NAME
    try:
        try:
            return HistoryDB(path), lock
        except CorruptDatabase as exc:
            aside = path.with_name(f"{DB_NAME}.corrupt-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
            log_event("history_db_corrupt", level=logging.ERROR, moved_to=str(aside), error=str(exc))
            return HistoryDB(path), lock
    except LockedDatabase:
        lock.close()
        raise ConfigError(f"TES_STATE_DIR={settings.state_dir!r}: its history database is locked by another "
                          "process") from None
    except (OSError, sqlite3.Error) as exc:
        lock.close()
        raise ConfigError(f"TES_STATE_DIR={settings.state_dir!r}: cannot open {path} ({exc})") from None
