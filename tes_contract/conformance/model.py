"""Records of a conformance run: HTTP exchanges, failures, outcomes per clause and scenario, the result."""

from __future__ import annotations

import json
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tes_contract.contract.clauses import BY_ID
from tes_contract.errors import ContractFailure

Status = Literal["passed", "failed", "not implemented"]
NOT_JSON: Any = object()  # an Exchange body that did not parse as JSON


@dataclass(frozen=True)
class Failure:
    """One broken clause: what was expected, what was observed, and how to reproduce it."""

    clause: str
    expected: str
    observed: str
    check: str = ""
    scenario: str = ""
    curl: str = ""
    mock: str = ""
    seed: int | None = None
    payload: Any = None

    def reproduction(self) -> str:
        """Return a reproduction in one line: mock scenario, seed, curl."""
        parts = []
        if self.mock:
            parts.append(f"mocks: {self.mock}")
        if self.seed is not None:
            parts.append(f"seed: {self.seed}")
        if self.payload is not None:
            parts.append(f"payload: {json.dumps(self.payload, sort_keys=True)}")
        if self.curl:
            parts.append(self.curl)
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """Return the failure as a JSON-ready mapping."""
        return {
            "clause": self.clause, "check": self.check, "scenario": self.scenario, "expected": self.expected,
            "observed": self.observed, "reproduction": {"curl": self.curl, "mock": self.mock, "seed": self.seed,
                                                        "payload": self.payload},
        }

    def as_contract_failure(self) -> ContractFailure:
        """Return the failure as the kit's exception (for pytest items)."""
        return ContractFailure(self.clause, self.expected, self.observed, self.reproduction())


@dataclass
class Exchange:
    """One HTTP request the harness sent and what came back (status None when no answer came)."""

    method: str
    url: str
    sent_at: float
    received_at: float
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    body: Any = NOT_JSON
    error: str = ""

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds from sending to the end of the answer."""
        return (self.received_at - self.sent_at) * 1000.0

    def header(self, name: str) -> str | None:
        """Return the header's value (repeated headers joined by ', '), or None when absent."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def curl(self) -> str:
        """Return a curl line that repeats this request."""
        method = "" if self.method == "GET" else f"-X {self.method} "
        return f"curl -si {method}{shlex.quote(self.url)}"

    def overlaps(self, other: Exchange) -> bool:
        """True when the two requests were in flight at the same time."""
        return not (self.received_at < other.sent_at or other.received_at < self.sent_at)


def describe_returncode(code: int) -> str:
    """`exited with code 2` or `was killed by signal SIGKILL (9)`."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "a signal"
    return f"was killed by signal {name} ({-code})"


@dataclass(frozen=True)
class ServerExit:
    """A server under test that ended while the harness drove it (or a live server that went away)."""

    group: str
    at_s: float  # seconds into the run
    description: str  # "exited with code 1", "was killed by signal SIGKILL (9)", "stopped accepting connections"
    output: str = ""  # its last output lines (managed mode)
    returncode: int | None = None

    def summary(self) -> str:
        """One line: which group, when, how."""
        return f"the server of group {self.group} {self.description} {self.at_s:.1f} s into the run"

    def as_dict(self) -> dict[str, Any]:
        """The exit as a JSON-ready mapping."""
        return {"group": self.group, "at_s": round(self.at_s, 3), "description": self.description,
                "returncode": self.returncode, "output": self.output}


@dataclass
class Outcome:
    """The verdict of one clause in one scenario."""

    clause: str
    scenario: str
    status: Status = "passed"
    checks: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    note: str = ""
    first_at: float = field(default_factory=time.monotonic, repr=False, compare=False)
    failed_at: list[float] = field(default_factory=list, repr=False, compare=False)

    @property
    def profile(self) -> str:
        """The clause's profile."""
        return BY_ID[self.clause].profile


@dataclass
class ConformanceResult:
    """Everything a run found: outcomes keyed by (clause, scenario), profiles not implemented, wall time."""

    target: str
    profiles: tuple[str, ...]
    seed: int
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    not_implemented: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    exchanges: int = 0
    servers: list[dict[str, Any]] = field(default_factory=list)  # managed: group, pid, url of each server
    #: Servers that ended while driven (each reported once) and groups cut short, group -> why.
    server_exits: list[ServerExit] = field(default_factory=list)
    stopped_groups: dict[str, str] = field(default_factory=dict)
    #: Groups stopped when they ran past their budget; `max_time_s` set when the run reached --max-time.
    timed_out: list[str] = field(default_factory=list)
    max_time_s: float | None = None

    @property
    def failures(self) -> list[Failure]:
        """Every failure, in clause then scenario order."""
        return [f for key in sorted(self.outcomes) for f in self.outcomes[key].failures]

    @property
    def exit_code(self) -> int:
        """1 when a checked clause failed or a server exited; else 2 when the run was cut short (a group past
        its budget) and 0 when complete. Reaching --max-time is 2 whatever was found: the run is not done."""
        if self.max_time_s is not None:
            return 2
        if any(o.status == "failed" for o in self.outcomes.values()) or self.server_exits:
            return 1
        return 2 if self.timed_out else 0

    def status_of(self, clause: str) -> Status | None:
        """The clause's verdict over all scenarios (failed wins), or None when never checked."""
        statuses = {o.status for o in self.outcomes.values() if o.clause == clause}
        for status in ("failed", "passed", "not implemented"):
            if status in statuses:
                return status
        return None

    def failed_clauses(self) -> set[str]:
        """The ids of the clauses with at least one failure."""
        return {o.clause for o in self.outcomes.values() if o.status == "failed"}

    def by_profile(self) -> dict[str, list[Outcome]]:
        """Outcomes grouped by profile, each list in clause then scenario order."""
        grouped: dict[str, list[Outcome]] = {}
        for key in sorted(self.outcomes):
            outcome = self.outcomes[key]
            grouped.setdefault(outcome.profile, []).append(outcome)
        return grouped


