"""Scenario requests (`{"scenario": NAME, ...params}`) parsed into immutable `Scenario` values.

Every scenario is validated once, when it is set, so a bad request fails with a message naming the bad
upstream, scenario or parameter (the control API turns that message into a 400), and the per-request path
only reads ready values.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tes_contract.errors import ScenarioError

#: The mocks: the two upstreams of a status server, and the webhook receiver of its alerts (history profile).
UPSTREAMS = ("tmux", "worker", "webhook")

#: Named invalid bodies per upstream: valid JSON that breaks UPSTREAM-*-VALID.
INVALID_VARIANTS: dict[str, tuple[str, ...]] = {
    "tmux": ("online_missing", "online_string", "sessions_object", "sessions_missing", "not_object"),
    "worker": ("connected_true", "connected_negative", "connected_string", "connected_float", "connected_missing",
               "not_object", "null"),
}

#: Scenarios that make sense only for the whole listener, never drawn per request.
_LISTENER_ONLY = frozenset({"down"})
_COMPOSITE = frozenset({"flapping", "chaos"})

DEFAULT_CHAOS_WEIGHTS: dict[str, float] = {
    "healthy": 4, "slow": 1, "hang": 1, "http_error": 1, "malformed_json": 1, "reset": 1,
}


@dataclass(frozen=True)
class Delay:
    """A duration given in milliseconds or as a fraction of the client's timeout (`"0.8x"`)."""

    ms: float | None = None
    fraction: float | None = None

    def seconds(self, client_timeout_ms: float) -> float:
        """Return the duration in seconds for the given client timeout."""
        if self.fraction is not None:
            return self.fraction * client_timeout_ms / 1000.0
        return (self.ms or 0.0) / 1000.0

    def describe(self) -> str | float:
        """Return the JSON form: `"0.8x"` or milliseconds."""
        return f"{self.fraction:g}x" if self.fraction is not None else float(self.ms or 0.0)


@dataclass(frozen=True)
class Scenario:
    """One validated scenario of one upstream; `children` and `weights` belong to flapping and chaos."""

    upstream: str
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[Scenario, ...] = ()
    weights: tuple[float, ...] = ()

    def describe(self) -> dict[str, Any]:
        """Return the JSON form, `{"scenario": NAME, ...params}`, as GET /upstreams/{name}/scenario shows it."""
        out: dict[str, Any] = {"scenario": self.name}
        for key, value in self.params.items():
            out[key] = value.describe() if isinstance(value, (Delay, SnapshotPlan)) else value
        if self.name == "flapping":
            out["a"], out["b"] = (child.describe() for child in self.children)
        elif self.name == "chaos":
            out["weights"] = [{**child.describe(), "weight": w} for child, w in zip(self.children, self.weights,
                                                                                 strict=True)]
        return out


#: Modes of the worker mock's snapshot endpoint (the `snapshot` parameter; mocks/snapshots.py serves them).
SNAPSHOT_MODES = ("healthy", "slow_body", "hang", "not_found", "bad_request", "reset")
SNAPSHOT_MIN_SIZE = 64
SNAPSHOT_MAX_SIZE = 4 * 1024 ** 3


@dataclass(frozen=True)
class SnapshotPlan:
    """How the worker mock answers snapshot requests."""

    mode: str = "healthy"
    size: int | None = None
    duration: Delay = Delay(fraction=0.8)
    chunks: int = 10

    def describe(self) -> dict[str, Any]:
        """The JSON form, as the scenario shows it."""
        out: dict[str, Any] = {"mode": self.mode, "duration": self.duration.describe(), "chunks": self.chunks}
        if self.size is not None:
            out["size"] = self.size
        return out


def parse_plan(name: str, value: Any) -> SnapshotPlan:
    """Validate the `snapshot` parameter: `{"mode", "size"?, "duration"?, "chunks"?}` or a mode name."""
    if isinstance(value, str):
        value = {"mode": value}
    if not isinstance(value, dict):
        raise ScenarioError(f"parameter {name!r} must be an object {{\"mode\", \"size\", \"duration\"}} or a mode")
    unknown = sorted(set(value) - {"mode", "size", "duration", "chunks"})
    if unknown:
        raise ScenarioError(f"unknown key {unknown[0]!r} in parameter {name!r}; known: chunks, duration, mode, size")
    mode = value.get("mode", "healthy")
    if mode not in SNAPSHOT_MODES:
        raise ScenarioError(f"{name}.mode must be one of {', '.join(SNAPSHOT_MODES)}, got {json.dumps(mode)}")
    size = value.get("size")
    low, high = SNAPSHOT_MIN_SIZE, SNAPSHOT_MAX_SIZE
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high):
        raise ScenarioError(f"{name}.size must be an integer {low}..{high} (bytes), got {json.dumps(size)}")
    chunks = value.get("chunks", 10)
    if isinstance(chunks, bool) or not isinstance(chunks, int) or not 1 <= chunks <= 1000:
        raise ScenarioError(f"{name}.chunks must be an integer 1..1000, got {json.dumps(chunks)}")
    duration = parse_delay(f"{name}.duration", value["duration"]) if "duration" in value else Delay(fraction=0.8)
    return SnapshotPlan(mode, size, duration, chunks)


