"""Each check family against an independent fake server (tests/fake_status_server.py) with one bug on:
the harness names exactly the clauses the bug breaks. With no bug, the fake passes those groups too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tes_contract.conformance import Options, run_conformance

ROOT = Path(__file__).resolve().parent.parent
FAKE = f"{sys.executable} {ROOT / 'tests' / 'fake_status_server.py'}"

CASES = [
    ("wrong_version,no_cache_control,methods_404", ("http",),
     {"STATUS-HDR-3", "STATUS-INV-VERSION", "STATUS-HDR-2", "STATUS-HTTP-2"}),
    ("count_panes,region_ignored", ("tmux",), {"STATUS-FIELD-TMUX", "STATUS-FIELD-REGION"}),
    ("parse_error_offline", ("worker",), {"STATUS-FIELD-TELEMETRY", "UPSTREAM-WORKER-VALID"}),
    ("sequential,worker_twice", ("timeout",), {"UPSTREAM-ONCE", "UPSTREAM-CONCURRENT", "TIMEOUT-BOUND"}),
    ("zero_traffic", ("traffic",),
     {"STATUS-FIELD-ERRORRATE", "STATUS-FIELD-TRAFFICMODE", "STATUS-FIELD-RPS", "STATUS-FIELD-LATENCY"}),
    ("strict_thresholds,latency_seconds,uptime_ms", ("traffic",),
     {"STATUS-FIELD-TRAFFICMODE", "STATUS-INV-TRAFFIC", "STATUS-FIELD-LATENCY", "STATUS-FIELD-RPS",
      "STATUS-FIELD-UPTIME"}),
    ("connected_bool_ok", ("payloads-worker",),
     {"UPSTREAM-WORKER-VALID", "STATUS-FIELD-WORKERS", "STATUS-FIELD-TELEMETRY"}),
    ("", ("http", "tmux", "worker", "traffic", "payloads-worker", "payloads-tmux"), set()),
]


@pytest.mark.parametrize(("bugs", "groups", "clauses"), CASES, ids=[c[0] or "no-bug" for c in CASES])
def test_bug_is_caught_by_the_clauses_it_breaks(monkeypatch, bugs, groups, clauses):
    monkeypatch.setenv("FAKE_BUGS", bugs)
    result = run_conformance(Options(server=FAKE, groups=groups, seed=11, examples=25, cwd=str(ROOT)))
    assert result.failed_clauses() == clauses, "\n".join(
        f"{f.clause} {f.scenario}: expected {f.expected}; observed {f.observed}" for f in result.failures)


def test_property_failure_is_shrunk_to_a_minimal_payload(monkeypatch):
    monkeypatch.setenv("FAKE_BUGS", "connected_bool_ok")
    result = run_conformance(Options(server=FAKE, groups=("payloads-worker",), seed=5, examples=30, cwd=str(ROOT)))
    [failure] = [f for f in result.failures if f.clause == "UPSTREAM-WORKER-VALID"]
    assert failure.payload == {"connected": True}, failure.payload
    assert failure.seed == 5 and "payload: {\"connected\": true}" in failure.reproduction()


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAKE_BUGS": "wrong_version"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tes_contract.conformance.pytest_plugin",
                           "-p", "no:cacheprovider", "-q", "-rN", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120)


def test_pytest_plugin_runs_the_checks_as_items_and_is_inert_without_options(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    inert = _pytest("test_plain.py", cwd=tmp_path)
    assert inert.returncode == 0 and "1 passed" in inert.stdout, inert.stdout + inert.stderr
    run = _pytest("test_plain.py", "--tes-server", FAKE, "--tes-group", "http", "--junitxml", "out.xml", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "STATUS-HDR-3[http/GET /api/dev/status]" in run.stdout
    assert "expected X-TES-Status-Version: 2.0; observed X-TES-Status-Version: '2.1'" in run.stdout
    assert " failed" in run.stdout and " passed" in run.stdout
    junit = (tmp_path / "out.xml").read_text()
    assert 'name="STATUS-HDR-3[http/GET /api/dev/status]"' in junit


def test_conform_cli_exit_1_and_reports(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAKE_BUGS": "no_cache_control"}
    report = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "tes_contract", "conform", "--server", FAKE, "--group", "http",
                           "--quiet", "--report", f"json:{report}"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[STATUS-HDR-2]" in done.stdout and "reproduce: " in done.stdout and "curl -si" in done.stdout
    document = json.loads(report.read_text())
    assert [row["status"] for row in document["clauses"] if row["clause"] == "STATUS-HDR-2"] == ["failed"]


async def test_live_mode_checks_a_running_server_and_drives_its_mocks(monkeypatch):
    from tes_contract.conformance import arun_conformance
    from tes_contract.conformance.managed import ManagedServer
    from tes_contract.mocks import MockUpstreams

    monkeypatch.setenv("FAKE_BUGS", "count_panes")
    async with MockUpstreams(client_timeout_ms=1000) as mocks:
        env = {"TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url,
               "TES_UPSTREAM_TIMEOUT_MS": "1000"}
        async with ManagedServer(FAKE, env, name="live", cwd=str(ROOT)) as server:
            plain = await arun_conformance(Options(url=server.url, seed=3))
            assert plain.failed_clauses() == set() and plain.exchanges > 10
            assert plain.status_of("STATUS-FIELD-TMUX") == "passed"  # by schema only: no upstream control
            assert plain.status_of("UPSTREAM-CONCURRENT") is None  # needs --mock-control
            driven = await arun_conformance(Options(url=server.url, mock_control=mocks.control_url, timeout_ms=1000,
                                                    groups=("tmux",), seed=3))
            assert driven.failed_clauses() == {"STATUS-FIELD-TMUX"}


@pytest.mark.parametrize(("bugs", "verdict"), [("live", "passed"), ("live_bad_push", "failed")])
def test_live_profile_first_push_and_not_implemented_profiles(monkeypatch, bugs, verdict):
    monkeypatch.setenv("FAKE_BUGS", bugs)
    result = run_conformance(Options(server=FAKE, groups=("http",), profiles=("core", "live", "metrics"),
                                     cwd=str(ROOT)))
    assert result.status_of("LIVE-CONNECT") == "passed"
    assert result.status_of("LIVE-DATA") == verdict
    assert result.not_implemented == {"metrics": "GET /api/dev/metrics answers 404"}
    assert result.status_of("METRICS-EXPOSITION") == "not implemented"
    assert result.failed_clauses() == ({"LIVE-DATA"} if verdict == "failed" else set())
