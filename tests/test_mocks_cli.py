"""The CLI: `mock set` flips a running mock; `tes-contract mock` serves, prints its URLs, stops on SIGINT."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tes_contract.cli import cli
from tes_contract.mocks.cli import parse_params

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mock_upstreams_options():
    return {"client_timeout_ms": 250}  # "0.8x" below stays short


def test_params_read_as_json_else_text():
    assert parse_params(("connected=7", "delay=0.8x", "online=false", 'body={"a": 1}')) == {
        "connected": 7, "delay": "0.8x", "online": False, "body": {"a": 1}}


async def invoke(*args: str):
    # CliRunner is synchronous and `set` runs its own event loop: keep it off the loop serving the mocks.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def test_set_flips_a_running_mock(mock_upstreams):
    result = await invoke("mock", "set", mock_upstreams.control_url, "worker", "slow", "-p", "delay=0.8x",
                          "--param", "connected=7")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["scenario"] == "slow"
    worker = await mock_upstreams.get("worker")
    assert worker["delay"] == "0.8x" and worker["connected"] == 7
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(mock_upstreams.worker_url + "/workers/status")).json()["connected"] == 7
    journal = await invoke("mock", "journal", mock_upstreams.control_url, "worker", "--clear")
    assert [json.loads(line)["decision"]["scenario"] for line in journal.output.splitlines()] == ["slow"]
    assert await mock_upstreams.journal("worker") == []
    assert (await invoke("mock", "reset", mock_upstreams.control_url)).exit_code == 0
    assert (await mock_upstreams.get("worker"))["scenario"] == "healthy"


@pytest.mark.parametrize(("args", "reason"), [
    (["tmux", "sideways"], "unknown scenario 'sideways'"),
    (["radio", "hang"], "unknown upstream 'radio'"),
    (["worker", "hang", "-p", "delay=3"], "unknown parameter 'delay'"),
])
async def test_set_reports_the_400_reason_and_exits_2(mock_upstreams, args, reason):
    result = await invoke("mock", "set", mock_upstreams.control_url, *args)
    assert result.exit_code == 2
    assert reason in result.output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_prints_urls_serves_and_stops_cleanly_on_a_signal(signum):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tes_contract", "mock", "--tmux-port", "0", "--worker-port", "0",
            "--webhook-port", "0", "--control-port", "0", "--worker", '{"scenario": "healthy", "connected": 5}',
            "--seed", "3"]
    with subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            lines = [process.stdout.readline().strip() for _ in range(4)]
            urls = dict(line.split(": ", 1) for line in lines)
            assert list(urls) == ["tmux", "worker", "webhook", "control"], lines
            assert all(":0" not in url.split("//")[1][:-1] for url in urls.values())  # real ports shown
            with httpx.Client(timeout=5) as client:
                assert client.get(urls["worker"] + "/workers/status").json()["connected"] == 5
                assert client.get(urls["tmux"]).json()["online"] is True
                flip = client.put(urls["control"] + "/upstreams/tmux/scenario", json={"scenario": "http_error"})
                assert flip.status_code == 200
                assert client.get(urls["tmux"]).status_code == 500
            process.send_signal(signum)
            assert process.wait(timeout=10) == 0
            assert "Traceback" not in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    for url in urls.values():
        with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as client:
            client.get(url)


def test_unknown_initial_scenario_is_refused_before_serving():
    result = CliRunner().invoke(cli, ["mock", "--tmux-port", "0", "--worker-port", "0", "--control-port", "0",
                                      "--worker", "sideways"])
    assert result.exit_code == 2
    assert "error: unknown scenario 'sideways'" in result.output


def test_upstream_env_points_a_server_at_the_mocks(upstream_env, mock_upstreams):
    assert upstream_env == {"TES_TMUX_STATUS_URL": mock_upstreams.tmux_url,
                            "TES_WORKER_API_URL": mock_upstreams.worker_url,
                            "TES_ALERT_WEBHOOK_URL": mock_upstreams.webhook_url, "TES_UPSTREAM_TIMEOUT_MS": "250"}


def test_bad_timeline_exits_2_with_the_line(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("upstreams:\n  worker:\n    - healthy x2\n    - nap 3s\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tes_contract", "mock", "--tmux-port", "0", "--worker-port", "0",
                           "--control-port", "0", "--timeline", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"{path}:4:" in done.stderr and "unknown scenario 'nap'" in done.stderr
