"""Start the independent status servers as subprocesses: commands, the Node check, a bounded launcher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_SERVER = HERE / "node" / "status-server.mjs"
PY_SERVER = HERE / "py_status_server.py"
#: Each profile's part of the servers, in files of their own (the main files hook them in).
NODE_PARTS = (HERE / "node" / "metrics.mjs", HERE / "node" / "live.mjs")
PY_PARTS = (HERE / "py_metrics.py", HERE / "py_live.py")
#: Parts of the Python server whose breaks the Node server does not have (HISTORY_EXPECTED_CLAUSES).
PY_ONLY_PARTS = (HERE / "py_history.py", HERE / "py_alerts.py", HERE / "py_dev.py")
#: Parts of the Node server whose breaks have expectations of their own (DEV_EXPECTED_CLAUSES).
NODE_OWN_PARTS = (HERE / "node" / "dev.mjs",)
KINDS = ("node", "python")
MIN_NODE_MAJOR = 18  # built-in fetch and AbortSignal.timeout

#: Every break mode both servers implement, and the clauses the harness must report for it (at least: a
#: break may trip more; benchmarks/broken_table.py shows all). The README's table says the same (a test).
EXPECTED_CLAUSES: dict[str, frozenset[str]] = {
    "no_version_header": frozenset({"STATUS-HDR-3"}),
    "wrong_version_header": frozenset({"STATUS-HDR-3", "STATUS-INV-VERSION"}),
    "no_cache_header": frozenset({"STATUS-HDR-2"}),
    "sequential_upstreams": frozenset({"UPSTREAM-CONCURRENT", "TIMEOUT-BOUND"}),
    "no_timeout": frozenset({"TIMEOUT-BOUND"}),
    "short_timeout_500ms": frozenset({"TIMEOUT-DEFAULT"}),
    "count_panes": frozenset({"STATUS-FIELD-TMUX"}),
    "two_worker_calls": frozenset({"UPSTREAM-ONCE"}),
    "zero_metrics": frozenset({"STATUS-FIELD-LATENCY", "STATUS-FIELD-RPS", "STATUS-FIELD-ERRORRATE"}),
    "strict_thresholds": frozenset({"STATUS-FIELD-TRAFFICMODE", "STATUS-INV-TRAFFIC"}),
    "no_405": frozenset({"STATUS-HTTP-2"}),
    "parse_error_offline": frozenset({"STATUS-FIELD-TELEMETRY", "UPSTREAM-WORKER-VALID"}),
    "cached_response": frozenset({"STATUS-FIELD-TELEMETRY", "STATUS-FIELD-WORKERS"}),
    "latency_seconds": frozenset({"STATUS-FIELD-LATENCY"}),
    "cpu_percent": frozenset({"STATUS-FIELD-CPU"}),
    "bool_is_int": frozenset({"UPSTREAM-WORKER-VALID", "STATUS-FIELD-WORKERS", "STATUS-FIELD-TELEMETRY"}),
    "ignore_region": frozenset({"STATUS-FIELD-REGION"}),
    "extra_field": frozenset({"STATUS-SCHEMA-1"}),
    "status_500_on_upstream_error": frozenset({"STATUS-HTTP-4", "STATUS-HTTP-1"}),
    # metrics profile (py_metrics.py, node/metrics.mjs): run with --profile core,metrics
    "metrics_counter_no_total": frozenset({"METRICS-LINT", "METRICS-NAMES"}),
    "metrics_raw_path_route": frozenset({"METRICS-CARDINALITY"}),
    "metrics_scrape_not_counted": frozenset({"METRICS-COUNT"}),
    "metrics_scrape_counted_twice": frozenset({"METRICS-COUNT"}),
    "metrics_upstream_up_stuck": frozenset({"METRICS-AGREE"}),
    "metrics_mode_current_only": frozenset({"METRICS-NAMES"}),
    "metrics_latency_ms": frozenset({"METRICS-AGREE"}),
    # live profile (py_live.py, node/live.mjs): run with --profile core,live (groups live, live-change)
    "live_upgrade_text": frozenset({"LIVE-UPGRADE"}),
    "live_no_first_frame": frozenset({"LIVE-CONNECT"}),
    "live_interval_ignored": frozenset({"LIVE-INTERVAL"}),
    "live_change_next_tick": frozenset({"LIVE-CHANGE"}),
    "live_wrong_type": frozenset({"LIVE-DATA"}),
    "live_timer_per_connection": frozenset({"LIVE-ONCE"}),
    "live_count_zero": frozenset({"LIVE-COUNT"}),
    "live_never_reads": frozenset({"LIVE-PING"}),
    "live_no_close_frame": frozenset({"LIVE-CLOSE"}),
}
BREAKS: tuple[str, ...] = tuple(EXPECTED_CLAUSES)
#: History break modes, in the Python server only (`py_history.py`; the Node server has no history yet),
#: and the clauses the history groups must report (tests/test_broken_history.py; README "History breaks").
HISTORY_EXPECTED_CLAUSES: dict[str, frozenset[str]] = {
    "log_overwritten": frozenset({"EVENTS-LOG"}),
    "events_duplicated": frozenset({"EVENTS-CHAIN"}),
    "ids_reset": frozenset({"HISTORY-PERSIST"}),
    "history_lost": frozenset({"HISTORY-PERSIST"}),
    "retention_ignored": frozenset({"HISTORY-RETENTION"}),
    # webhook alerts (py_alerts.py), shown by the alerts group
    "alerts_retry_4xx": frozenset({"ALERT-RETRY"}),
    "alerts_sent_twice": frozenset({"ALERT-RETRY"}),
    "alerts_no_resolved": frozenset({"ALERT-FIRE"}),
    "alerts_awaited": frozenset({"ALERT-ISOLATION"}),
    "alerts_refused_dropped": frozenset({"ALERT-RETRY"}),
}

#: Dev break modes, in both servers (`py_dev.py`, `node/dev.mjs`), and the clauses the dev groups must
#: report (tests/test_broken_dev.py; README "Dev breaks").
DEV_EXPECTED_CLAUSES: dict[str, frozenset[str]] = {
    "dev_start_unchecked": frozenset({"DEV-TMUX-CONTROL"}),
    "dev_stop_nothing": frozenset({"DEV-TMUX-CONTROL"}),
    "dev_fixed_token": frozenset({"DEV-AUTH"}),
    "dev_token_prefix": frozenset({"DEV-AUTH", "DEV-NOSIDE"}),
    "dev_no_origin_check": frozenset({"DEV-ORIGIN", "DEV-NOSIDE"}),
    "dev_origin_startswith": frozenset({"DEV-ORIGIN"}),
    "dev_no_host_check": frozenset({"DEV-HOST", "DEV-NOSIDE"}),
    "dev_snapshot_cut_500ms": frozenset({"DEV-SNAPSHOT"}),
    "dev_snapshot_buffered": frozenset({"DEV-SNAPSHOT"}),
    "dev_no_rate_limit": frozenset({"DEV-SNAPSHOT", "DEV-NOSIDE"}),
    "dev_no_retry_after": frozenset({"DEV-SNAPSHOT"}),
    "dev_shell_command": frozenset({"DEV-TMUX-CONTROL"}),
}

def profiles_for(breaks: str) -> tuple[str, ...]:
    """The profiles a run needs to show these breaks: core, plus each profile a break's name starts with."""
    extra = {name.split("_", 1)[0] for name in breaks.split(",") if name.split("_", 1)[0] in ("metrics", "live")}
    return ("core", *sorted(extra))


