"""Fault tests of the history: SIGKILL during writes, a full disk (RLIMIT_FSIZE), as real server processes.

Bounded: each test stops its servers itself; everything is on loopback.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tes_contract.conformance.managed import free_port
from tes_contract.mocks import MockUpstreams
from tes_contract.server.history import DB_NAME

KILLS = 20


def _start(env: dict[str, str], preexec: object = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("TES_")}
    full.update(env, TES_PORT=str(port), TES_HISTORY_INTERVAL_MS="100")
    process = subprocess.Popen([sys.executable, "-m", "tes_contract", "serve"], env=full, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=preexec)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/dev/status", timeout=2)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"server did not start: {process.communicate()[1][-2000:]}")


@pytest.fixture
def mocks() -> Iterator[MockUpstreams]:
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    upstreams = MockUpstreams()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(upstreams.start(), loop).result(10)
    upstreams.loop = loop  # type: ignore[attr-defined]
    try:
        yield upstreams
    finally:
        asyncio.run_coroutine_threadsafe(upstreams.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _set_worker(mocks: MockUpstreams, scenario: str) -> None:
    import asyncio

    asyncio.run_coroutine_threadsafe(mocks.set("worker", scenario), mocks.loop).result(5)  # type: ignore[attr-defined]


def test_sigkill_during_writes_keeps_the_database_and_ids(tmp_path: Path, mocks: MockUpstreams):
    env = {"TES_STATE_DIR": str(tmp_path / "state"), "TES_EVENT_LOG": str(tmp_path / "logs" / "events.log"),
           "TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url}
    for round in range(KILLS):
        process, url = _start(env)
        for scenario in ("down", "healthy"):  # two events a round, while points are written every 100 ms
            _set_worker(mocks, scenario)
            for _ in range(3):
                httpx.get(f"{url}/api/dev/status", timeout=5)
        time.sleep(0.05 + 0.02 * (round % 5))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    with sqlite3.connect(tmp_path / "state" / DB_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT id, kind, from_value, to_value FROM events ORDER BY id").fetchall()
        points = db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)) and len(ids) >= KILLS  # most rounds' events survived their kill
    for kind in ("trafficMode", "telemetryStatus"):
        chain = [row for row in rows if row[1] == kind]
        assert all(a[3] == b[2] for a, b in zip(chain, chain[1:], strict=False)), chain
    logged = [json.loads(line)["id"] for line in (tmp_path / "logs" / "events.log").read_text().splitlines()]
    assert logged == sorted(set(logged)) and set(logged) <= set(ids)
    assert points >= KILLS


def _limit_file_size() -> None:
    # The soft limit only, so the test can raise it again (prlimit) without privileges; Python ignores
    # SIGXFSZ, so a write past it fails with EFBIG, as on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_full_disk_keeps_answers_logs_once_and_resumes(tmp_path: Path, mocks: MockUpstreams):
    env = {"TES_STATE_DIR": str(tmp_path / "state"), "TES_EVENT_LOG": str(tmp_path / "logs" / "events.log"),
           "TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url}
    process, url = _start(env, _limit_file_size)
    try:
        for _ in range(60):  # 100 ms points grow the WAL past 96 KiB within ~3 s; answers keep coming
            assert httpx.get(f"{url}/api/dev/status", timeout=5).status_code == 200
            assert httpx.get(f"{url}/api/dev/status/history", timeout=5).status_code == 200
            time.sleep(0.1)
        _set_worker(mocks, "down")  # an event while the disk is full: kept in memory, written later
        httpx.get(f"{url}/api/dev/status", timeout=5)
        before = len(httpx.get(f"{url}/api/dev/status/history", params={"limit": "10000"}).json()["points"])
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        time.sleep(1.0)
        after = httpx.get(f"{url}/api/dev/status/history", params={"limit": "10000"}).json()["points"]
        events = httpx.get(f"{url}/api/dev/events").json()["events"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    names = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert names.count("history_write_failed") == 1, names
    assert "history_write_resumed" in names
    assert len(after) >= before + 15  # the points of the full spell were kept and written
    assert [e["to"] for e in events] == ["offline"]
