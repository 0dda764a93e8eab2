"""The history store and engine: bucket rule, merging, retention, ids across reopen, bad state dirs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tes_contract.errors import ConfigError
from tes_contract.server.history import DB_NAME, _open_state
from tes_contract.server.history_store import BUCKET_MS, MIGRATIONS, RAW_S, HistoryDB
from tes_contract.server.settings import Settings

DAY_MS = 24 * 3600 * 1000


def _point(ts_ms: int, **changes: Any) -> dict[str, Any]:
    point = {"ts_ms": ts_ms, "trafficMode": "normal", "telemetryStatus": "healthy", "errorRate": 0.0,
             "avgLatency": 1.0, "requestsPerSecond": 0.5, "tmux": 2, "activeWorkers": 3, "apiSessions": 1,
             "websocketConnections": 0, "memory": 1000, "cpu": 10}
    point.update(changes)
    return point


def test_schema_is_versioned_and_wal(tmp_path: Path):
    db = HistoryDB(tmp_path / "h.sqlite3")
    assert db.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert HistoryDB(tmp_path / "h.sqlite3").db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_bucket_rule_worst_mode_and_averages(tmp_path: Path):
    db = HistoryDB(tmp_path / "h.sqlite3")
    db.write([_point(0, tmux=1), _point(1000, tmux=2, trafficMode="isolated"),
              _point(2000, tmux=4, telemetryStatus="degraded"), _point(3000, tmux=6, avgLatency=3.0)], [])
    assert len(db.points(0, 10_000, 10)) == 4
    first, second = db.points(0, 10_000, 2)
    assert first["ts_ms"] == 0 and second["ts_ms"] == 1500  # stamped with its start: span 3001 ms / 2
    assert first["trafficMode"] == "isolated" and first["telemetryStatus"] == "healthy"
    assert second["telemetryStatus"] == "degraded" and second["avgLatency"] == 2.0
    assert first["tmux"] == 2 and second["tmux"] == 5  # 1.5 and 5 rounded


def test_raw_points_merge_into_minutes_after_a_day_and_retention_deletes(tmp_path: Path):
    db = HistoryDB(tmp_path / "h.sqlite3")
    now = 10 * DAY_MS
    old = now - RAW_S * 1000 - 10 * BUCKET_MS
    db.write([_point(old + i * 10_000, tmux=i % 2) for i in range(12)], [])  # two minutes of raw points
    db.write([_point(now - 8 * DAY_MS)], [])  # past a 7-day retention
    while db.maintain(now, 7 * 24 * 3600):
        pass
    points = db.points(0, now, 10_000)
    assert [p["ts_ms"] for p in points] == [old, old + BUCKET_MS]
    assert all(p["tmux"] in (0, 1) for p in points)


def test_event_ids_never_reused_after_retention_and_reopen(tmp_path: Path):
    path = tmp_path / "h.sqlite3"
    db = HistoryDB(path)
    db.write([], [{"id": 1, "ts_ms": 0, "kind": "telemetryStatus", "from": "healthy", "to": "offline"},
                  {"id": 2, "ts_ms": 1, "kind": "trafficMode", "from": "normal", "to": "degraded"}])
    while db.maintain(10 * DAY_MS, 60):
        pass
    db.close()
    again = HistoryDB(path)
    assert again.events(0, 10, 0) == [] and again.last_event_id() == 2
    assert again.last_values() == {}


def test_unwritable_state_dir_names_the_variable(tmp_path: Path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="TES_STATE_DIR"):
        _open_state(Settings(state_dir=str(a_file)))


def test_a_held_state_dir_names_the_variable(tmp_path: Path):
    settings = Settings(state_dir=str(tmp_path / "state"))
    db, lock = _open_state(settings)
    try:
        with pytest.raises(ConfigError, match="TES_STATE_DIR.*another process"):
            _open_state(settings)
    finally:
        db.close()
        lock.close()


def test_a_corrupt_file_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    state = tmp_path / "state"
    state.mkdir()
    (state / DB_NAME).write_bytes(b"not a database " * 100)
    db, lock = _open_state(Settings(state_dir=str(state)))
    try:
        aside = [p.name for p in state.iterdir() if ".corrupt-" in p.name]
        assert len(aside) == 1 and (state / aside[0]).read_bytes().startswith(b"not a database")
        assert db.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
        lock.close()
    with sqlite3.connect(state / DB_NAME) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