def node_binary() -> str:
    """Path of a usable `node`, or AssertionError saying how to get one (these tests never skip)."""
    node = shutil.which("node")
    assert node, ("`node` is not on PATH: the Node.js status server needs Node.js >= "
                  f"{MIN_NODE_MAJOR} (apt-get install -y nodejs; .ci/run installs it)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    assert match and int(match.group(1)) >= MIN_NODE_MAJOR, (
        f"`node --version` says {version!r}; the Node.js status server needs >= {MIN_NODE_MAJOR}")
    return node


def argv(kind: str) -> list[str]:
    """The command line that runs one server kind."""
    if kind == "node":
        return [node_binary(), str(NODE_SERVER)]
    if kind == "python":
        return [sys.executable, str(PY_SERVER)]
    raise ValueError(f"unknown server kind {kind!r}; one of {KINDS}")


def command(kind: str, breaks: str = "") -> str:
    """A shell command line for `tes-contract conform --server`, with TES_BREAK set inside it."""
    prefix = f"env TES_BREAK={shlex.quote(breaks)} " if breaks else ""
    return prefix + shlex.join(argv(kind))


@asynccontextmanager
async def started(kind: str, env: Mapping[str, str], ready_s: float = 20.0) -> AsyncIterator[str]:
    """Run one server on a free port with `env` added to ours; yield its base URL; always stop it."""
    full_env = {**os.environ, "TES_HOST": "127.0.0.1", "TES_PORT": "0", **env}
    process = await asyncio.create_subprocess_exec(
        *argv(kind), env=full_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), ready_s)
        except TimeoutError:
            line = b""
        if not line.startswith(b"listening "):
            with contextlib.suppress(ProcessLookupError):  # it may have exited already (a bad setting)
                process.kill()
            error = (await process.stderr.read()).decode(errors="replace")
            raise AssertionError(f"{kind} server did not start within {ready_s} s: {line!r} {error}")
        yield line.decode().split()[1]
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()
