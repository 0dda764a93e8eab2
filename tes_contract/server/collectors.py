"""What a status snapshot is made of: upstream fields, process metrics, routes, and the assembly.

Process metrics, and why these sources:
- `cpu`: `time.process_time()` (standard library): user + system CPU of this process from the kernel's
  per-process CPU clock, nanosecond resolution, about 0.4 us a call, never decreasing; in ms, integer.
- `memory`: resident set size from psutil (`memory_info().rss`, about 13 us): the standard library only
  gives the *peak* RSS (`resource.getrusage`), not what the process uses now, and psutil is portable.
- `uptime`: the process start time from psutil, turned once into a monotonic origin, so uptime never
  decreases even if the wall clock is set back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import psutil
from aiohttp import web

from tes_contract.server.breaker import CircuitBreaker, DirectCall
from tes_contract.server.settings import Settings
from tes_contract.server.traffic import TrafficWindow, traffic_mode
from tes_contract.server.upstreams import UpstreamAnswer, fetch_json, tmux_count, worker_fields

STATUS_VERSION = "2.0"


class Upstream(Protocol):
    """A guarded upstream call: circuit breaker with single-flight, or a direct call (naive mode)."""

    name: str

    @property
    def calls(self) -> int: ...

    @property
    def is_open(self) -> bool: ...

    def __call__(self) -> Awaitable[UpstreamAnswer]: ...

    async def aclose(self) -> None: ...


class ProcessMetrics:
    """memory (bytes), cpu (cumulative ms, integer) and uptime (s) of this process."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        started_ago = max(0.0, time.time() - self._process.create_time())
        self._origin = time.monotonic() - started_ago

    def memory(self) -> int:
        """Resident set size in bytes."""
        return int(self._process.memory_info().rss)

    def cpu_ms(self) -> int:
        """User + system CPU time of the process, in whole milliseconds."""
        return int(time.process_time() * 1000)

    def uptime_s(self) -> float:
        """Seconds since the process started, from the monotonic clock."""
        return time.monotonic() - self._origin


@dataclass(frozen=True, slots=True)
class RouteCounts:
    """Routes and endpoints of the application's router, counted once it is frozen."""

    total_routes: int
    total_endpoints: int

    @classmethod
    def of(cls, app: web.Application) -> RouteCounts:
        """(method, path) routes registered (HEAD routes included) and distinct paths."""
        routes = {(route.method, route.resource.canonical) for route in app.router.routes()
                  if route.resource is not None}
        endpoints = {path for _, path in routes}
        return cls(len(routes), len(endpoints))


class Upstreams:
    """The tmux-status and worker-status upstreams behind one client session, guarded per settings."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession,
                 self_tmux_url: Callable[[], str]) -> None:
        self._settings = settings
        self._session = session
        self._self_tmux_url = self_tmux_url
        timeout = settings.upstream_timeout_s
        worker_url = settings.worker_status_url

        async def call_tmux() -> UpstreamAnswer:
            return await fetch_json(session, settings.tmux_status_url or self_tmux_url(), timeout)

        async def call_worker() -> UpstreamAnswer:
            return await fetch_json(session, worker_url, timeout)

        self.tmux: Upstream
        self.worker: Upstream
        if settings.naive:
            self.tmux, self.worker = DirectCall("tmux", call_tmux), DirectCall("worker", call_worker)
        else:
            self.tmux = CircuitBreaker("tmux", call_tmux, settings.probe_interval_s)
            self.worker = CircuitBreaker("worker", call_worker, settings.probe_interval_s)

    async def both(self) -> tuple[UpstreamAnswer, UpstreamAnswer]:
        """Call tmux and worker concurrently; one call each (or a share of one in flight)."""
        tmux, worker = await asyncio.gather(self.tmux(), self.worker())
        return tmux, worker

    async def aclose(self) -> None:
        """Cancel calls and probes still running."""
        await asyncio.gather(self.tmux.aclose(), self.worker.aclose())


class Clock:
    """Wall-clock timestamps for snapshots, never going back (STATUS-MONO-1) even if the clock is set back."""

    __slots__ = ("_last_ms",)

    def __init__(self) -> None:
        self._last_ms = 0

    def now_ms(self) -> int:
        """Milliseconds since the epoch, at least the last value given."""
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        return self._last_ms

    @staticmethod
    def rfc3339(epoch_ms: int) -> str:
        """`YYYY-MM-DDTHH:MM:SS.sssZ`."""
        seconds, ms = divmod(epoch_ms, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


@dataclass(slots=True)
class StatusSources:
    """Everything a snapshot reads, held in the application's state."""

    settings: Settings
    traffic: TrafficWindow
    process: ProcessMetrics
    clock: Clock
    routes: RouteCounts
    websockets: Callable[[], int]


def assemble_status(sources: StatusSources, tmux: UpstreamAnswer, worker: UpstreamAnswer) -> dict[str, Any]:
    """The EnhancedStatusData document, taken now."""
    timestamp = sources.clock.rfc3339(sources.clock.now_ms())
    active_workers, telemetry = worker_fields(worker)
    traffic = sources.traffic.snapshot()
    uptime = round(sources.process.uptime_s(), 3)  # rounded once: requestsPerSecond uses the value shown
    error_rate = traffic.error_rate
    active_routes = min(sources.traffic.active_routes(), sources.routes.total_routes)
    return {
        "timestamp": timestamp,
        "vector": {
            "sessions": {
                "tmux": tmux_count(tmux),
                "activeWorkers": active_workers,
                "apiSessions": max(1, sources.traffic.in_flight),
                "websocketConnections": sources.websockets(),
            },
            "directions": {
                "primaryRegion": sources.settings.primary_region,
                "trafficMode": traffic_mode(error_rate),
                "requestFlow": {
                    "totalRoutes": sources.routes.total_routes,
                    "activeRoutes": active_routes,
                    "avgLatency": round(traffic.avg_latency_ms, 3),
                    "requestsPerSecond": traffic.requests_per_second(uptime),
                },
                "activeRoutes": active_routes,
            },
            "others": {
                "memory": sources.process.memory(),
                "cpu": sources.process.cpu_ms(),
                "errorRate": error_rate,
                "uptime": uptime,
            },
        },
        "meta": {
            "totalEndpoints": sources.routes.total_endpoints,
            "telemetryStatus": telemetry,
            "statusVersion": STATUS_VERSION,
        },
    }


def dumps(document: Any) -> bytes:
    """Compact JSON bytes (the standard library's encoder: orjson did not pay on a 600-byte document)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
