"""Timelines: per upstream, phases that follow each other by request count or by time.

A timeline is YAML (`tes-contract mock --timeline FILE`) or the same document as JSON (PUT /timeline),
validated against `schemas/mock-timeline.json`, then each phase's scenario as the control API would. A bad
file is rejected at load with its line (from the YAML node marks) and the reason.

Phases switch synchronously: the request that completes a counted phase is the last one it serves, and
the next request already meets the next phase.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tes_contract.contract.schemas import validator_for
from tes_contract.errors import ConfigError, ScenarioError
from tes_contract.mocks.scenarios import Scenario, parse_scenario
from tes_contract.mocks.server import UpstreamMock

_SHORT = re.compile(r"^\s*([a-z_]+)(?:\s+(?:x(\d+)|(\d+(?:\.\d+)?)(s|ms)))?\s*$")


@dataclass(frozen=True)
class Phase:
    """One phase: a scenario for `requests` requests or `seconds` seconds (both None: for ever)."""

    scenario: Scenario
    requests: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Timeline:
    """A validated timeline."""

    tracks: dict[str, tuple[Phase, ...]]
    repeat: dict[str, bool]
    client_timeout_ms: float | None = None
    seed: int = 0
    description: str = ""


class _Locator:
    """Finds the line of a JSON path in the YAML text, or says where in the document when there is none."""

    def __init__(self, origin: str, root: yaml.Node | None) -> None:
        self.origin = origin
        self.root = root

    def where(self, path: Sequence[str | int]) -> str:
        node = self.root
        for key in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == key), node)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
        if node is not None:
            return f"{self.origin}:{node.start_mark.line + 1}"
        pointer = "".join(f"/{p}" for p in path) or "/"
        return f"{self.origin} at {pointer}"


def load_timeline(source: Path | str | dict[str, Any]) -> Timeline:
    """Load a timeline from a YAML file path or a document; raise ConfigError with the line and the reason."""
    if isinstance(source, dict):
        return _build(source, _Locator("timeline", None))
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read timeline: {exc.strerror}") from exc
    return parse_timeline(text, str(path))


def parse_timeline(text: str, origin: str = "timeline") -> Timeline:
    """Parse and validate timeline YAML text; `origin` names it in messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else "?"
        raise ConfigError(f"{origin}:{line}: not YAML: {exc.problem}") from exc
    return _build(document, _Locator(origin, root))


def _build(document: Any, locator: _Locator) -> Timeline:
    error = jsonschema.exceptions.best_match(validator_for("mock-timeline.json").iter_errors(document))
    if error is not None:
        raise ConfigError(f"{locator.where(list(error.absolute_path))}: {_reason(error)}")
    seed = document.get("seed", 0)
    tracks: dict[str, tuple[Phase, ...]] = {}
    repeat: dict[str, bool] = {}
    for upstream, track in document["upstreams"].items():
        items = track if isinstance(track, list) else track["phases"]
        repeat[upstream] = bool(track.get("repeat", False)) if isinstance(track, dict) else False
        prefix: list[str | int] = ["upstreams", upstream] + ([] if isinstance(track, list) else ["phases"])
        phases = [_phase(upstream, item, seed, locator, [*prefix, i]) for i, item in enumerate(items)]
        for i, phase in enumerate(phases):
            last = i == len(phases) - 1 and not repeat[upstream]
            if not last and phase.requests is None and phase.seconds is None:
                raise ConfigError(f"{locator.where([*prefix, i])}: phase {i + 1} of {upstream} never ends "
                                  "(give `requests`/`xN` or `seconds`/`Ns`; only the last phase may be open-ended)")
            if phase.scenario.name == "down" and phase.requests is not None:
                raise ConfigError(f"{locator.where([*prefix, i])}: a `down` phase cannot end by request count: "
                                  "no request reaches a closed listener; give it `seconds`")
        tracks[upstream] = tuple(phases)
    return Timeline(tracks, repeat, document.get("client_timeout_ms"), seed, document.get("description", ""))


def _reason(error: jsonschema.ValidationError) -> str:
    """Say what is wrong in the words of the format rather than of JSON Schema where they are obscure."""
    if error.validator == "not" and isinstance(error.instance, dict):
        return "a phase gives `requests` or `seconds`, not both"
    if error.validator == "pattern":
        return f"{error.instance!r} is not a phase: write NAME, NAME xN (requests) or NAME Ns / NAME Nms (time)"
    return error.message


def _phase(upstream: str, item: Any, seed: int, locator: _Locator, path: list[str | int]) -> Phase:
    requests: int | None = None
    seconds: float | None = None
    if isinstance(item, str):
        match = _SHORT.match(item)
        assert match is not None  # the schema's pattern already matched
        request: Any = match.group(1)
        if match.group(2):
            requests = int(match.group(2))
        elif match.group(3):
            seconds = float(match.group(3)) / (1000.0 if match.group(4) == "ms" else 1.0)
    else:
        request = {k: v for k, v in item.items() if k not in ("requests", "seconds")}
        requests, seconds = item.get("requests"), item.get("seconds")
    try:
        scenario = parse_scenario(upstream, request, default_seed=seed)
    except ScenarioError as exc:
        raise ConfigError(f"{locator.where(path)}: {exc}") from exc
    return Phase(scenario, requests, float(seconds) if seconds is not None else None)


class TimelineRun:
    """Runs a timeline on the mocks: timers for timed phases, request counts for counted ones."""

    def __init__(self, timeline: Timeline, mocks: dict[str, UpstreamMock]) -> None:
        self.timeline = timeline
        self.mocks = mocks
        self.position: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._done = {name: asyncio.Event() for name in timeline.tracks}
        self._released: set[str] = set()

    async def start(self) -> None:
        """Enter the first phase of every track."""
        for upstream in self.timeline.tracks:
            self._enter(upstream, 0)
        await self._settle()

    def _enter(self, upstream: str, index: int) -> None:
        if upstream in self._released:
            return
        phases = self.timeline.tracks[upstream]
        repeat = self.timeline.repeat[upstream]
        index %= len(phases)
        phase = phases[index]
        last = index == len(phases) - 1 and not repeat
        mock = self.mocks[upstream]
        counted = phase.requests if not last else None
        mock.set_scenario(phase.scenario, limit=counted,
                          on_limit=(lambda: self._enter(upstream, index + 1)) if counted else None)
        mock.phase = index
        self.position[upstream] = index
        timer = self._timers.pop(upstream, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        if not last and phase.seconds is not None:
            self._timers[upstream] = loop.call_later(phase.seconds, self._enter, upstream, index + 1)
        task = loop.create_task(mock.sync_listener())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if last:
            self._done[upstream].set()

    async def _settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def release(self, upstream: str) -> None:
        """Stop driving one upstream (its scenario was set by hand)."""
        self._released.add(upstream)
        timer = self._timers.pop(upstream, None)
        if timer is not None:
            timer.cancel()
        if upstream in self.mocks:
            self.mocks[upstream].phase = None
        self._done.get(upstream, asyncio.Event()).set()

    async def wait(self) -> None:
        """Wait until every track reached its last phase (never, for a repeating track)."""
        await asyncio.gather(*(event.wait() for event in self._done.values()))

    async def stop(self) -> None:
        """Stop every track; the mocks keep their current scenario."""
        for upstream in self.timeline.tracks:
            self.release(upstream)
        await self._settle()
