"""`python -m tes_contract serve` as a process: JSON log lines, 127.0.0.1, clean shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str, **env: str) -> tuple[subprocess.Popen[str], str, list[dict]]:
    state = tempfile.mkdtemp(prefix="tes-serve-test-")  # the history's state and event log, not the repo's
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "TES_PORT": "0", "TES_STATE_DIR": f"{state}/state",
               "TES_EVENT_LOG": f"{state}/logs/events.log", **env}
    process = subprocess.Popen([sys.executable, "-m", "tes_contract", "serve", *args], cwd=ROOT, env=environ,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events: list[dict] = []
    deadline = time.monotonic() + 30
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        events.append(json.loads(line))  # every line is one JSON object
        if events[-1]["event"] == "listening":
            return process, events[-1]["url"], events
    process.kill()
    raise AssertionError(f"server did not start: {events} {process.stderr.read()}")


def _finish(process: subprocess.Popen[str], timeout: float = 20) -> tuple[str, str]:
    """Wait for the exit; the rest of stdout and stderr, read through the pipes' file objects.

    Not `communicate()`: it reads the pipes' descriptors directly, so the lines `_start`'s readline had
    already pulled into the file objects' buffers (often the ones right after "listening") were lost, and a
    test looking for them failed about one run in ten.
    """
    assert process.stdout is not None and process.stderr is not None
    with ThreadPoolExecutor(2) as pool:
        out, err = pool.submit(process.stdout.read), pool.submit(process.stderr.read)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        rest = out.result(timeout=10), err.result(timeout=10)
    process.stdout.close()
    process.stderr.close()
    return rest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_logs_json_and_stops_cleanly(signum, closed_port_url):
    process, url, events = _start("--timeout-ms", "400", "--primary-region", "flag-region",
                                  TES_WORKER_API_URL=closed_port_url, TES_PRIMARY_REGION="env-region")
    try:
        assert url.startswith("http://127.0.0.1:")  # the default bind
        config = next(e for e in events if e["event"] == "config")
        assert config["upstream_timeout_ms"] == 400 and config["primary_region"] == "flag-region"
        response = httpx.get(f"{url}/api/dev/status", timeout=10)
        assert response.status_code == 200
        body = response.json()
        assert body["vector"]["directions"]["primaryRegion"] == "flag-region"  # the flag wins over the env
        assert body["meta"]["telemetryStatus"] == "offline"
    finally:
        process.send_signal(signum)
        _, stderr = _finish(process)
    assert process.returncode == 0
    later = [json.loads(line) for line in stderr.splitlines()]
    names = [e["event"] for e in later]
    assert names[-2:] == ["stopping", "stopped"] and later[-2]["signal"] == signum.name
    # The breaker's state change was logged when the worker API refused (maybe before "listening": the
    # history sampler takes its first point at start).
    assert any(e["event"] == "upstream_state" and e["upstream"] == "worker" and e["state"] == "open"
               for e in events + later)
    # tmux-status defaults to the server itself: even the first history point, taken while the server
    # starts, reaches it (TES_PORT=0: it waits for the bound socket; before, it called port 3002).
    assert not any(e["event"] == "upstream_state" and e["upstream"] == "tmux" for e in events + later)


def test_port_in_use_exits_2(closed_port_url):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "tes_contract", "serve", "--port", str(port)], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                                timeout=30)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_sigterm_with_a_request_waiting_on_a_hanging_upstream_stops_within_seconds():
    import socket
    import threading

    with socket.socket() as hanging:  # listens, never accepts: connections are made, answers never come
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(16)
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}"
        process, base, _ = _start("--timeout-ms", "30000", TES_WORKER_API_URL=url, TES_TMUX_STATUS_URL=url + "/t")
        outcome: list[object] = []

        def wait_for_status() -> None:
            try:
                outcome.append(httpx.get(f"{base}/api/dev/status", timeout=40).status_code)
            except httpx.HTTPError as exc:  # cut by the shutdown: expected
                outcome.append(exc)

        waiting = threading.Thread(target=wait_for_status, daemon=True)
        try:
            waiting.start()
            time.sleep(0.5)
        finally:
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _finish(process)
            waiting.join(10)
        assert process.returncode == 0
        assert time.monotonic() - started < 5.0  # not the 30 s upstream timeout, not aiohttp's 60 s
        assert len(outcome) == 1  # the waiting client got an answer or a closed connection, not silence


def test_serve_prints_the_dashboard_url_with_the_token_file_s_token_once():
    process, url, events = _start()
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        token_event = next(e for e in events if e["event"] == "dev_token")
        token = Path(token_event["file"]).read_text().strip()
        assert line == f"dashboard: {url}/#token={token}"
        assert httpx.get(f"{url}/api/dev/status", headers={"Host": "evil.example"}, timeout=10).status_code == 403
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = _finish(process)
    assert "dashboard:" not in stdout and token not in stderr and token_event["source"] == "generated"
