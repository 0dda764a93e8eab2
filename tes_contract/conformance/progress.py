"""What a run shows as it goes: the event log with times (the HTML report's timeline) and the console view.

The runner reports `("progress" | "failure" | "verdict", text)` events; a progress text starts with the
group's name (`"http: running"`, `"http: done in 3.2 s"`), a verdict is `"http: STATUS-HTTP-2 failed"`.
`RunLog` keeps every event with its time so the report can draw each group's span, and counts each group's
clauses passed and failed so far; `LiveView` redraws one line per group in place on a terminal (rich) and
falls back to one plain line per event (verdicts only counted) when stdout is not a terminal, so CI logs
stay readable.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

_GROUP = re.compile(r"^([a-z][a-z0-9-]*): (.*)$")
_CLAUSE = re.compile(r"^([A-Z][A-Z0-9-]+) \[")
_VERDICT = re.compile(r"^([a-z][a-z0-9-]*): ([A-Z][A-Z0-9-]+) (passed|failed)$")


@dataclass
class GroupSpan:
    """One scenario group's span in a run: seconds from the start of the run, its last state, failures."""

    name: str
    first_s: float
    last_s: float
    state: str = ""
    running_s: float | None = None
    done: bool = False
    failures: int = 0
    passed: set[str] = field(default_factory=set)  # clauses judged so far with no failure in this group
    failed: set[str] = field(default_factory=set)


@dataclass
class RunLog:
    """Every event of a run with its time since the start; thread-safe (groups report from threads)."""

    started: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    groups: dict[str, GroupSpan] = field(default_factory=dict)
    failed_clauses: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, kind: str, text: str) -> None:
        """Record one event (the runner's `on_event` signature)."""
        at = time.monotonic() - self.started
        with self._lock:
            if kind == "verdict":
                self._verdict(at, text)
                return
            self.events.append((at, kind, text))
            if kind == "failure":
                if match := _CLAUSE.match(text):
                    self.failed_clauses[match.group(1)] = self.failed_clauses.get(match.group(1), 0) + 1
                running = [g for g in self.groups.values() if not g.done]
                if len(running) == 1:  # attributable only when one group runs (live mode, or the last one)
                    running[0].failures += 1
                return
            match = _GROUP.match(text)
            if match is None:
                return
            name, state = match.groups()
            span = self.groups.setdefault(name, GroupSpan(name, at, at))
            span.last_s, span.state = at, state
            if state.startswith("running") and span.running_s is None:
                span.running_s = at
            if state.startswith("done"):
                span.done = True

    def _verdict(self, at: float, text: str) -> None:
        """Count one judged clause in its group (a clause failed once stays failed)."""
        match = _VERDICT.match(text)
        if match is None:
            return
        name, clause, verdict = match.groups()
        span = self.groups.setdefault(name, GroupSpan(name, at, at))
        if verdict == "failed":
            span.failed.add(clause)
            span.passed.discard(clause)
        elif clause not in span.failed:
            span.passed.add(clause)

    def timeline(self) -> list[dict[str, Any]]:
        """Each group's span as JSON-ready rows, in start order, with the run's total for scaling."""
        with self._lock:
            spans = sorted(self.groups.values(), key=lambda g: g.first_s)
            total = max((g.last_s for g in spans), default=0.0) or 1.0
            return [{"group": g.name, "start_s": round(g.first_s, 3), "running_s": round(g.running_s, 3)
                     if g.running_s is not None else None, "end_s": round(g.last_s, 3), "state": g.state,
                     "left_pct": round(100 * g.first_s / total, 2),
                     "width_pct": round(max(0.5, 100 * (g.last_s - g.first_s) / total), 2)} for g in spans]


class LiveView:
    """Per group, a line that updates in place on a terminal; plain lines otherwise."""

    def __init__(self, stream: IO[str], log: RunLog, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.log = log
        self.tty = stream.isatty() if tty is None else tty
        self._live: Any = None

    def __call__(self, kind: str, text: str) -> None:
        """Record the event, then show it."""
        self.log(kind, text)
        if self._live is not None:
            self._live.update(self._render())
            return
        if kind == "verdict":  # counted in the log; one per judged clause is too many lines for CI
            return
        self.stream.write(f"{'FAIL' if kind == 'failure' else '  ..'} {text}\n")
        self.stream.flush()

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        for name in ("group", "state", "clauses", "failures"):
            table.add_column(name)
        with self.log._lock:
            spans = list(self.log.groups.values())
            failed = dict(self.log.failed_clauses)
        for span in spans:
            mark = "[green]done[/]" if span.done else "[cyan]...[/]"
            counts = f"{len(span.passed)} passed, {len(span.failed)} failed" if span.passed or span.failed else ""
            table.add_row(f"{mark} {span.name}", span.state, counts, str(span.failures or ""))
        summary = ", ".join(f"{clause} x{n}" for clause, n in sorted(failed.items())) or "none"
        return Group(table, Text.from_markup(f"[bold]failed clauses so far:[/] {len(failed)} ({summary})"))

    @contextmanager
    def shown(self) -> Iterator[LiveView]:
        """Hold the in-place display for the run (a no-op when not a terminal)."""
        if not self.tty:
            yield self
            return
        from rich.console import Console
        from rich.live import Live

        with Live(self._render(), console=Console(file=self.stream), refresh_per_second=8, transient=False) as live:
            self._live = live
            try:
                yield self
            finally:
                live.update(self._render())
                self._live = None


def plain_printer(stream: IO[str]) -> Callable[[str, str], None]:
    """One line per event, nothing in place (for callers that want no view)."""
    return LiveView(stream, RunLog(), tty=False)