# ---------------------------------------------------------------- parameter checkers
Checker = Callable[[str, Any], Any]


def _int(low: int, high: int | None = None) -> Checker:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"parameter {name!r} must be an integer, got {json.dumps(value)}")
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise ScenarioError(f"parameter {name!r} must be {bound}, got {value}")
        return value
    return check


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"parameter {name!r} must be true or false, got {json.dumps(value)}")
    return value


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"parameter {name!r} must be a string, got {json.dumps(value)}")
    return value


def _any_json(name: str, value: Any) -> Any:
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _header_value(name: str, value: Any) -> str:
    if not isinstance(value, str) or _CONTROL.search(value):
        raise ScenarioError(f"parameter {name!r} must be a header value: a string without control characters, "
                            f"got {json.dumps(value)}")
    return value


def _headers(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and _TOKEN.match(k) for k in value):
        raise ScenarioError(f"parameter {name!r} must be an object of header names to values")
    return {key: _header_value(f"{name}.{key}", item) for key, item in value.items()}


def _base64(name: str, value: Any) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"parameter {name!r} must be base64 text, got {json.dumps(value)}") from exc
    return str(value)


_DELAY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(x|ms|s)?\s*$")


def parse_delay(name: str, value: Any) -> Delay:
    """Parse `800`, `"800ms"`, `"1.5s"` or `"0.8x"` (fraction of the client timeout) into a Delay."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ScenarioError(f"parameter {name!r} must be >= 0, got {value}")
        return Delay(ms=float(value))
    match = _DELAY_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ScenarioError(f"parameter {name!r} must be milliseconds or a fraction of the client timeout "
                            f"like \"0.8x\", got {json.dumps(value)}")
    number, unit = float(match.group(1)), match.group(2) or "ms"
    if unit == "x":
        return Delay(fraction=number)
    return Delay(ms=number * 1000.0 if unit == "s" else number)


def _ms(name: str, value: Any) -> Delay:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ScenarioError(f"parameter {name!r} must be a number of milliseconds >= 0, got {json.dumps(value)}")
    return Delay(ms=float(value))


_BODY_PARAMS: dict[str, dict[str, Checker]] = {
    "tmux": {"sessions": _int(0, 1000), "panes": _int(0, 100), "online": _bool},
    "worker": {"workers": _int(0, 10000), "connected": _int(0), "snapshot": parse_plan},
    "webhook": {},
}

# scenario -> (own parameters, serves the healthy body so accepts the body parameters)
_SPECS: dict[str, tuple[dict[str, Checker], bool]] = {
    "healthy": ({}, True),
    "zero": ({}, False),
    "http_error": ({"status": _int(400, 599)}, False),
    "client_error": ({"status": _int(400, 499)}, False),
    "down": ({}, False),
    "hang": ({}, False),
    "slow": ({"delay": parse_delay, "delay_ms": _ms}, True),
    "slow_body": ({"duration": parse_delay, "duration_ms": _ms, "chunks": _int(1, 1000)}, True),
    "malformed_json": ({}, False),
    "wrong_content_type": ({"content_type": _header_value}, True),
    "invalid_shape": ({"variant": _str}, False),
    "truncated": ({}, True),
    "reset": ({}, False),
    "empty": ({}, False),
    "flapping": ({"a": _any_json, "b": _any_json, "every": _int(1)}, False),
    "chaos": ({"weights": _any_json, "seed": _int(0)}, False),
    "fixed": ({"status": _int(100, 599), "body": _any_json, "raw": _str, "raw_base64": _base64,
               "content_type": _header_value, "headers": _headers, "delay_ms": _ms}, False),
}

SCENARIOS: tuple[str, ...] = tuple(_SPECS)


def scenario_params(upstream: str, name: str) -> list[str]:
    """Return the parameter names a scenario accepts on an upstream."""
    own, body = _SPECS[name]
    return sorted([*own, *(_BODY_PARAMS[upstream] if body else {})])


def check_upstream(upstream: str) -> str:
    """Return `upstream` when it names a mock upstream, else raise ScenarioError listing the known ones."""
    if upstream not in UPSTREAMS:
        raise ScenarioError(f"unknown upstream {upstream!r}; known: {', '.join(UPSTREAMS)}")
    return upstream


def parse_scenario(upstream: str, request: Any, *, default_seed: int = 0, nested: bool = False) -> Scenario:
    """Validate a scenario request (`"hang"` or `{"scenario": "slow", "delay": "0.8x"}`) for an upstream.

    Raises ScenarioError naming the unknown upstream, scenario or parameter, or the bad value.
    """
    check_upstream(upstream)
    if isinstance(request, str):
        request = {"scenario": request}
    if not isinstance(request, dict):
        raise ScenarioError(f"a scenario must be a name or an object with \"scenario\", got {json.dumps(request)}")
    name = request.get("scenario")
    if not isinstance(name, str):
        raise ScenarioError("missing \"scenario\": the scenario name")
    if name not in _SPECS:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if nested and name in _COMPOSITE | _LISTENER_ONLY:
        raise ScenarioError(f"scenario {name!r} cannot be chosen per request inside flapping or chaos"
                            + (" (use reset or empty for a dead connection)" if name == "down" else ""))
    own, with_body = _SPECS[name]
    checkers = {**own, **(_BODY_PARAMS[upstream] if with_body else {})}
    params: dict[str, Any] = {}
    for key, value in request.items():
        if key == "scenario":
            continue
        if key not in checkers:
            known = ", ".join(scenario_params(upstream, name)) or "none"
            raise ScenarioError(f"unknown parameter {key!r} for scenario {name!r} of {upstream}; known: {known}")
        params[key] = checkers[key](key, value)
    return _finish(upstream, name, params, default_seed)


def _finish(upstream: str, name: str, params: dict[str, Any], default_seed: int) -> Scenario:
    if name == "slow":
        _one_of(params, "delay", "delay_ms", Delay(fraction=0.8))
    elif name == "slow_body":
        _one_of(params, "duration", "duration_ms", Delay(fraction=1.5))
        params.setdefault("chunks", 10)
    elif name == "http_error":
        params.setdefault("status", 500)
    elif name == "client_error":
        params.setdefault("status", 400)
    elif name == "wrong_content_type":
        params.setdefault("content_type", "text/html; charset=utf-8")
    elif name == "invalid_shape":
        variants = INVALID_VARIANTS.get(upstream, ())
        if not variants:
            raise ScenarioError(f"scenario 'invalid_shape' is for the status upstreams, not {upstream}: "
                                "a webhook sender reads only the status of its answer")
        params.setdefault("variant", variants[0])
        if params["variant"] not in variants:
            raise ScenarioError(f"unknown variant {params['variant']!r} of invalid_shape for {upstream}; "
                                f"known: {', '.join(variants)}")
    elif name == "fixed":
        if sum(key in params for key in ("body", "raw", "raw_base64")) != 1:
            raise ScenarioError("scenario 'fixed' needs exactly one of 'body' (JSON), 'raw' (text) "
                                "or 'raw_base64' (bytes)")
        params.setdefault("status", 200)
        params.setdefault("content_type", "application/json")
    elif name == "flapping":
        every = params.setdefault("every", 1)
        a = parse_scenario(upstream, params.pop("a", "healthy"), nested=True)
        b = parse_scenario(upstream, params.pop("b", "http_error"), nested=True)
        return Scenario(upstream, name, {"every": every}, (a, b))
    elif name == "chaos":
        seed = params.setdefault("seed", default_seed)
        children, weights = _parse_weights(upstream, params.pop("weights", DEFAULT_CHAOS_WEIGHTS))
        return Scenario(upstream, name, {"seed": seed}, children, weights)
    if name in ("healthy", "slow", "slow_body", "wrong_content_type", "truncated"):
        _body_defaults(upstream, params)
    return Scenario(upstream, name, params)


def _one_of(params: dict[str, Any], key: str, ms_key: str, default: Delay) -> None:
    if key in params and ms_key in params:
        raise ScenarioError(f"give either {key!r} or {ms_key!r}, not both")
    params[key] = params.pop(ms_key, None) or params.get(key) or default


def _body_defaults(upstream: str, params: dict[str, Any]) -> None:
    if upstream == "tmux":
        params.setdefault("sessions", 2)
        params.setdefault("panes", 2)
        params.setdefault("online", True)
    elif upstream == "worker":
        workers = params.setdefault("workers", params.get("connected", 3))
        params.setdefault("connected", workers)


def _parse_weights(upstream: str, weights: Any) -> tuple[tuple[Scenario, ...], tuple[float, ...]]:
    """Accept `{"healthy": 3, "hang": 1}` or `[{"scenario": "http_error", "status": 503, "weight": 2}]`."""
    items: list[tuple[Any, Any]]
    if isinstance(weights, dict):
        items = list(weights.items())
    elif isinstance(weights, list) and all(isinstance(w, dict) for w in weights):
        items = [({k: v for k, v in w.items() if k != "weight"}, w.get("weight", 1)) for w in weights]
    else:
        raise ScenarioError("parameter 'weights' must be an object {scenario: weight} or a list of "
                            "{\"scenario\": NAME, \"weight\": N, ...params}")
    if not items:
        raise ScenarioError("parameter 'weights' must name at least one scenario")
    children, numbers = [], []
    for spec, weight in items:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ScenarioError(f"weight of {json.dumps(spec)} must be a number >= 0, got {json.dumps(weight)}")
        children.append(parse_scenario(upstream, spec, nested=True))
        numbers.append(float(weight))
    if sum(numbers) <= 0:
        raise ScenarioError("parameter 'weights' must have a positive sum")
    return tuple(children), tuple(numbers)
