#!/usr/bin/env python3
"""An independent Python implementation of GET /api/dev/status (TES Enhanced Status API v2.0).

Written for the conformance harness's own tests: it shares no code with tes_contract (stdlib asyncio and
aiohttp only), so it stands for "somebody else's server". Correct by default; TES_BREAK (comma-separated
names, see tests/servers/README.md) switches on deliberate breakages.

    TES_PORT=0 TES_TMUX_STATUS_URL=... TES_WORKER_API_URL=... python tests/servers/py_status_server.py
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import (
    ClientConnectorError,
    ClientError,
    ClientPayloadError,
    ClientSession,
    ClientTimeout,
    ServerDisconnectedError,
    TCPConnector,
    web,
)
from py_dev import BREAKS as DEV_BREAKS  # the dev profile, in its own file
from py_dev import ROUTES as DEV_ROUTES
from py_dev import DevPart
from py_history import BREAKS as HISTORY_BREAKS  # the history profile, in its own file
from py_history import EVENTS_PATH, HISTORY_PATH, HistoryPart, StateError
from py_live import BREAKS as LIVE_BREAKS  # the live profile (WebSocket push), in its own file
from py_live import LIVE_PATH, BadInterval, LivePart, push_interval_s
from py_metrics import BREAKS as METRICS_BREAKS  # the metrics profile, in its own file
from py_metrics import METRICS_PATH, OPENMETRICS_TYPE, TEXT_TYPE, Figures, Metrics, upstream_outcome

BREAKS = frozenset({
    "no_version_header", "wrong_version_header", "no_cache_header", "sequential_upstreams", "no_timeout",
    "short_timeout_500ms", "count_panes", "two_worker_calls", "zero_metrics", "strict_thresholds", "no_405",
    "parse_error_offline", "cached_response", "latency_seconds", "cpu_percent", "bool_is_int", "ignore_region",
    "extra_field", "status_500_on_upstream_error",
}) | METRICS_BREAKS | DEV_BREAKS | LIVE_BREAKS
WINDOW_S = 60.0
STATUS_PATH = "/api/dev/status"
WORKERS_PATH = "/api/dev/workers"
# (method, path) pairs this server registers: the source of totalRoutes and totalEndpoints.
ROUTES = (("GET", STATUS_PATH), ("HEAD", STATUS_PATH), ("GET", WORKERS_PATH), ("HEAD", WORKERS_PATH),
          ("GET", METRICS_PATH), ("HEAD", METRICS_PATH),
          ("GET", HISTORY_PATH), ("HEAD", HISTORY_PATH), ("GET", EVENTS_PATH), ("HEAD", EVENTS_PATH), *DEV_ROUTES,
          ("GET", LIVE_PATH))
STARTED = time.monotonic()


class BadSetting(Exception):
    """A TES_* variable has a value the server cannot use."""


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    tmux_url: str | None  # None: our own /api/dev/tmux/status, known once listening
    worker_base: str
    timeout_s: float | None
    region: str
    breaks: frozenset[str]


def load_config(env: dict[str, str]) -> Config:
    """Read the TES_* environment with the brief's defaults; BadSetting names a bad value."""
    breaks = frozenset(part.strip() for part in env.get("TES_BREAK", "").split(",") if part.strip())
    if unknown := breaks - BREAKS - HISTORY_BREAKS:
        raise BadSetting(f"unknown TES_BREAK mode(s): {', '.join(sorted(unknown))}")
    port_text = env.get("TES_PORT") or "3002"
    if not port_text.isdigit() or int(port_text) > 65535:
        raise BadSetting(f"TES_PORT must be 0-65535, got {port_text!r}")
    timeout_text = env.get("TES_UPSTREAM_TIMEOUT_MS") or "5000"
    if not timeout_text.isdigit() or int(timeout_text) == 0:
        raise BadSetting(f"TES_UPSTREAM_TIMEOUT_MS must be a positive integer, got {timeout_text!r}")
    timeout_s: float | None = int(timeout_text) / 1000
    if "short_timeout_500ms" in breaks:
        timeout_s = 0.5
    if "no_timeout" in breaks:
        timeout_s = None
    region = "us-east-1" if "ignore_region" in breaks else (env.get("TES_PRIMARY_REGION") or "us-east-1")
    return Config(
        host=env.get("TES_HOST") or "127.0.0.1",
        port=int(port_text),
        tmux_url=env.get("TES_TMUX_STATUS_URL") or None,
        worker_base=(env.get("TES_WORKER_API_URL") or "http://127.0.0.1:3003").rstrip("/"),
        timeout_s=timeout_s,
        region=region,
        breaks=breaks,
    )


