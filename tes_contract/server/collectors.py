"""What a status snapshot is made of: upstream fields, process metrics, routes, and the assembly.

Process metrics, and why these sources:
- `cpu`: `time.process_time()` (standard library): user + system CPU of this process from the kernel's
  per-process CPU clock, nanosecond resolution, about 0.4 us a call, never decreasing; in ms, integer.
- `memory`: resident set size. The standard library only gives the *peak* RSS (`resource.getrusage`),
  not what the process uses now. psutil gives it portably (`memory_info().rss`, ~13 us: open, read,
  close of /proc/self/statm); on Linux the same file is read through a descriptor kept open (~2 us).
- `uptime`: the process start time from psutil, turned once into a monotonic origin, so uptime never
  decreases even if the wall clock is set back.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import aiohttp
import psutil
from aiohttp import hdrs, web

from tes_contract.server.breaker import CircuitBreaker, DirectCall, Join
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

    def start(self) -> UpstreamAnswer | asyncio.Future[UpstreamAnswer]: ...

    def join(self, join: Join, slot: int) -> None: ...

    def __call__(self) -> Awaitable[UpstreamAnswer]: ...

    async def aclose(self) -> None: ...


class ProcessMetrics:
    """memory (bytes), cpu (cumulative ms, integer) and uptime (s) of this process."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        started_ago = max(0.0, time.time() - self._process.create_time())
        self._origin = time.monotonic() - started_ago
        self._statm = _open_statm()
        self._page_size = os.sysconf("SC_PAGE_SIZE") if self._statm is not None else 0
        self._usage_ms = -1
        self._usage = (0, 0)

    def usage(self) -> tuple[int, int]:
        """(memory, cpu) read at most once per millisecond (of the monotonic clock).

        Snapshots taken within the same millisecond share one reading: their timestamps are the same
        millisecond, and `cpu` counts whole milliseconds. Under load, when a batch of status requests is
        answered at once, this spares two system calls per request (a tenth of the server's own work).
        """
        now_ms = time.monotonic_ns() // 1_000_000
        if now_ms != self._usage_ms:
            self._usage = (self.memory(), self.cpu_ms())
            self._usage_ms = now_ms
        return self._usage

    def memory(self) -> int:
        """Resident set size in bytes."""
        if self._statm is not None:
            # Linux: the same figure psutil reads (/proc/self/statm, resident pages), from a descriptor
            # kept open: a pread at offset 0 regenerates it, without open/close on every status request.
            return int(os.pread(self._statm, 128, 0).split()[1]) * self._page_size
        return int(self._process.memory_info().rss)

    def close(self) -> None:
        """Release the /proc descriptor."""
        if self._statm is not None:
            os.close(self._statm)
            self._statm = None

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
        """(method, path) routes registered (HEAD routes included) and distinct paths.

        The fallback routes answering 404 and 405 for any method (`*`) are not endpoints: left out.
        """
        routes = {(route.method, route.resource.canonical) for route in app.router.routes()
                  if route.resource is not None and route.method != hdrs.METH_ANY}
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
        """Call tmux and worker concurrently; one call each (or a share of one in flight).

        Both calls are started (as tasks) before the request waits, so they run concurrently and the wait
        is the slower one's time, not the sum. The request waits on one `Join` for both, woken once; no
        task per request is made for a shared call or an open circuit (the hot path under load).
        """
        tmux = self.tmux.start()
        worker = self.worker.start()
        tmux_ready = isinstance(tmux, UpstreamAnswer)
        worker_ready = isinstance(worker, UpstreamAnswer)
        if tmux_ready and worker_ready:
            return tmux, worker  # type: ignore[return-value]
        join = Join([tmux, worker], 2 - tmux_ready - worker_ready)
        if not tmux_ready:
            self.tmux.join(join, 0)
        if not worker_ready:
            self.worker.join(join, 1)
        await join.future
        return join.answers[0], join.answers[1]

    async def aclose(self) -> None:
        """Cancel calls and probes still running."""
        await asyncio.gather(self.tmux.aclose(), self.worker.aclose())


class Clock:
    """Wall-clock timestamps for snapshots, never going back (STATUS-MONO-1) even if the clock is set back."""

    __slots__ = ("_last_ms", "_second", "_prefix")

    def __init__(self) -> None:
        self._last_ms = 0
        self._second = -1
        self._prefix = ""

    def now_ms(self) -> int:
        """Milliseconds since the epoch, at least the last value given."""
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        return self._last_ms

    def timestamp(self) -> str:
        """`rfc3339(now_ms())`: the snapshot's timestamp."""
        return self.rfc3339(self.now_ms())

    def rfc3339(self, epoch_ms: int) -> str:
        """`YYYY-MM-DDTHH:MM:SS.sssZ` (the date and time part formatted once a second)."""
        seconds, ms = divmod(epoch_ms, 1000)
        if seconds != self._second:
            self._second = seconds
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        return f"{self._prefix}.{ms:03d}Z"


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
    """One snapshot for the status requests that waited for the same upstream calls.

    Under load, single-flight wakes a whole batch of requests at once with the same two answers (the
    same objects: each call makes new ones). The first of them to run takes the snapshot; the others of
    the batch, which run right after it in the same turn of the event loop, answer the same bytes
    instead of rendering the same values again. The key is the identity of the two answers, so a request
    never gets a snapshot made from calls that completed before it arrived: single-flight never hands a
    completed call to a later request, and an open circuit gives each request an answer of its own.
    Sequential requests therefore each get their own snapshot, as before.
    """

    __slots__ = ("_tmux", "_worker", "_body")

    def __init__(self) -> None:
        self._tmux: UpstreamAnswer | None = None
        self._worker: UpstreamAnswer | None = None
        self._body = b""

    def body(self, sources: StatusSources, tmux: UpstreamAnswer, worker: UpstreamAnswer) -> bytes:
        """The snapshot's JSON for these two answers: taken now, or shared with the batch that got them."""
        if tmux is self._tmux and worker is self._worker:
            return self._body
        body = status_fields(sources, tmux, worker).json()
        self._tmux, self._worker, self._body = tmux, worker, body
        return body


def assemble_status(sources: StatusSources, tmux: UpstreamAnswer, worker: UpstreamAnswer) -> dict[str, Any]:
    """The EnhancedStatusData document, taken now, as a dict."""
    return status_fields(sources, tmux, worker).document()


def _open_statm() -> int | None:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None  # not Linux: psutil
    try:
        int(os.pread(fd, 128, 0).split()[1])
    except (OSError, ValueError, IndexError):
        os.close(fd)
        return None
    return fd


def dumps(document: Any) -> bytes:
    """Compact JSON bytes (the standard library's encoder: orjson did not pay on a 600-byte document)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
