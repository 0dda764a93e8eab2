"""The metrics profile of the independent Python server: GET /api/dev/metrics, written from the contract alone.

Stdlib only (no prometheus_client: "somebody else's server" writes the text format itself). The main file
calls `Metrics.request` once per answered request, `Metrics.upstream` once per upstream call, and
`Metrics.render` for a scrape; `BREAKS` are this profile's TES_BREAK modes (tests/servers/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BREAKS = frozenset({
    "metrics_counter_no_total", "metrics_raw_path_route", "metrics_scrape_not_counted",
    "metrics_scrape_counted_twice", "metrics_upstream_up_stuck", "metrics_mode_current_only",
    "metrics_latency_ms",
})
METRICS_PATH = "/api/dev/metrics"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass
class Histogram:
    """Cumulative buckets, sum and count of one label set."""

    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1


@dataclass
class Figures:
    """What the status would show now, handed over by the main file at scrape time."""

    traffic_mode: str
    telemetry: str
    error_rate: float
    avg_latency_ms: float
    rps: float
    tmux: int
    active_workers: int
    in_flight: int
    region: str


def _labels(pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in pairs.items())
    return "{" + body + "}"


def _number(value: float) -> str:
    return "+Inf" if value == math.inf else repr(float(value))


class Metrics:
    """Counters and histograms of one server process, rendered as Prometheus text or OpenMetrics."""

    def __init__(self, breaks: frozenset[str]) -> None:
        self.breaks = breaks
        self.requests: dict[tuple[str, str, str], int] = {}
        self.durations: dict[tuple[str, str], Histogram] = {}
        self.upstream_calls: dict[tuple[str, str], int] = {}
        self.upstream_durations: dict[str, Histogram] = {}
        self.up = {"tmux": 0, "worker": 0}

    def route(self, path: str, known: bool) -> str:
        """The route label: the path when a route serves it, else `unmatched`."""
        return path if known or "metrics_raw_path_route" in self.breaks else "unmatched"

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        times = 1
        if route == METRICS_PATH:
            times = 0 if "metrics_scrape_not_counted" in self.breaks else \
                2 if "metrics_scrape_counted_twice" in self.breaks else 1
        for _ in range(times):
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            self.durations.setdefault((method, route), Histogram()).observe(
                seconds * 1000 if "metrics_latency_ms" in self.breaks else seconds)

    def upstream(self, name: str, outcome: str, seconds: float) -> None:
        """Count one upstream call by outcome; `up` follows it."""
        self.upstream_calls[(name, outcome)] = self.upstream_calls.get((name, outcome), 0) + 1
        self.upstream_durations.setdefault(name, Histogram()).observe(seconds)
        self.up[name] = 1 if outcome == "ok" or "metrics_upstream_up_stuck" in self.breaks else 0

    def render(self, figures: Figures, openmetrics: bool) -> str:
        """The exposition, in Prometheus text 0.0.4 or OpenMetrics 1.0."""
        out: list[str] = []
        family = _family(out, openmetrics)
        counter = "tes_http_requests" if "metrics_counter_no_total" in self.breaks else "tes_http_requests_total"
        family(counter, "counter", "HTTP requests answered by method, route template and code",
               [("", {"method": m, "route": r, "code": c}, n) for (m, r, c), n in sorted(self.requests.items())])
        _histogram(family, "tes_http_request_duration_seconds", "HTTP request duration",
                   {_labels_of(("method", "route"), k): h for k, h in self.durations.items()})
        family("tes_upstream_requests_total", "counter", "upstream calls by outcome",
               [("", {"upstream": u, "outcome": o}, n) for (u, o), n in sorted(self.upstream_calls.items())])
        _histogram(family, "tes_upstream_request_duration_seconds", "upstream call duration",
                   {(("upstream", k),): h for k, h in self.upstream_durations.items()})
        family("tes_upstream_up", "gauge", "1 when the last call answered 2xx with a valid body",
               [("", {"upstream": u}, v) for u, v in self.up.items()])
        modes = ("normal", "degraded", "isolated")
        if "metrics_mode_current_only" in self.breaks:
            modes = (figures.traffic_mode,)
        family("tes_traffic_mode", "gauge", "the current trafficMode",
               [("", {"mode": m}, int(m == figures.traffic_mode)) for m in modes])
        family("tes_telemetry_status", "gauge", "the current telemetryStatus",
               [("", {"status": s}, int(s == figures.telemetry)) for s in ("healthy", "degraded", "offline")])
        latency = figures.avg_latency_ms if "metrics_latency_ms" in self.breaks else figures.avg_latency_ms / 1000
        for name, help_text, value in (
                ("tes_http_requests_in_flight", "requests in flight", figures.in_flight),
                ("tes_error_rate", "errorRate of the last 60 s", figures.error_rate),
                ("tes_avg_latency_seconds", "avgLatency of the last 60 s in seconds", latency),
                ("tes_requests_per_second", "requestsPerSecond of the last 60 s", figures.rps),
                ("tes_tmux_sessions", "tmux sessions", figures.tmux),
                ("tes_active_workers", "connected workers", figures.active_workers),
                ("tes_websocket_connections", "open WebSockets", 0)):
            family(name, "gauge", help_text, [("", {}, value)])
        family("tes_status_info", "gauge", "status API version and region",
               [("", {"version": "2.0", "region": figures.region}, 1)])
        if openmetrics:
            out.append("# EOF")
        return "\n".join(out) + "\n"


def upstream_outcome(name: str, answered: bool, status: int, body: Any, failure: str) -> str:
    """ok, http_error, invalid, or why there was no answer (timeout, refused, reset, error)."""
    if not answered:
        return failure or "error"
    if not 200 <= status < 300:
        return "http_error"
    if name == "tmux":
        valid = isinstance(body, dict) and isinstance(body.get("online"), bool) \
            and isinstance(body.get("sessions"), list)
        return "ok" if valid else "invalid"
    connected = body.get("connected") if isinstance(body, dict) else None
    valid = isinstance(connected, int) and not isinstance(connected, bool) and connected >= 0
    return "ok" if valid else "invalid"


Sample = tuple[str, dict[str, str], float]


def _family(out: list[str], openmetrics: bool) -> Callable[[str, str, str, list[Sample]], None]:
    def add(name: str, typ: str, help_text: str, samples: list[Sample]) -> None:
        # OpenMetrics names a counter family without `_total`; its samples keep it.
        declared = name.removesuffix("_total") if openmetrics and typ == "counter" else name
        out.append(f"# HELP {declared} {help_text}")
        out.append(f"# TYPE {declared} {typ}")
        out.extend(f"{name}{suffix}{_labels(labels)} {_number(value)}" for suffix, labels, value in samples)

    return add


def _labels_of(names: tuple[str, ...], values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(zip(names, values, strict=True))


def _histogram(family: Callable[[str, str, str, list[Sample]], None], name: str, help_text: str,
               series: dict[tuple[tuple[str, str], ...], Histogram]) -> None:
    samples: list[Sample] = []
    for labels, h in sorted(series.items()):
        base = dict(labels)
        samples += [("_bucket", {**base, "le": _number(b)}, n) for b, n in zip(BUCKETS, h.counts, strict=True)]
        samples += [("_sum", base, h.total), ("_count", base, h.count)]
    family(name, "histogram", help_text, samples)