@dataclass(frozen=True)
class Answer:
    """What one upstream call gave: answered False means refused, reset, closed or timed out."""

    answered: bool
    status: int = 0
    body: Any = None
    is_json: bool = False
    failure: str = ""  # no answer: timeout, refused, reset or error (the metrics' outcome)
    seconds: float = 0.0


def _ok(answer: Answer) -> bool:
    return answer.answered and 200 <= answer.status < 300


class StatusService:
    """Everything the endpoints need: upstream client, traffic window, in-flight count."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tmux_url = config.tmux_url or ""
        self.client: ClientSession | None = None
        self.done: collections.deque[tuple[float, float, int]] = collections.deque()  # (at, latency_ms, status)
        self.in_flight = 0
        self.cached: tuple[float, str] | None = None
        self.last_cpu: tuple[float, float] | None = None
        self.metrics = Metrics(config.breaks)
        self.last_fields: tuple[int, int, str] = (0, 0, "offline")  # tmux, activeWorkers, telemetry
        self.history: HistoryPart | None = None
        self.dev: DevPart | None = None
        self.live: LivePart | None = None
        self.last_answers: tuple[Answer, Answer, Answer | None] | None = None

    def broken(self, name: str) -> bool:
        return name in self.config.breaks

    async def call(self, url: str) -> Answer:
        """GET url once, the timeout (if any) covering connect, headers and body."""
        assert self.client is not None
        timeout = ClientTimeout(total=self.config.timeout_s)
        started = time.monotonic()
        try:
            async with self.client.get(url, timeout=timeout) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            return Answer(answered=False, failure="timeout", seconds=time.monotonic() - started)
        except ClientConnectorError:
            return Answer(answered=False, failure="refused", seconds=time.monotonic() - started)
        except (ServerDisconnectedError, ClientPayloadError, ConnectionResetError):
            return Answer(answered=False, failure="reset", seconds=time.monotonic() - started)
        except (ClientError, OSError):
            return Answer(answered=False, failure="error", seconds=time.monotonic() - started)
        elapsed = time.monotonic() - started
        try:
            return Answer(True, status, json.loads(raw), True, seconds=elapsed)
        except ValueError:
            return Answer(True, status, seconds=elapsed)

    def observe(self, name: str, answer: Answer) -> None:
        """Tell the metrics about one upstream call of the status."""
        outcome = upstream_outcome(name, answer.answered, answer.status, answer.body, answer.failure)
        self.metrics.upstream(name, outcome, answer.seconds)

    def tmux_count(self, answer: Answer) -> int:
        body = answer.body
        if not _ok(answer) or not isinstance(body, dict):
            return 0
        online, sessions = body.get("online"), body.get("sessions")
        if not isinstance(online, bool) or not isinstance(sessions, list) or not online:
            return 0
        if self.broken("count_panes"):
            return sum(len(s["panes"]) for s in sessions if isinstance(s, dict) and isinstance(s.get("panes"), list))
        return len(sessions)

    def worker_fields(self, answer: Answer) -> tuple[int, str]:
        if not answer.answered:
            return 0, "offline"
        if self.broken("parse_error_offline") and not answer.is_json:
            return 0, "offline"
        connected = answer.body.get("connected") if _ok(answer) and isinstance(answer.body, dict) else None
        if isinstance(connected, bool):
            # JSON true/false arrive as Python bool, a subclass of int; the contract says they are not integers.
            connected = int(connected) if self.broken("bool_is_int") else None
        if not isinstance(connected, int) or connected <= 0:
            return 0, "degraded"
        return connected, "healthy"

    def traffic_mode(self, rate: float) -> str:
        if self.broken("strict_thresholds"):
            return "isolated" if rate > 0.5 else "degraded" if rate > 0.1 else "normal"
        return "normal" if rate < 0.1 else "degraded" if rate <= 0.5 else "isolated"

    def cpu(self) -> int | float:
        total = time.process_time()
        if not self.broken("cpu_percent"):
            return int(total * 1000)
        now, previous = time.monotonic(), self.last_cpu
        self.last_cpu = (total, now)
        if previous is None or now <= previous[1]:
            return 0
        return round((total - previous[0]) / (now - previous[1]) * 100, 2) + 0.01

    async def upstream_answers(self) -> tuple[Answer, Answer, Answer | None]:
        """Both upstream calls of one status (as the breaks would make them); the metrics hear of each."""
        worker_url = f"{self.config.worker_base}/workers/status"
        second: Answer | None = None
        if self.broken("sequential_upstreams"):
            tmux = await self.call(self.tmux_url)
            worker = await self.call(worker_url)
        elif self.broken("two_worker_calls"):
            tmux, worker, second = await asyncio.gather(
                self.call(self.tmux_url), self.call(worker_url), self.call(worker_url))
        else:
            tmux, worker = await asyncio.gather(self.call(self.tmux_url), self.call(worker_url))
        for name, answer in (("tmux", tmux), ("worker", worker), ("worker", second)):
            if answer is not None:
                self.observe(name, answer)
        self.last_answers = (tmux, worker, second)
        return tmux, worker, second

    async def snapshot(self) -> str | None:
        """Assemble one status body; None when the status_500_on_upstream_error break wants a 500."""
        document = await self.document()
        return None if document is None else json.dumps(document)

    async def document(self, fresh: bool = True, pushing: bool = False) -> dict[str, Any] | None:
        """One status document: `fresh` calls the upstreams, else reuses their last answers; a push counts
        apiSessions as a status answer would (in flight plus one)."""
        answers = self.last_answers if not fresh and self.last_answers else await self.upstream_answers()
        tmux, worker, second = answers
        if self.broken("status_500_on_upstream_error") and not worker.answered:
            return None
        active_workers, telemetry = self.worker_fields(worker)
        if second is not None:
            telemetry = self.worker_fields(second)[1]
        self.last_fields = (self.tmux_count(tmux), active_workers, telemetry)

        uptime = time.monotonic() - STARTED
        latency, rps, error_rate = self.window()
        if self.broken("latency_seconds"):
            latency /= 1000
        if self.broken("zero_metrics"):
            latency = rps = error_rate = 0.0
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        routes = len(ROUTES)
        meta: dict[str, Any] = {"totalEndpoints": len({p for _, p in ROUTES}), "telemetryStatus": telemetry,
                                "statusVersion": "2.0"}
        if self.broken("extra_field"):
            meta["buildId"] = "broken-python"
        return {
            "timestamp": stamp,
            "vector": {
                "sessions": {"tmux": self.tmux_count(tmux), "activeWorkers": active_workers,
                             "apiSessions": self.in_flight + int(pushing),
                             "websocketConnections": self.live.count() if self.live else 0},
                "directions": {
                    "primaryRegion": self.config.region,
                    "trafficMode": self.traffic_mode(error_rate),
                    "requestFlow": {"totalRoutes": routes, "activeRoutes": routes, "avgLatency": latency,
                                    "requestsPerSecond": rps},
                    "activeRoutes": routes,
                },
                "others": {"memory": _rss_bytes(), "cpu": self.cpu(), "errorRate": error_rate, "uptime": uptime},
            },
            "meta": meta,
        }

    def window(self) -> tuple[float, float, float]:
        """(avgLatency ms, requestsPerSecond, errorRate) of the last 60 s."""
        now = time.monotonic()
        while self.done and self.done[0][0] < now - WINDOW_S:
            self.done.popleft()
        uptime = now - STARTED
        if not self.done:
            return 0.0, 0.0, 0.0
        latency = sum(d[1] for d in self.done) / len(self.done)
        error_rate = sum(1 for d in self.done if d[2] >= 500) / len(self.done)
        return latency, len(self.done) / min(WINDOW_S, uptime) if uptime > 0 else 0.0, error_rate

    async def scrape(self, request: web.Request) -> web.Response:
        latency, rps, error_rate = self.window()
        tmux, workers, telemetry = self.last_fields
        figures = Figures(self.traffic_mode(error_rate), telemetry, error_rate, latency, rps, tmux, workers,
                          self.in_flight, self.config.region)
        openmetrics = "application/openmetrics-text" in request.headers.get("Accept", "")
        return web.Response(text=self.metrics.render(figures, openmetrics),
                            headers={"Content-Type": OPENMETRICS_TYPE if openmetrics else TEXT_TYPE})

    async def status(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        if self.broken("cached_response") and self.cached and now < self.cached[0]:
            text: str | None = self.cached[1]
        else:
            text = await self.snapshot()
            if text is None:
                return _json(500, {"error": "worker API unavailable"})
            if self.broken("cached_response"):
                self.cached = (time.monotonic() + 10.0, text)
            if self.history is not None or self.live is not None:
                document = json.loads(text)
                if self.history is not None:
                    self.history.observe(document)
                    await self.history.alerts.settle_inline()  # nothing to wait for unless alerts_awaited
                if self.live is not None:
                    self.live.observed(document)
        headers = {}
        if not self.broken("no_cache_header"):
            headers["Cache-Control"] = "no-cache"
        if not self.broken("no_version_header"):
            headers["X-TES-Status-Version"] = "2.1" if self.broken("wrong_version_header") else "2.0"
        return web.Response(text=text, content_type="application/json", headers=headers)

    async def workers(self, request: web.Request) -> web.Response:
        answer = await self.call(f"{self.config.worker_base}/workers/status")
        body = answer.body
        if not _ok(answer) or not isinstance(body, dict) or not isinstance(body.get("workers"), list):
            return _json(503, {"error": "the worker API cannot be reached",
                               "resolution": f"check {self.config.worker_base}"})
        listing: dict[str, Any] = {"workers": body["workers"]}
        connected = body.get("connected")
        if isinstance(connected, int) and not isinstance(connected, bool) and connected >= 0:
            listing["connected"] = connected
        return _json(200, listing, {"Cache-Control": "no-cache"})

    async def history_answer(self, request: web.Request) -> web.Response:
        assert self.history is not None
        answer = self.history.history if request.path == HISTORY_PATH else self.history.events
        status, body = answer(request.query)
        return _json(status, body, {"Cache-Control": "no-cache"})

    async def push_document(self, fresh: bool) -> dict[str, Any] | None:
        """A status for the live part's pushes. The history sees only HTTP statuses and its samples: a push's
        snapshot may finish after a newer status did, and an event must never go back to an older state."""
        return await self.document(fresh=fresh, pushing=True)

    def current_mode(self) -> str:
        return self.traffic_mode(0.0 if self.broken("zero_metrics") else self.window()[2])

    def record(self, status: int, seconds: float) -> None:
        """One answered request in the 60 s window and the metrics (a WebSocket handshake counts as 101)."""
        self.done.append((time.monotonic(), seconds * 1000, status))
        self.metrics.request("GET", LIVE_PATH, status, seconds)
        if self.live is not None:
            self.live.request_done()

    async def upgrade(self, request: web.Request) -> web.StreamResponse:
        """The push path: the dev part's Host (every route) and Origin (the upgrade too) rules come first."""
        assert self.live is not None and self.dev is not None
        started = time.monotonic()
        refusal = self.dev.refusal(request)
        if refusal is None and not self.dev._origin_ok(request.headers.get("Origin")):  # noqa: SLF001 - our part
            refusal = _json(403, {"error": "origin not allowed", "resolution": "see TES_ALLOWED_ORIGINS"})
        if refusal is not None:
            await refusal.prepare(request)
            await refusal.write_eof()
            self.record(refusal.status, time.monotonic() - started)
            return refusal
        return await self.live.handle(request, self.record)

    async def sample_forever(self) -> None:
        assert self.history is not None
        while True:
            text = await self.snapshot()
            if text is not None:
                self.history.sample(json.loads(text))
            await asyncio.sleep(self.history.interval_ms / 1000)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path  # the query string is never looked at
        assert self.dev is not None
        if (refusal := self.dev.refusal(request)) is not None:  # DEV-HOST: every route, first
            return refusal
        if self.dev.handles(path):
            return await self.dev.dispatch(request)
        handlers = {STATUS_PATH: self.status, WORKERS_PATH: self.workers, METRICS_PATH: self.scrape,
                    HISTORY_PATH: self.history_answer, EVENTS_PATH: self.history_answer, LIVE_PATH: self.upgrade}
        if path not in handlers:
            return _json(404, {"error": f"no route for {path}"})
        methods = [m for m, p in ROUTES if p == path]
        if request.method not in methods:
            if self.broken("no_405"):
                return _json(404, {"error": f"no route for {request.method} {path}"})
            return _json(405, {"error": f"method {request.method} not allowed on {path}", "resolution": "use GET"},
                         {"Allow": ", ".join(methods)})
        return await handlers[path](request)

    @web.middleware
    async def account(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Count the request in flight, and once its answer is written, in the 60 s window."""
        if request.path == LIVE_PATH and request.method == "GET":
            return await self.upgrade(request)  # an open socket is never in apiSessions; it records itself
        started = time.monotonic()
        self.in_flight += 1
        try:
            try:
                response: web.StreamResponse = await handler(request)
            except Exception as error:  # a bug here must still answer JSON, never a stack trace
                print(f"py_status_server: {error!r}", file=sys.stderr, flush=True)
                response = _json(500, {"error": "status assembly failed", "resolution": "see the server log"})
            try:
                await response.prepare(request)
                await response.write_eof()
            except ConnectionError:  # a snapshot copy the dev part aborted mid-body
                return response
            elapsed = time.monotonic() - started
            self.done.append((time.monotonic(), elapsed * 1000, response.status))
            route = self.metrics.route(request.path, request.path in {p for _, p in ROUTES})
            self.metrics.request(request.method, route, response.status, elapsed)
            return response
        finally:
            self.in_flight -= 1
            if self.live is not None:
                self.live.request_done()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def serve(config: Config, history: HistoryPart, push_interval: float) -> None:
    service = StatusService(config)
    service.history = history
    service.dev = DevPart(dict(os.environ), config.breaks, config.timeout_s)
    service.live = LivePart(push_interval, config.breaks, service.push_document, service.current_mode)
    history.on_event = service.live.push_event
    app = web.Application(middlewares=[service.account])
    app.router.add_route("*", r"/{tail:[\s\S]*}", service.dispatch)  # any path, newlines included
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    host = f"[{config.host}]" if ":" in config.host else config.host
    base = f"http://{host}:{port}"
    service.tmux_url = config.tmux_url or f"{base}/api/dev/tmux/status"
    service.dev.port = port
    service.client = ClientSession(connector=TCPConnector(force_close=True), timeout=ClientTimeout(total=None))
    # aiohttp resends an idempotent request once when the peer closes or resets the connection before
    # answering: that is a second upstream call per status request (UPSTREAM-ONCE). No public switch
    # exists; aiohttp's own test_utils turns it off the same way.
    service.client._retry_connection = False
    print(f"listening {base}", flush=True)
    print(json.dumps({"event": "listening", "url": base, "breaks": sorted(config.breaks)}), file=sys.stderr,
          flush=True)
    await history.alerts.start()
    sampler = asyncio.create_task(service.sample_forever())
    service.live.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        sampler.cancel()
        await service.live.close_all()
        await history.alerts.close()
        await service.client.close()
        await service.dev.close()
        await asyncio.wait_for(runner.cleanup(), 2)


def main() -> int:
    try:
        config = load_config(dict(os.environ))
    except BadSetting as error:
        print(f"py_status_server: {error}", file=sys.stderr)
        return 2
    try:
        push_interval = push_interval_s(dict(os.environ), config.breaks)
        history = HistoryPart(dict(os.environ), config.breaks)
    except (StateError, BadInterval) as error:
        print(f"py_status_server: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(config, history, push_interval))
    except OSError as error:
        print(f"py_status_server: cannot listen on {config.host}:{config.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