class Recorder:
    """Thread-safe sink of check verdicts for one run; groups running in parallel share it."""

    def __init__(self, result: ConformanceResult, on_event: Callable[[str, str], None] | None = None) -> None:
        self.result = result
        self._lock = threading.Lock()
        self._on_event = on_event
        #: Set when the run is being torn down (Ctrl-C, a setup error): what groups see then is not judged.
        self.closed = False
        self._started = time.monotonic()
        #: The groups started and not done (driving or waiting to): the ones --max-time stops.
        self.running: set[str] = set()

    def elapsed(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self._started

    def stop_group(self, group: str, why: str, *, since: float | None = None) -> None:
        """Judge nothing more of `group` (its server exited, its budget ran out); with `since` (a
        `time.monotonic()`), also forget the failures it recorded from then on: what a dying server
        answered in its last moments is its exit, reported once, not many failures."""
        with self._lock:
            if group in self.result.stopped_groups:
                return
            self.result.stopped_groups[group] = why
            if since is None:
                return
            for key, outcome in list(self.result.outcomes.items()):
                if key[1].split("/", 1)[0] != group:
                    continue
                kept = [(f, t) for f, t in zip(outcome.failures, outcome.failed_at, strict=True) if t < since]
                outcome.failures, outcome.failed_at = [f for f, _ in kept], [t for _, t in kept]
                if outcome.first_at >= since:
                    del self.result.outcomes[key]
                elif outcome.status == "failed" and not outcome.failures:
                    outcome.status = "passed"

    def server_exited(self, exit: ServerExit) -> None:
        """Remember a server's exit (once per group)."""
        with self._lock:
            if all(e.group != exit.group for e in self.result.server_exits):
                self.result.server_exits.append(exit)

    def record(self, check: str, clauses: Iterable[str], scenario: str, failures: Iterable[Failure],
               *, context: Failure | None = None, force: bool = False) -> list[Failure]:
        """Mark `clauses` checked by `check` in `scenario`; add `failures`, filled in from `context`.

        Nothing is recorded once the run is torn down, or for a group stopped (unless `force`)."""
        if self.closed or (not force and scenario.split("/", 1)[0] in self.result.stopped_groups):
            return []
        filled = []
        for failure in failures:
            extra: dict[str, Any] = {"check": check, "scenario": scenario}
            if context is not None:
                for name in ("curl", "mock", "seed", "payload"):
                    if not getattr(failure, name) and getattr(context, name) not in ("", None):
                        extra[name] = getattr(context, name)
            filled.append(replace(failure, **extra))
        with self._lock:
            touched = set(clauses) | {f.clause for f in filled}
            for id in touched:
                outcome = self.result.outcomes.setdefault((id, scenario), Outcome(id, scenario))
                if outcome.status == "not implemented":
                    outcome.status = "passed"
                outcome.checks.add(check)
            for failure in filled:
                outcome = self.result.outcomes[(failure.clause, scenario)]
                outcome.status = "failed"
                if len(outcome.failures) < 20 and failure not in outcome.failures:
                    outcome.failures.append(failure)
                    outcome.failed_at.append(time.monotonic())
        if self._on_event:
            for failure in filled:
                self._on_event("failure", f"{failure.clause} [{scenario}] expected {failure.expected}; "
                                          f"observed {failure.observed}")
            failed = {f.clause for f in filled}
            group = scenario.split("/", 1)[0]
            for id in sorted(touched):  # the live view counts each group's clauses from these
                self._on_event("verdict", f"{group}: {id} {'failed' if id in failed else 'passed'}")
        return filled

    def not_implemented(self, profile: str, reason: str, clauses: Iterable[str]) -> None:
        """Mark a whole profile not implemented (its clauses reported apart from failures)."""
        with self._lock:
            self.result.not_implemented[profile] = reason
            for id in clauses:
                self.result.outcomes.setdefault((id, "probe"), Outcome(id, "probe", "not implemented",
                                                                      note=reason))

    def count_exchange(self) -> None:
        """Count one HTTP exchange sent to the server under test."""
        with self._lock:
            self.result.exchanges += 1

    def progress(self, message: str) -> None:
        """Pass a progress line to the display."""
        if self._on_event:
            self._on_event("progress", message)
