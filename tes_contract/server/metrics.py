"""The metrics profile's engine: one prometheus_client registry per application, fed where things happen.

- HTTP requests: `ServerMetrics.request`, called by the accounting wrapper (`http.accounted`) right where
  the 60 s window records the same request, so one place counts a request for the status and the metrics.
  The counter's children are cached per (method, route, code): `labels()` takes a lock and builds a key on
  every call, which the status hot path should not pay.
- Upstream calls: `ServerMetrics.upstream_call`, called by `Upstreams` after each call is classified.
- The status's own figures (traffic mode, telemetry, 60 s window, tmux, workers, sockets) are computed at
  scrape time by `StatusCollector` from the same sources a snapshot reads: nothing is kept twice.

No module globals: two applications in one process have two registries (prometheus_client's default
`REGISTRY` is never used).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from tes_contract.contract.clauses.metrics import TELEMETRY_STATUSES, TRAFFIC_MODES
from tes_contract.server.snapshot import STATUS_VERSION, StatusSources
from tes_contract.server.traffic import traffic_mode
from tes_contract.server.upstreams import UpstreamAnswer, no_answer, outcome, tmux_count, worker_fields

#: Methods counted under their own name; any other is `other` (a client cannot grow the label set).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
UPSTREAMS = ("tmux", "worker")
#: Bucket bounds of the request duration histogram: prometheus_client's defaults.
BUCKETS = Histogram.DEFAULT_BUCKETS
BUCKET_LABELS: tuple[str, ...] = tuple(floatToGoString(b) for b in BUCKETS)  # type: ignore[no-untyped-call]


class StatusCollector(Collector):
    """The status's figures as gauges, computed when scraped from the sources a snapshot reads."""

    def __init__(self, sources: StatusSources, last: dict[str, UpstreamAnswer]) -> None:
        self._sources = sources
        self._last = last

    def collect(self) -> Iterator[Metric]:
        """Yield every status gauge (called by the registry at each scrape)."""
        sources = self._sources
        traffic = sources.traffic
        totals = traffic.snapshot()
        uptime = round(sources.process.uptime_s(), 3)
        mode = traffic_mode(totals.error_rate)
        workers, telemetry = worker_fields(self._last["worker"])
        yield _states("tes_traffic_mode", "1 for the current trafficMode, 0 for the others", "mode",
                      TRAFFIC_MODES, mode)
        yield _states("tes_telemetry_status", "1 for the current telemetryStatus, 0 for the others", "status",
                      TELEMETRY_STATUSES, telemetry)
        up = GaugeMetricFamily("tes_upstream_up", "1 when the upstream's last call answered 2xx with a valid "
                               "body, else 0", labels=["upstream"])
        for name in UPSTREAMS:
            up.add_metric([name], 1.0 if outcome(name, self._last[name]) == "ok" else 0.0)
        yield up
        yield GaugeMetricFamily("tes_error_rate", "errorRate: 5xx share of the requests of the last 60 s",
                                value=totals.error_rate)
        yield GaugeMetricFamily("tes_avg_latency_seconds", "avgLatency in seconds: mean duration of the "
                                "requests of the last 60 s", value=totals.avg_latency_ms / 1000)
        yield GaugeMetricFamily("tes_requests_per_second", "requestsPerSecond: requests of the last 60 s "
                                "over min(60, uptime) s", value=totals.requests_per_second(uptime))
        yield GaugeMetricFamily("tes_tmux_sessions", "tmux sessions of the last tmux-status call",
                                value=tmux_count(self._last["tmux"]))
        yield GaugeMetricFamily("tes_active_workers", "connected workers of the last worker-status call",
                                value=workers)
        yield GaugeMetricFamily("tes_websocket_connections", "open WebSocket connections",
                                value=sources.websockets())
        yield GaugeMetricFamily("tes_http_requests_in_flight", "HTTP requests in flight (this scrape included)",
                                value=traffic.in_flight)
        info = GaugeMetricFamily("tes_status_info", "the status API version and primaryRegion; value 1",
                                 labels=["version", "region"])
        info.add_metric([STATUS_VERSION, sources.settings.primary_region], 1.0)
        yield info


