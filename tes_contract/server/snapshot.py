"""One status snapshot: what it reads (`StatusSources`), its values (`StatusFields`) and their JSON.

`SharedSnapshot` renders it once for the requests woken by the same upstream answers; docs/server.md
says why and what it costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import hdrs, web

from tes_contract.contract.formats import rfc3339_ms
from tes_contract.server.process import ProcessMetrics
from tes_contract.server.settings import Settings
from tes_contract.server.traffic import TrafficWindow, traffic_mode
from tes_contract.server.upstreams import UpstreamAnswer, tmux_count, worker_fields

STATUS_VERSION = "2.0"


@dataclass(frozen=True, slots=True)
class RouteCounts:
    """Routes and endpoints of the application's router, counted once it is frozen."""

    total_routes: int
    total_endpoints: int

    @classmethod
    def of(cls, app: web.Application) -> RouteCounts:
        """(method, path) routes registered (HEAD routes included) and distinct paths.

        The fallback routes answering 404 and 405 for any method (`*`) are not endpoints: left out.
        """
        routes = {(route.method, route.resource.canonical) for route in app.router.routes()
                  if route.resource is not None and route.method != hdrs.METH_ANY}
        endpoints = {path for _, path in routes}
        return cls(len(routes), len(endpoints))


class Clock:
    """Wall-clock timestamps for snapshots, never going back (STATUS-MONO-1) even if the clock is set back."""

    __slots__ = ("_last_ms",)

    def __init__(self) -> None:
        self._last_ms = 0

    def now_ms(self) -> int:
        """Milliseconds since the epoch, at least the last value given."""
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        return self._last_ms

    def timestamp(self) -> str:
        """`rfc3339_ms(now_ms())`: the snapshot's timestamp."""
        return rfc3339_ms(self.now_ms())


@dataclass(slots=True)
class StatusSources:
    """Everything a snapshot reads, held in the application's state."""

    settings: Settings
    traffic: TrafficWindow
    process: ProcessMetrics
    clock: Clock
    routes: RouteCounts
    websockets: Callable[[], int]
    #: `primaryRegion` as a JSON string literal, encoded once.
    region_json: str = field(init=False)

    def __post_init__(self) -> None:
        self.region_json = json.dumps(self.settings.primary_region, ensure_ascii=False)


class StatusFields(NamedTuple):
    """The values of one snapshot, computed once; `document()` and `json()` are two renderings of them.

    A named tuple: built positionally on every status request, it costs a third of a slotted dataclass.
    """

    timestamp: str
    tmux: int
    active_workers: int
    api_sessions: int
    websocket_connections: int
    region_json: str  # the region as a JSON string literal, quotes and escapes included
    traffic_mode: str
    total_routes: int
    active_routes: int
    avg_latency: float
    requests_per_second: float
    memory: int
    cpu: int
    error_rate: float
    uptime: float
    total_endpoints: int
    telemetry_status: str

    def document(self) -> dict[str, Any]:
        """The EnhancedStatusData document as a dict."""
        return json.loads(self.json())  # type: ignore[no-any-return]

    def json(self) -> bytes:
        """The EnhancedStatusData document as compact JSON bytes, from a fixed template.

        The shape never changes and every value is a number or a fixed word (the region is encoded once),
        so filling a template is exact and about five times cheaper than `json.dumps` of nested dicts,
        which was the largest cost of the status handler under load. Floats use `repr`, as `json` does.
        """
        (timestamp, tmux, active_workers, api_sessions, websocket_connections, region_json, traffic_mode,
         total_routes, active_routes, avg_latency, requests_per_second, memory, cpu, error_rate, uptime,
         total_endpoints, telemetry_status) = self
        return (
            f'{{"timestamp":"{timestamp}","vector":{{"sessions":{{"tmux":{tmux},'
            f'"activeWorkers":{active_workers},"apiSessions":{api_sessions},'
            f'"websocketConnections":{websocket_connections}}},"directions":{{"primaryRegion":{region_json},'
            f'"trafficMode":"{traffic_mode}","requestFlow":{{"totalRoutes":{total_routes},'
            f'"activeRoutes":{active_routes},"avgLatency":{avg_latency!r},'
            f'"requestsPerSecond":{requests_per_second!r}}},"activeRoutes":{active_routes}}},'
            f'"others":{{"memory":{memory},"cpu":{cpu},"errorRate":{error_rate!r},"uptime":{uptime!r}}}}},'
            f'"meta":{{"totalEndpoints":{total_endpoints},"telemetryStatus":"{telemetry_status}",'
            f'"statusVersion":"{STATUS_VERSION}"}}}}'
        ).encode()


def status_fields(sources: StatusSources, tmux: UpstreamAnswer, worker: UpstreamAnswer) -> StatusFields:
    """The values of the snapshot taken now, from the two upstream answers and the server's own sources."""
    timestamp = sources.clock.timestamp()
    active_workers, telemetry = worker_fields(worker)
    traffic = sources.traffic
    totals = traffic.snapshot()
    process = sources.process
    routes = sources.routes
    uptime = round(process.uptime_s(), 3)  # rounded once: requestsPerSecond uses the value shown
    memory, cpu = process.usage()
    error_rate = totals.error_rate
    return StatusFields(
        timestamp,
        tmux_count(tmux),
        active_workers,
        max(1, traffic.in_flight),
        sources.websockets(),
        sources.region_json,
        traffic_mode(error_rate),
        routes.total_routes,
        min(traffic.active_routes(), routes.total_routes),
        round(totals.avg_latency_ms, 3),
        totals.requests_per_second(uptime),
        memory,
        cpu,
        error_rate,
        uptime,
        routes.total_endpoints,
        telemetry,
    )


class SharedSnapshot:
    """One snapshot for the status requests woken by the same two upstream answers (the same objects).

    Keyed by the answers' identity, so no request gets a snapshot of calls that completed before it
    arrived; docs/server.md ("Shared snapshot") has the reasoning and the figures.
    """

    __slots__ = ("_tmux", "_worker", "_body", "observers", "observer")

    def __init__(self) -> None:
        self._tmux: UpstreamAnswer | None = None
        self._worker: UpstreamAnswer | None = None
        self._body = b""
        #: Called with the fields of each new snapshot (history observes trafficMode and telemetryStatus).
        self.observers: list[Callable[[StatusFields], None]] = []
        #: Sees every snapshot rendered for HTTP (the push broadcaster watches telemetryStatus here).
        self.observer: Callable[[UpstreamAnswer, UpstreamAnswer, StatusFields], None] | None = None

    def body(self, sources: StatusSources, tmux: UpstreamAnswer, worker: UpstreamAnswer) -> bytes:
        """The snapshot's JSON for these two answers: taken now, or shared with the batch that got them."""
        if tmux is self._tmux and worker is self._worker:
            return self._body
        fields = status_fields(sources, tmux, worker)
        body = fields.json()
        self._tmux, self._worker, self._body = tmux, worker, body
        for observer in self.observers:
            observer(fields)
        if self.observer is not None:
            self.observer(tmux, worker, fields)
        return body


def dumps(document: Any) -> bytes:
    """Compact JSON bytes (the standard library's encoder: orjson did not pay on a 600-byte document)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
