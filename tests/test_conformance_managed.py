"""Managed mode end to end: the reference server passes core; reports parse; nothing is left behind after
success, failure or Ctrl-C. The full core run happens once per module (about 15 s)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psutil
import pytest

from tes_contract.conformance import ConformanceResult, Options, run_conformance
from tes_contract.conformance.report import write_reports
from tes_contract.contract.clauses import CLAUSES

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = f"{sys.executable} -m tes_contract serve"
FAKE = f"{sys.executable} {ROOT / 'tests' / 'fake_status_server.py'}"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _own_listeners() -> set[tuple[str, int]]:
    return {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN}


def _assert_nothing_left(result: ConformanceResult) -> None:
    assert result.servers, "the run started no server"
    for server in result.servers:
        alive = psutil.pid_exists(server["pid"]) and psutil.Process(server["pid"]).status() != psutil.STATUS_ZOMBIE
        assert not alive, f"server of group {server['group']} still running"
        assert not _listening(server["port"]), f"port {server['port']} of group {server['group']} still listening"


@pytest.fixture(scope="module")
def core_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("reports")
    before = _own_listeners()
    started = time.monotonic()
    result = run_conformance(Options(server=REFERENCE, seed=7, cwd=str(ROOT)))
    wall = time.monotonic() - started
    reports = [f"json:{folder / 'report.json'}", f"junit:{folder / 'report.xml'}"]
    write_reports(result, reports)
    return {"result": result, "wall": wall, "folder": folder, "listeners_before": before,
            "listeners_after": _own_listeners()}


def test_reference_server_passes_core(core_run):
    result: ConformanceResult = core_run["result"]
    assert result.failures == []
    assert result.exit_code == 0
    verdicts = {c.id: result.status_of(c.id) for c in CLAUSES if c.profile == "core"}
    assert verdicts == {id: "passed" for id in verdicts}, "every core clause checked and passed"


def test_core_run_is_fast_and_parallel(core_run):
    assert core_run["wall"] <= 60
    assert len(core_run["result"].servers) >= 9, "one fresh server per scenario group"


def test_json_report_parses_with_every_clause(core_run):
    document = json.loads((core_run["folder"] / "report.json").read_text())
    assert document["exit_code"] == 0
    assert {row["clause"] for row in document["clauses"]} == {c.id for c in CLAUSES if c.profile == "core"}
    assert all(row["status"] == "passed" for row in document["clauses"])
    assert len(document["outcomes"]) == len(core_run["result"].outcomes)


def test_junit_report_has_one_testcase_per_clause_and_scenario(core_run):
    tree = ET.parse(core_run["folder"] / "report.xml")
    cases = tree.getroot().findall(".//testcase")
    assert len(cases) == len(core_run["result"].outcomes)
    assert {c.get("classname") for c in cases} >= {"core.TIMEOUT-DEFAULT", "core.UPSTREAM-CONCURRENT"}
    assert tree.getroot().findall(".//failure") == []


def test_no_process_or_port_left_after_success(core_run):
    _assert_nothing_left(core_run["result"])
    assert core_run["listeners_after"] <= core_run["listeners_before"], "mocks still listening"


def test_failure_is_reported_by_clause_and_leaves_nothing_behind(monkeypatch):
    monkeypatch.setenv("FAKE_BUGS", "wrong_version")
    result = run_conformance(Options(server=FAKE, groups=("http",), cwd=str(ROOT)))
    assert result.exit_code == 1
    assert "STATUS-HDR-3" in result.failed_clauses()
    failure = next(f for f in result.failures if f.clause == "STATUS-HDR-3")
    assert failure.curl.startswith("curl ") and failure.expected and failure.observed
    _assert_nothing_left(result)


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT ignored: give
    # the child the disposition a terminal user's Ctrl-C meets, wherever this suite itself was started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tes_contract", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_default_sigint,
                            **kwargs)


def test_ctrl_c_stops_every_server_and_mock():
    process = _cli("conform", "--server", REFERENCE, "--group", "default-timeout", "--group", "timeout",
                   "--group", "recovery")
    assert process.stdout is not None
    running = 0
    deadline = time.monotonic() + 40
    while running < 3 and time.monotonic() < deadline:
        line = process.stdout.readline()
        running += line.rstrip().endswith(": running")
    assert running == 3, "the groups did not start"
    parent = psutil.Process(process.pid)
    children = parent.children(recursive=True)
    ports = {c.laddr.port for p in [parent, *children] for c in p.net_connections(kind="tcp")
             if c.status == psutil.CONN_LISTEN}
    assert len(children) >= 3 and len(ports) >= 3 * 4, "3 servers and 3 x 3 mock ports"
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == 130, output
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert [port for port in ports if _listening(port)] == []


def test_setup_errors_exit_2_with_a_message():
    process = _cli("conform", "--server", "false", "--quiet")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 2
    assert "exited with code 1 before listening" in output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _cli("demo", "--port", str(port), "--exit", "--group", "http")
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 2, output
    assert f"port {port} on 127.0.0.1 is busy" in output


def test_demo_runs_conform_and_prints_the_report(tmp_path):
    process = _cli("demo", "--port", "0", "--exit", "--group", "http", "--report", f"json:{tmp_path / 'r.json'}")
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output
    assert "reference server: http://127.0.0.1:" in output and "PASSED" in output and "wall time" in output
    assert "\ndashboard: http://127.0.0.1:" in output  # the page, with the token when the server printed it
    assert json.loads((tmp_path / "r.json").read_text())["exit_code"] == 0
