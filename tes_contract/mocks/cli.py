"""`tes-contract mock`: serve the mock upstreams; `mock set|journal|reset` drive a running one."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import IO, Any

import click

from tes_contract.mocks.control import MockControl
from tes_contract.mocks.record import UPSTREAM_PATHS, describe, record
from tes_contract.mocks.upstreams import MockUpstreams


def scenario_option(value: str) -> Any:
    """`--tmux hang` or `--worker '{"scenario": "slow", "delay": "0.8x"}'`."""
    return json.loads(value) if value.lstrip().startswith("{") else value


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`k=v` pairs; a value that reads as JSON (800, true, {"a": 1}) is that JSON, else the text (`0.8x`)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


async def serve(options: dict[str, Any], stdout: IO[str], ready: asyncio.Event | None = None) -> int:
    """Run the mocks until SIGINT or SIGTERM; print their URLs first, one a line."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with MockUpstreams(**options) as mocks:
            for name, url in (await mocks.urls()).items():
                stdout.write(f"{name}: {url}\n")
            stdout.flush()
            if ready is not None:
                ready.set()
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0


def _run_control(call: Coroutine[Any, Any, Any]) -> Any:
    # A refusal of the control API is a MockControlError (a ToolError): the CLI group prints it, exit 2.
    return asyncio.run(call)


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--tmux-port", type=int, default=3004, show_default=True, help="tmux mock port (0: a free one).")
@click.option("--worker-port", type=int, default=3003, show_default=True, help="worker mock port (0: a free one).")
@click.option("--webhook-port", type=int, default=3006, show_default=True,
              help="webhook receiver mock port (0: a free one); TES_ALERT_WEBHOOK_URL is its /webhook.")
@click.option("--control-port", type=int, default=3005, show_default=True, help="control API port (0: a free one).")
@click.option("--tmux", "tmux_scenario", default="healthy", show_default=True, metavar="SCENARIO",
              help="Initial tmux scenario: a name or a JSON object.")
@click.option("--worker", "worker_scenario", default="healthy", show_default=True, metavar="SCENARIO",
              help="Initial worker scenario: a name or a JSON object.")
@click.option("--webhook", "webhook_scenario", default="healthy", show_default=True, metavar="SCENARIO",
              help="Initial webhook scenario: a name (healthy, client_error, http_error, hang, ...) or JSON.")
@click.option("--timeline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML timeline to run from the start (see mocks/*.yaml).")
@click.option("--seed", type=int, default=0, show_default=True, help="Default seed of chaos.")
@click.option("--client-timeout-ms", type=float, default=5000, show_default=True,
              help="Timeout of the server under test, the base of '0.8x' delays.")
@click.option("--tmux-path", default="/api/dev/tmux/status", show_default=True, help="Path of the tmux endpoint.")
@click.option("--journal-limit", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Journal entries kept per upstream (oldest drop first).")
@click.pass_context
def mock(ctx: click.Context, host: str, tmux_port: int, worker_port: int, webhook_port: int, control_port: int,
         tmux_scenario: str, worker_scenario: str, webhook_scenario: str, timeline: Path | None, seed: int,
         client_timeout_ms: float, tmux_path: str, journal_limit: int) -> None:
    """Serve the tmux-status and worker mock upstreams, the webhook receiver and their control API until Ctrl-C.

    Prints `tmux: URL`, `worker: URL`, `webhook: URL`, `control: URL`. Subcommands drive a running mock.
    """
    if ctx.invoked_subcommand is not None:
        return
    try:
        options = {"host": host, "tmux_port": tmux_port, "worker_port": worker_port, "control_port": control_port,
                   "webhook_port": webhook_port, "tmux": scenario_option(tmux_scenario),
                   "worker": scenario_option(worker_scenario), "webhook": scenario_option(webhook_scenario),
                   "timeline": timeline, "seed": seed, "client_timeout_ms": client_timeout_ms,
                   "tmux_path": tmux_path, "journal_limit": journal_limit}
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not a scenario name or JSON object: {exc}") from exc
    sys.exit(asyncio.run(serve(options, sys.stdout)))


@mock.command("set")
@click.argument("control_url")
@click.argument("upstream")
@click.argument("scenario")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A scenario parameter (repeatable), e.g. -p delay=0.8x -p connected=7.")
def set_command(control_url: str, upstream: str, scenario: str, params: tuple[str, ...]) -> None:
    """Switch UPSTREAM (tmux|worker|webhook) of a running mock to SCENARIO; prints the scenario now set."""
    values = parse_params(params)

    async def call() -> dict[str, Any]:
        async with MockControl(control_url) as control:
            return await control.set(upstream, scenario, **values)

    click.echo(json.dumps(_run_control(call())))


@mock.command("journal")
@click.argument("control_url")
@click.argument("upstream")
@click.option("--clear", is_flag=True, help="Empty the journal after printing it.")
def journal_command(control_url: str, upstream: str, clear: bool) -> None:
    """Print the journal of UPSTREAM, one JSON entry a line."""
    async def call() -> list[dict[str, Any]]:
        async with MockControl(control_url) as control:
            entries = await control.journal(upstream)
            if clear:
                await control.clear_journal(upstream)
            return entries

    for entry in _run_control(call()):
        click.echo(json.dumps(entry))


@mock.command("reset")
@click.argument("control_url")
def reset_command(control_url: str) -> None:
    """Every mock healthy, journals empty, timeline stopped."""
    async def call() -> None:
        async with MockControl(control_url) as control:
            await control.reset()

    _run_control(call())
    click.echo("reset")


@mock.command("record")
@click.option("--target", required=True, metavar="URL",
              help="The real upstream: the worker API's base URL (TES_WORKER_API_URL) or the tmux status URL.")
@click.option("--upstream", type=click.Choice(sorted(UPSTREAM_PATHS)), default="worker", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Timeline file to write (JSON; `mock --timeline` reads it).")
@click.option("--polls", type=click.IntRange(min=1), default=30, show_default=True, help="How many polls.")
@click.option("--interval-ms", type=click.FloatRange(min=0), default=1000, show_default=True,
              help="From one poll's start to the next.")
@click.option("--timeout-ms", type=click.FloatRange(min=1), default=5000, show_default=True,
              help="Bound of each poll (TES_UPSTREAM_TIMEOUT_MS of the server you replay it to).")
@click.option("--repeat", is_flag=True, help="Make the replay start again after the last poll.")
def record_command(target: str, upstream: str, out: Path, polls: int, interval_ms: float, timeout_ms: float,
                   repeat: bool) -> None:
    """Poll a real upstream and write what it answered, latencies included, as a replayable timeline."""
    def show(index: int, phase: dict[str, Any]) -> None:
        click.echo(describe(index, phase))

    document = asyncio.run(record(upstream, target, polls=polls, interval_s=interval_ms / 1000,
                                  timeout_ms=timeout_ms, repeat=repeat, on_poll=show))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    click.echo(f"timeline written: {out} (replay: tes-contract mock --timeline {out})")
