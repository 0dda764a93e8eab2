#!/usr/bin/env python3
"""The harness against hostile servers, as a user runs it: `tes-contract conform` per scenario, printed.

    python benchmarks/hostile_runs.py [--only NAME ...]

For each scenario (tests/servers/hostile/, issue 17): the command, the wall time, the exit code and the
report's telling lines (server exits, groups stopped, the verdict, the first failure, a setup error).
Every run is bounded (--max-time, and a 300 s timeout around it); nothing is left running.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "servers" / "hostile"
PY = sys.executable
SUMMARY = re.compile(r"^(SERVER EXITED|SERVER GONE|GROUP STOPPED|STOPPED|PASSED|FAILED|INCOMPLETE|\d+ failure)")


def _telling(output: str) -> list[str]:
    """The summary's verdict lines, then the first two failures, then a setup error's first lines."""
    lines = output.splitlines()
    summary = [line for line in lines if SUMMARY.match(line)]
    failures = [f"{line} / {lines[i + 2].strip()}" for i, line in enumerate(lines[:-2])
                if re.match(r"^\[[A-Z0-9-]+\] ", line)][:2]
    error = next((i for i, line in enumerate(lines) if line.startswith("error:")), None)
    return [*summary, *failures, *(lines[error:error + 4] if error is not None else [])]


def _server(*args: str) -> str:
    return shlex.join([PY, *args])


def scenarios(folder: str) -> dict[str, list[str]]:
    """Name -> conform arguments."""
    misbehave = str(HOSTILE / "misbehave.py")
    return {
        "crash-3s-core": ["--server", _server(str(HOSTILE / "crash_after.py"), "3")],
        "fail-third-start-core": ["--server", _server(misbehave, "fail_third", folder)],
        "payloads-crash": ["--server", _server(str(HOSTILE / "crash_after.py"), "1"), "--group", "payloads-worker",
                           "--examples", "300"],
        "exit-0": ["--server", _server(misbehave, "exit_0")],
        "wrong-port": ["--server", _server(misbehave, "wrong_port"), "--startup-timeout", "5"],
        "flood-100MB": ["--server", _server(misbehave, "flood"), "--group", "tmux"],
        "orphan": ["--server", _server(misbehave, "orphan"), "--group", "recovery"],
        "ignore-sigterm": ["--server", _server(misbehave, "ignore_sigterm"), "--group", "tmux"],
        "silent-budget": ["--server", _server(misbehave, "silent"), "--group", "recovery", "--budget-scale", "0.1"],
        "silent-core-max-time": ["--server", _server(misbehave, "silent"), "--max-time", "60"],
        "garbage": ["--server", _server(misbehave, "garbage"), "--group", "recovery", "--budget-scale", "0.1"],
        "huge-body": ["--server", _server(misbehave, "huge_body"), "--group", "recovery", "--group", "http",
                      "--examples", "5", "--budget-scale", "0.1"],
        "endless-body": ["--server", _server(misbehave, "endless_body"), "--group", "recovery", "--group", "http",
                         "--examples", "5", "--budget-scale", "0.1"],
    }


def _conform(args: list[str]) -> tuple[float, int, str]:
    began = time.monotonic()
    done = subprocess.run([PY, "-m", "tes_contract", "conform", "--quiet", "--seed", "1", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return time.monotonic() - began, done.returncode, done.stdout + done.stderr


def _live_gone() -> tuple[float, int, str]:
    """A server under --url, SIGKILLed 3 s into the run."""
    sys.path.insert(0, str(ROOT))
    from tes_contract.conformance.managed import free_port

    port = free_port()
    env = {**os.environ, "TES_PORT": str(port), "TES_TMUX_STATUS_URL": "http://127.0.0.1:9/tmux",
           "TES_WORKER_API_URL": "http://127.0.0.1:9"}
    server = subprocess.Popen([PY, str(ROOT / "tests" / "servers" / "py_status_server.py")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(2.0)
        threading.Timer(3.0, os.killpg, (server.pid, signal.SIGKILL)).start()
        return _conform(["--url", f"http://127.0.0.1:{port}", "--group", "http", "--examples", "2000"])
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tes-hostile-") as folder:
        runs: dict[str, Callable[[], tuple[float, int, str]]] = {
            name: functools.partial(_conform, argv) for name, argv in scenarios(folder).items()}
        runs["live-gone"] = _live_gone
        for name, run in runs.items():
            if args.only and name not in args.only:
                continue
            wall, code, output = run()
            print(f"== {name}: exit {code}, wall {wall:.1f} s", flush=True)
            for line in _telling(output):
                print(f"   {line[:240]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
