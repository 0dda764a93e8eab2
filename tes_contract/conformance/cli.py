"""`tes-contract conform` and `tes-contract demo`: parse, call plain functions, print."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import IO, NoReturn

import click

from tes_contract.conformance.managed import ManagedServer
from tes_contract.conformance.model import ConformanceResult
from tes_contract.conformance.progress import LiveView, RunLog
from tes_contract.conformance.report import parse_report_spec, print_summary, write_reports
from tes_contract.conformance.report_html import html_report_paths, write_html
from tes_contract.conformance.runner import Options, arun_conformance
from tes_contract.conformance.scenarios import HEALTHY
from tes_contract.errors import ConfigError


def reference_server_command() -> str:
    """The command that runs the reference server with this Python."""
    return f"{sys.executable} -m tes_contract serve"


def conform(options: Options, reports: list[str], stdout: IO[str], *, quiet: bool = False) -> ConformanceResult:
    """Run the checks, print progress and the summary, write the reports; return the result."""
    html, others = html_report_paths(reports)
    for spec in others:
        parse_report_spec(spec)  # a bad --report fails before the run, not after it
    options.validate()
    log = RunLog()
    view = LiveView(stdout, log)
    with contextlib.nullcontext() if quiet else view.shown():
        result = asyncio.run(arun_conformance(options, log if quiet else view))
    print_summary(result, stdout)
    write_reports(result, others)
    for path in html:
        write_html(result, path, timeline=log.timeline())
    for spec in reports:
        stdout.write(f"report written: {spec}\n")
    return result


def _profiles(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


@click.command("conform")
@click.option("--server", "server", metavar="COMMAND", help="Managed mode: start this server command per group.")
@click.option("--url", metavar="URL", help="Live mode: check a running server.")
@click.option("--mock-control", metavar="CONTROL_URL",
              help="Live mode: the control API of the mocks the server was started against (upstream scenarios).")
@click.option("--profile", "profiles", default="core", show_default=True, metavar="core[,live,dev,metrics,history]",
              help="Profiles to check; one the server does not implement is reported as such.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the property-based runs.")
@click.option("--slack-ms", type=float, default=1000.0, show_default=True,
              help="Slack over the timeout before an answer counts as late.")
@click.option("--timeout-ms", type=float, default=None,
              help="Live mode: the server's TES_UPSTREAM_TIMEOUT_MS [default 5000].")
@click.option("--group-timeout-ms", type=float, default=2000.0, show_default=True,
              help="Managed mode: TES_UPSTREAM_TIMEOUT_MS of the groups with a short timeout.")
@click.option("--startup-timeout", type=float, default=30.0, show_default=True,
              help="Seconds a managed server may take to listen.")
@click.option("--examples", type=int, default=30, show_default=True, help="Examples per property-based run.")
@click.option("--group", "groups", multiple=True, help="Run only this scenario group (repeatable).")
@click.option("--max-time", "max_time", type=float, default=900.0, show_default=True,
              help="Seconds the whole run may take: past it, every group is stopped, the report shows what ran, "
                   "exit 2.")
@click.option("--budget-scale", type=float, default=1.0, show_default=True,
              help="Multiply every group's time budget (a group past its budget is stopped and reported).")
@click.option("--report", "reports", multiple=True, metavar="json:PATH|junit:PATH|html:PATH",
              help="Write a report (repeatable); html is one self-contained page.")
@click.option("--quiet", is_flag=True, help="No live progress, just the summary.")
def conform_command(server: str | None, url: str | None, mock_control: str | None, profiles: str, seed: int,
                    slack_ms: float, timeout_ms: float | None, group_timeout_ms: float, startup_timeout: float,
                    examples: int, groups: tuple[str, ...], max_time: float, budget_scale: float,
                    reports: tuple[str, ...], quiet: bool) -> None:
    """Check a server of the status API against the contract, clause by clause.

    Exit 0 when every clause checked passed, 1 when any failed or a server exited, 2 when nothing could be
    judged (server did not start, port busy, bad arguments) or the run was cut short (--max-time, a group
    past its budget with nothing failed).
    """
    options = Options(server=server, url=url, mock_control=mock_control, profiles=_profiles(profiles), seed=seed,
                      slack_ms=slack_ms, timeout_ms=timeout_ms, group_timeout_ms=group_timeout_ms,
                      startup_timeout_s=startup_timeout, examples=examples, groups=groups or None,
                      max_time_s=max_time, budget_scale=budget_scale)
    try:
        result = conform(options, list(reports), sys.stdout, quiet=quiet)
    except KeyboardInterrupt:
        _interrupted()
    sys.exit(result.exit_code)


def _interrupted() -> NoReturn:
    """Ctrl-C: every server and mock is already stopped (the run's finally blocks); exit 130 like a shell."""
    click.echo("interrupted: every server and mock stopped", err=True)
    sys.exit(130)


def _dashboard_link(server: ManagedServer) -> str:
    """The `dashboard: URL/#token=...` link the reference server printed at start, else its bare URL."""
    for line in server.log_tail(50).splitlines():
        if line.startswith("dashboard: "):
            return line.removeprefix("dashboard: ").strip()
    return f"{server.url}/"


async def _demo(port: int, exit_after: bool, options: Options, reports: list[str], stdout: IO[str]) -> int:
    from tes_contract.mocks import MockUpstreams

    tmux = {"scenario": "healthy", **HEALTHY["tmux"]}
    worker = {"scenario": "healthy", **HEALTHY["worker"]}
    async with MockUpstreams(tmux=tmux, worker=worker) as mocks:
        env: dict[str, str | None] = {"TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url}
        async with ManagedServer(reference_server_command(), env, name="demo", port=port) as server:
            stdout.write(f"reference server: {server.url}/api/dev/status\n"
                         f"dashboard: {_dashboard_link(server)}\n"
                         f"mocks: tmux {mocks.tmux_url}, worker {mocks.worker_url}, control {mocks.control_url}\n"
                         f"running tes-contract conform --server {options.server!r} ...\n")
            stdout.flush()
            log = RunLog()
            result = await arun_conformance(options, LiveView(stdout, log, tty=False))
            print_summary(result, stdout)
            html, others = html_report_paths(reports)
            write_reports(result, others)
            for path in html:
                write_html(result, path, timeline=log.timeline())
            if exit_after:
                return result.exit_code
            stdout.write(f"\nserving {server.url}/api/dev/status and the dashboard {_dashboard_link(server)} "
                         f"until Ctrl-C; flip an upstream with:\n"
                         f"  tes-contract mock set {mocks.control_url} worker hang\n")
            stdout.flush()
            await asyncio.Event().wait()
    return 0


@click.command("demo")
@click.option("--port", type=int, default=3002, show_default=True, help="Port of the reference server kept running.")
@click.option("--exit", "exit_after", is_flag=True, help="Stop after the report instead of serving until Ctrl-C.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--report", "reports", multiple=True, metavar="json:PATH|junit:PATH|html:PATH")
@click.option("--group", "groups", multiple=True, help="Run only this scenario group (repeatable).")
def demo_command(port: int, exit_after: bool, seed: int, reports: tuple[str, ...], groups: tuple[str, ...]) -> None:
    """The main job: start the mocks and the reference server, run conform against it, keep serving."""
    for spec in html_report_paths(list(reports))[1]:
        parse_report_spec(spec)
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: not a port number")
    options = Options(server=reference_server_command(), seed=seed, groups=groups or None)
    options.validate()
    try:
        code = asyncio.run(_demo(port, exit_after, options, list(reports), sys.stdout))
    except KeyboardInterrupt:
        _interrupted()
    sys.exit(code)
