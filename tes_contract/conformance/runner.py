"""Run the conformance checks: managed (a fresh server per group, groups in parallel) or live (--url)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from tes_contract.conformance.client import Client
from tes_contract.conformance.groups import GROUPS, Group, GroupContext, finish_group
from tes_contract.conformance.managed import ManagedServer, private_state, split_command
from tes_contract.conformance.model import ConformanceResult, Recorder
from tes_contract.conformance.scenarios import HEALTHY, Mocks
from tes_contract.conformance.watch import (
    GroupStop,
    exit_of,
    gone_after,
    judge_group_end,
    report_budget,
    report_exit,
    report_gone,
    until_unreachable,
)
from tes_contract.conformance.watch import budget as watch_budget
from tes_contract.contract.clauses import PROFILES
from tes_contract.contract.rules import DEFAULT_TIMEOUT_MS
from tes_contract.errors import ConfigError, SetupError, Stopped
from tes_contract.mocks import MockControl, MockUpstreams


@dataclass(frozen=True)
class Options:
    """What to run and how: exactly one of `server` (managed) or `url` (live)."""

    server: str | None = None
    url: str | None = None
    mock_control: str | None = None
    profiles: tuple[str, ...] = ("core",)
    seed: int = 0
    slack_ms: float = 1000.0
    timeout_ms: float | None = None  # live: the server's TES_UPSTREAM_TIMEOUT_MS (default 5000)
    group_timeout_ms: float = 2000.0  # managed: TES_UPSTREAM_TIMEOUT_MS of the short-timeout groups
    startup_timeout_s: float = 30.0
    examples: int = 30
    groups: tuple[str, ...] | None = None  # None: every group
    cwd: str | None = None
    max_time_s: float = 900.0  # the whole run: past it, stopped with exit 2 and the report of what ran
    budget_scale: float = 1.0  # multiplies every group's budget (a slow machine)

    def validate(self) -> None:
        """Raise ConfigError naming the bad option."""
        if (self.server is None) == (self.url is None):
            raise ConfigError("give exactly one of --server COMMAND (managed) or --url URL (live)")
        if self.server is not None:
            split_command(self.server)
            if self.mock_control:
                raise ConfigError("--mock-control goes with --url; --server starts its own mocks")
            if self.timeout_ms is not None:
                raise ConfigError("--timeout-ms goes with --url; --server sets TES_UPSTREAM_TIMEOUT_MS itself "
                                  "(--group-timeout-ms)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"--url {self.url!r}: expected http://HOST:PORT")
        unknown = [p for p in self.profiles if p not in PROFILES]
        if unknown or not self.profiles:
            raise ConfigError(f"--profile: unknown {', '.join(unknown) or '(none)'}; known: {', '.join(PROFILES)}")
        if "core" not in self.profiles:
            raise ConfigError("--profile must include core: every other profile builds on it")
        known = {g.name for g in GROUPS}
        if self.groups is not None and (bad := [g for g in self.groups if g not in known]):
            raise ConfigError(f"unknown group(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
        if self.slack_ms < 0 or self.examples < 1:
            raise ConfigError("--slack-ms must be >= 0 and --examples >= 1")
        if self.max_time_s <= 0 or self.budget_scale <= 0:
            raise ConfigError("--max-time and --budget-scale must be > 0")
        if not 100 <= self.group_timeout_ms <= 60_000 or (self.timeout_ms is not None and self.timeout_ms <= 0):
            raise ConfigError("--group-timeout-ms must be 100..60000 and --timeout-ms > 0")


def _selected(options: Options) -> list[Group]:
    chosen = [g for g in GROUPS if (options.groups is None or g.name in options.groups)
              and g.profile in options.profiles]
    if options.url is not None:
        chosen = [g for g in chosen if not g.needs_fresh and not g.needs_default_timeout
                  and (options.mock_control or not g.needs_mocks)]
    return chosen


def _context(group: Group, options: Options, client: Client, recorder: Recorder, mocks: Mocks | None,
             stop: threading.Event, timeout_ms: float, server: ManagedServer | None = None) -> GroupContext:
    managed = server is not None
    return GroupContext(group.name, client, recorder, mocks, timeout_ms, options.slack_ms, options.seed, stop,
                        managed, region=group.region, region_known=managed, examples=options.examples,
                        profiles=options.profiles, server=server)


class _Quiet:
    """Set once every server is up and every heavy group is done: the timing-sensitive groups wait for it."""

    def __init__(self, groups: Sequence[Group]) -> None:
        self.event = asyncio.Event()
        self._waiting = {"ready": len(groups), "heavy": sum(1 for g in groups if g.heavy)}
        self._check()

    def count(self, what: str) -> None:
        self._waiting[what] -= 1
        self._check()

    def _check(self) -> None:
        if all(n <= 0 for n in self._waiting.values()):
            self.event.set()


async def _run_managed_group(group: Group, options: Options, recorder: Recorder, stop: threading.Event,
                             quiet: _Quiet) -> None:
    assert options.server is not None
    # A group with a short timeout gets --group-timeout-ms; the default-timeout group leaves the variable unset.
    short = group.timeout_ms is not None
    timeout_ms = options.group_timeout_ms if short else DEFAULT_TIMEOUT_MS
    recorder.progress(f"{group.name}: starting mocks and server")
    tmux_start = {"scenario": "healthy", **HEALTHY["tmux"]}
    worker_start = {"scenario": "healthy", **HEALTHY["worker"]}
    async with MockUpstreams(seed=options.seed, client_timeout_ms=timeout_ms, tmux=tmux_start,
                             worker=worker_start) as mocks, private_state(group.name) as state:
        env: dict[str, str | None] = {
            "TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url,
            "TES_UPSTREAM_TIMEOUT_MS": str(int(timeout_ms)) if short else None,
            "TES_PRIMARY_REGION": group.region,
            "TES_ALERT_WEBHOOK_URL": mocks.webhook_url if group.webhook else None, **state, **group.env,
        }
        async with ManagedServer(options.server, env, name=group.name, startup_timeout_s=options.startup_timeout_s,
                                 cwd=options.cwd) as server:
            assert server.process is not None
            entry: dict[str, object] = {"group": group.name, "pid": server.process.pid, "url": server.url,
                                        "port": server.port}
            recorder.result.servers.append(entry)
            quiet.count("ready")
            await _watch_group(group, options, recorder, stop, quiet, mocks, server, timeout_ms, entry)
        if not group.controls_server:  # (a group that restarts or signals its server is not watched)
            judge_group_end(group.name, recorder, server)


async def _watch_group(group: Group, options: Options, recorder: Recorder, stop: threading.Event, quiet: _Quiet,
                       mocks: MockUpstreams, server: ManagedServer, timeout_ms: float, entry: dict[str, object]
                       ) -> None:
    """Drive the group while watching its server and its budget: the first of the group's end, the
    server's exit or the budget running out ends the group, reported once."""
    assert server.process is not None
    group_stop = GroupStop(stop)
    running = asyncio.Event()
    drive = asyncio.ensure_future(_drive(group, options, recorder, group_stop, quiet, mocks, server, timeout_ms,
                                         entry, running))
    budget_s = group_budget_s(group, options)
    budget = asyncio.ensure_future(watch_budget(running, budget_s))
    # A group that stops or kills its own server (restarts, SIGTERM) is not watched.
    exited = asyncio.ensure_future(server.process.wait() if not group.controls_server else asyncio.Event().wait())
    try:
        await asyncio.wait({drive, exited, budget}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not drive.done():
            group_stop.set()
            drive.cancel()
            await asyncio.gather(drive, return_exceptions=True)
        exited.cancel()
        budget.cancel()
    if not drive.cancelled() and drive.exception() is None:
        return
    returncode = server.process.returncode if server.process is not None else None
    stopped = not drive.cancelled() and isinstance(drive.exception(), Stopped)
    if not group.controls_server and returncode is None and stopped:
        returncode = await exit_of(server)  # a group that saw its server go (payloads) and stopped
    if not group.controls_server and returncode is not None:
        report_exit(group.name, recorder, server, returncode)
    elif budget.done() and not budget.cancelled():
        report_budget(group.name, recorder, budget_s)
    else:
        drive.result()


def group_budget_s(group: Group, options: Options) -> float:
    """Seconds the group may drive its server (the wait for the quiet moment aside)."""
    return (group.budget_s + group.budget_per_example_s * options.examples) * options.budget_scale


async def _drive(group: Group, options: Options, recorder: Recorder, stop: threading.Event, quiet: _Quiet,
                 mocks: MockUpstreams, server: ManagedServer, timeout_ms: float, entry: dict[str, object],
                 running: asyncio.Event) -> None:
    """Wait for the quiet moment (timing-sensitive groups), run the group's scenarios and its final checks."""
    try:
        recorder.running.add(group.name)  # (waiting for the quiet moment counts: --max-time stops it too)
        if not group.heavy:
            recorder.progress(f"{group.name}: waiting for the heavy groups to finish")
            await quiet.event.wait()
        running.set()
        answer_timeout_s = timeout_ms / 1000 * 2 + options.slack_ms / 1000 + 5
        async with Client(server.url, recorder, answer_timeout_s=answer_timeout_s) as client:
            ctx = _context(group, options, client, recorder, Mocks(mocks), stop, timeout_ms, server)
            recorder.progress(f"{group.name}: running")
            started = time.monotonic()
            await group.run(ctx)
            await finish_group(ctx)
            entry["output_tail"] = server.log_tail(40)  # the HTML report shows it; the log goes at stop
            recorder.progress(f"{group.name}: done in {time.monotonic() - started:.1f} s")
    finally:
        recorder.running.discard(group.name)
        if group.heavy:
            quiet.count("heavy")


async def _run_live(options: Options, recorder: Recorder, stop: threading.Event) -> None:
    assert options.url is not None
    timeout_ms = options.timeout_ms or DEFAULT_TIMEOUT_MS
    await _require_reachable(options.url)
    control = MockControl(options.mock_control) if options.mock_control else None
    try:
        if control is not None:
            await control.set_client_timeout(timeout_ms)
        gone = asyncio.ensure_future(until_unreachable(options.url))
        try:
            for group in _selected(options):
                if not await _run_live_group(group, options, recorder, stop, control, timeout_ms, gone):
                    break
        finally:
            gone.cancel()
    finally:
        if control is not None:
            with contextlib.suppress(Exception):
                await control.reset()
            await control.aclose()


async def _run_live_group(group: Group, options: Options, recorder: Recorder, stop: threading.Event,
                          control: MockControl | None, timeout_ms: float, gone: asyncio.Future[float]) -> bool:
    """Run one group against the live server, within its budget; False when the server went away."""
    assert options.url is not None
    answer_timeout_s = timeout_ms / 1000 * 2 + options.slack_ms / 1000 + 5
    group_stop = GroupStop(stop)
    async with Client(options.url, recorder, answer_timeout_s=answer_timeout_s, skew_s=30.0) as client:
        ctx = _context(group, options, client, recorder, Mocks(control) if control is not None else None,
                       group_stop, timeout_ms)
        recorder.progress(f"{group.name}: running against {options.url}")
        recorder.running.add(group.name)

        async def run() -> None:
            await group.run(ctx)
            await finish_group(ctx)

        drive = asyncio.ensure_future(run())
        budget_s = group_budget_s(group, options)
        try:
            watched: set[asyncio.Future[Any]] = {drive, gone}
            done, _ = await asyncio.wait(watched, timeout=budget_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not drive.done():
                group_stop.set()
                drive.cancel()
                await asyncio.gather(drive, return_exceptions=True)
            recorder.running.discard(group.name)
    if gone in done or (drive.done() and await gone_after(options.url, gone)):
        report_gone(group.name, recorder, options.url, gone.result())
        return False
    if drive not in done:
        report_budget(group.name, recorder, budget_s)
    else:
        drive.result()
    judge_group_end(group.name, recorder, None)
    return True


async def _require_reachable(url: str) -> None:
    """Live mode: fail as a setup error (exit 2) when nothing answers at `url`."""
    try:
        async with aiohttp.ClientSession() as session, session.get(url.rstrip("/") + "/api/dev/status",
                                                                   timeout=aiohttp.ClientTimeout(total=30)):
            return
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SetupError(f"--url {url}: the server does not answer ({type(exc).__name__}: {exc})") from exc


@contextlib.asynccontextmanager
async def _stop_on_sigterm(stop: threading.Event) -> AsyncIterator[None]:
    """SIGTERM cancels the run like Ctrl-C does, so the servers are stopped either way."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed = False
    if threading.current_thread() is threading.main_thread() and task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            def on_sigterm() -> None:
                stop.set()
                task.cancel()

            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
            installed = True
    try:
        yield
    finally:
        stop.set()
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


async def arun_conformance(options: Options, on_event: Callable[[str, str], None] | None = None) -> ConformanceResult:
    """Async form of `run_conformance`."""
    options.validate()
    result = ConformanceResult(options.server or options.url or "", options.profiles, options.seed)
    recorder = Recorder(result, on_event)
    stop = threading.Event()
    started = time.monotonic()
    async with _stop_on_sigterm(stop):
        try:
            if options.server is not None:
                groups = _selected(options)
                quiet = _Quiet(groups)
                tasks = [asyncio.ensure_future(_run_managed_group(g, options, recorder, stop, quiet))
                         for g in groups]
                await _gather_or_cancel(tasks, stop, recorder, options.max_time_s)
            else:
                await _gather_or_cancel([asyncio.ensure_future(_run_live(options, recorder, stop))], stop,
                                        recorder, options.max_time_s)
        except Stopped:
            pass
        finally:
            stop.set()
    result.wall_s = time.monotonic() - started
    return result


async def _gather_or_cancel(tasks: Sequence[asyncio.Future[None]], stop: threading.Event, recorder: Recorder,
                            max_time_s: float) -> None:
    """Wait for every group; the first error (or a cancellation) stops and cancels all the others, and so
    does `max_time_s` running out (the groups still running are reported stopped, the run exits 2)."""
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION, timeout=max_time_s)
        if pending and not any(not t.cancelled() and t.exception() is not None for t in done):
            recorder.result.max_time_s = max_time_s
            for group in sorted(recorder.running):
                recorder.stop_group(group, f"not checked: the run reached --max-time {max_time_s:g} s")
            recorder.progress(f"--max-time {max_time_s:g} s reached: stopping "
                              f"{', '.join(sorted(recorder.running)) or 'the run'}")
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None and not isinstance(error, Stopped):
                raise error
    finally:
        if any(not task.done() for task in tasks):
            recorder.closed = True  # torn down early: the groups still running are not judged
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_conformance(options: Options | None = None, on_event: Callable[[str, str], None] | None = None,
                    **kwargs: object) -> ConformanceResult:
    """Run the checks and return the result, per clause and scenario.

    Args:
        options: what to run (or pass the Options fields as keyword arguments).
        on_event: called with ("progress" | "failure" | "verdict", text) as the run goes; a verdict is
            "GROUP: CLAUSE passed|failed" for each clause a check judged.

    Example:
        result = run_conformance(server="python -m tes_contract serve")
        assert result.exit_code == 0, result.failed_clauses()

    Raises SetupError / ConfigError (exit 2) when nothing could be judged.
    """
    if options is None:
        options = Options(**kwargs)  # type: ignore[arg-type]
    return asyncio.run(arun_conformance(options, on_event))