def _states(name: str, documentation: str, label: str, values: tuple[str, ...], current: str) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in values:
        family.add_metric([value], 1.0 if value == current else 0.0)
    return family


class _Series:
    """The requests of one (method, route): counts per status code, and the duration histogram's buckets."""

    __slots__ = ("codes", "buckets", "sum")

    def __init__(self) -> None:
        self.codes: dict[int, int] = {}
        self.buckets = [0] * len(BUCKETS)  # per bucket, not cumulative (cumulated when scraped)
        self.sum = 0.0


class RequestCollector(Collector):
    """`tes_http_requests_total` and `tes_http_request_duration_seconds`, counted in plain Python numbers.

    prometheus_client's Counter and Histogram take a lock and walk the buckets on every observation
    (about 2.5 us per request with the children cached): a tenth of the status path's CPU under load,
    for thread safety a single-threaded event loop does not need. Counting here and rendering through
    prometheus_client's metric families at scrape time costs about 0.6 us (benchmarks/bench_metrics.py).
    """

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request of `route` (a template, or `unmatched`) and its duration."""
        key = (method if method in KNOWN_METHODS else "other", route)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        codes = series.codes
        codes[status] = codes.get(status, 0) + 1
        series.buckets[bisect_left(BUCKETS, seconds)] += 1
        series.sum += seconds

    def collect(self) -> Iterator[Metric]:
        """Yield the request counter and the duration histogram."""
        requests = CounterMetricFamily("tes_http_requests", "HTTP requests answered, by method, route template "
                                       "and status code", labels=["method", "route", "code"])
        durations = HistogramMetricFamily("tes_http_request_duration_seconds", "HTTP request duration in seconds",
                                          labels=["method", "route"])
        for (method, route), series in self._series.items():
            for code, count in sorted(series.codes.items()):
                requests.add_metric([method, route, str(code)], count)
            buckets = list(zip(BUCKET_LABELS, accumulate(series.buckets), strict=True))
            durations.add_metric([method, route], buckets, series.sum)
        yield requests
        yield durations


class ServerMetrics:
    """The registry of one application and the instruments the server feeds."""

    def __init__(self, sources: StatusSources) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        ProcessCollector(registry=registry)
        self._requests = RequestCollector()
        registry.register(self._requests)
        self._upstream_calls = Counter("tes_upstream_requests", "upstream calls by outcome",
                                       ["upstream", "outcome"], registry=registry)
        self._upstream_durations = Histogram("tes_upstream_request_duration_seconds",
                                             "upstream call duration in seconds", ["upstream"], registry=registry)
        #: The last call of each upstream (before any: no answer yet, so up 0 and the gauges 0).
        self.last: dict[str, UpstreamAnswer] = {name: no_answer("not called yet") for name in UPSTREAMS}
        registry.register(StatusCollector(sources, self.last))
        #: prometheus_client's aiohttp handler of this registry (content negotiation included).
        self.handler = make_aiohttp_handler(registry, disable_compression=True)
        #: Count one answered HTTP request: the accounting wrapper calls this once per request.
        self.request = self._requests.request
        self._upstream_children: dict[tuple[str, str], tuple[Callable[[], None], Callable[[float], None]]] = {}

    def upstream_call(self, upstream: str, answer: UpstreamAnswer) -> None:
        """Count one upstream call by outcome, time it, and remember it for `tes_upstream_up` and the gauges."""
        self.last[upstream] = answer
        key = (upstream, outcome(upstream, answer))
        child = self._upstream_children.get(key)
        if child is None:
            child = self._upstream_children[key] = (self._upstream_calls.labels(*key).inc,
                                                    self._upstream_durations.labels(upstream).observe)
        inc, observe = child
        inc()
        observe(answer.elapsed_ms / 1000)

