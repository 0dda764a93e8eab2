"""Watching a run: each group's server and budget, a live server's reachability, and what is reported
when one of them ends a group (once, at once)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from tes_contract.conformance.checks.process import server_stays_up, server_stops_on_sigterm
from tes_contract.conformance.managed import STOP_GRACE_S, ManagedServer
from tes_contract.conformance.model import Failure, Recorder, ServerExit, describe_returncode
from tes_contract.conformance.registry import clauses_of

#: Failures a group recorded this long before its server's exit was seen are forgotten: what a dying
#: server answered in its last moments is its exit, reported once.
EXIT_WINDOW_S = 1.0
#: Live mode: a server is gone after this many refused (or unanswered) TCP connects in a row, this far apart.
LIVE_MISSES = 3
LIVE_PROBE_S = 0.5


class GroupStop(threading.Event):
    """A group's stop: set for the group alone (its server exited, its budget ran out), or by the run's."""

    def __init__(self, run: threading.Event) -> None:
        super().__init__()
        self._run = run

    def is_set(self) -> bool:
        return super().is_set() or self._run.is_set()


async def budget(running: asyncio.Event, budget_s: float) -> None:
    """Return `budget_s` after the group began driving its server."""
    await running.wait()
    await asyncio.sleep(budget_s)


async def exit_of(server: ManagedServer, wait_s: float = 1.0) -> int | None:
    """The server process's return code, waiting up to `wait_s` for its exit to be seen; None if running."""
    process = server.process
    if process is None:
        return None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(process.wait()), wait_s)
    return process.returncode


def report_exit(group: str, recorder: Recorder, server: ManagedServer, returncode: int) -> None:
    """A server that ended during its group: one finding (when, how, its last output); the group's checks
    that had not run are "not checked"."""
    exit = ServerExit(group, recorder.elapsed(), describe_returncode(returncode), server.log_tail(), returncode)
    recorder.stop_group(group, f"not checked: the server {exit.description}", since=time.monotonic() - EXIT_WINDOW_S)
    recorder.server_exited(exit)
    _judge(recorder, server_stays_up, group, exit)
    recorder.progress(f"{group}: {exit.summary()}; the group's remaining checks did not run")


def report_gone(group: str, recorder: Recorder, url: str, since: float) -> None:
    """Live mode: the server stopped accepting connections during `group` (first refused at `since`)."""
    exit = ServerExit(group, recorder.elapsed(), f"stopped accepting connections at {url}")
    recorder.stop_group(group, f"not checked: the server {exit.description}", since=since - EXIT_WINDOW_S)
    recorder.server_exited(exit)
    _judge(recorder, server_stays_up, group, exit)
    recorder.progress(f"{group}: {exit.summary()}; the run stops there")


def judge_group_end(group: str, recorder: Recorder, server: ManagedServer | None) -> None:
    """A group that ended with its server up (even past its budget): SERVER-ALIVE held; in managed mode,
    SERVER-STOP by how the server stopped."""
    if recorder.closed or any(e.group == group for e in recorder.result.server_exits):
        return
    _judge(recorder, server_stays_up, group, None)
    if server is not None and server.ended_by is not None and server.ended_by[0] != "exited":
        _judge(recorder, server_stops_on_sigterm, f"{group}/stop", *server.ended_by, STOP_GRACE_S)


def _judge(recorder: Recorder, func: Callable[..., Iterator[Failure]], scenario: str, *args: Any) -> None:
    """Record a process check even for a group already stopped (its exit is the finding)."""
    recorder.record(func.__name__, clauses_of(func), scenario, list(func(*args)), force=True)


def report_budget(group: str, recorder: Recorder, budget_s: float) -> None:
    """A group that ran past its budget: stopped, its remaining checks not checked."""
    recorder.stop_group(group, f"not checked: the group ran past its budget of {budget_s:.0f} s "
                               "(answers too slow or missing)")
    recorder.result.timed_out.append(group)
    recorder.progress(f"{group}: ran past its budget of {budget_s:.0f} s: stopped; its remaining checks did "
                      "not run")


async def gone_after(url: str, gone: asyncio.Future[float]) -> bool:
    """After a group ended on its own: True when the server went away meanwhile (a group of refused
    requests can end before the watcher's three misses). One connect; if refused, wait for the watcher."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return gone.done()
    except (OSError, TimeoutError):
        await asyncio.wait({gone}, timeout=LIVE_MISSES * LIVE_PROBE_S + 3 * 2.0)
        return gone.done()


async def until_unreachable(url: str) -> float:
    """Return (the time.monotonic() of the first miss) once LIVE_MISSES TCP connects in a row to `url`'s
    host and port were refused or not accepted within 2 s. A server that accepts and then never answers is
    not gone: the answer timeouts judge it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    first: float | None = None
    misses = 0
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            first, misses = None, 0
        except (OSError, TimeoutError):
            first = first if first is not None else time.monotonic()
            misses += 1
            if misses >= LIVE_MISSES:
                return first
        await asyncio.sleep(LIVE_PROBE_S)
