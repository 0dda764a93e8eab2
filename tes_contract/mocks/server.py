"""One mock upstream on a real socket: the listener, the per-request decision, and each fault's delivery.

The low-level `aiohttp.web.Server` serves it (no router: two paths), with `handler_cancellation` on so a
client that disconnects cancels its handler; that cancellation is how the journal learns when the client
gave up. Faults below HTTP (reset, truncated, empty) write to or close the transport directly.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tes_contract.contract.formats import url_host
from tes_contract.errors import SetupError
from tes_contract.mocks.bodies import HEALTHY_BODY_SCENARIOS, Answer, answer_for, error_answer, snapshot_answer
from tes_contract.mocks.journal import Journal
from tes_contract.mocks.scenarios import Scenario, SnapshotPlan
from tes_contract.mocks.snapshots import refusal as snapshot_refusal
from tes_contract.mocks.snapshots import serve_body

#: A held request (hang, or a closed connection waiting for its cancellation) gives up after this long.
HOLD_S = 24 * 3600.0
#: The path of the webhook receiver (`url()` of the webhook mock ends with it).
WEBHOOK_PATH = "/webhook"
#: Bytes of a delivery's body the journal keeps (a larger body is cut there, `body_truncated` says so).
MAX_JOURNAL_BODY = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


@dataclass
class MockSettings:
    """Settings shared by both mocks; `client_timeout_ms` turns `"0.8x"` delays into seconds."""

    client_timeout_ms: float = 5000.0
    seed: int = 0


@dataclass
class _Prepared:
    """What a leaf scenario serves, serialised once when the scenario is set."""

    answer: Answer | None = None  # the status-path answer (or every path's, when `routed` is False)
    records: list[dict[str, Any]] = field(default_factory=list)  # workers a snapshot may name
    routed: bool = True
    decision: dict[str, Any] = field(default_factory=dict)  # journalled as is: shared, never mutated


class UpstreamMock:
    """The tmux or worker mock: serves its scenario on `host:port`, journals every request."""

    def __init__(self, upstream: str, host: str, port: int, settings: MockSettings, journal: Journal,
                 initial: Scenario, tmux_path: str = "/api/dev/tmux/status") -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self.settings = settings
        self.journal = journal
        self.tmux_path = tmux_path
        self._scenario = initial
        self._prepared: dict[int, _Prepared] = {}
        self._count = 0
        self._limit: int | None = None
        self._on_limit: Callable[[], None] | None = None
        self._server: web.Server | None = None
        self._runner: web.ServerRunner | None = None
        self._site: web.TCPSite | None = None
        self._listener_lock = asyncio.Lock()
        self._inflight: dict[object, dict[str, Any]] = {}
        self._server_closed: set[int] = set()
        self._closing = False
        self.phase: int | None = None  # index of the timeline phase running, journalled with each decision
        self._prepare(initial)

    # ------------------------------------------------------------ lifecycle
    @property
    def listening(self) -> bool:
        """True while the listener accepts connections."""
        return self._site is not None

    @property
    def scenario(self) -> Scenario:
        """The scenario set now."""
        return self._scenario

    @property
    def requests(self) -> int:
        """Requests received since the scenario was set."""
        return self._count

    async def start(self) -> None:
        """Bind the port (port 0 picks a free one, kept for later reopening) and apply the initial scenario."""
        self._server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(self._server, shutdown_timeout=1.0)
        await self._runner.setup()
        await self._open()
        await self.sync_listener()

    async def close(self) -> None:
        """Close the listener and every connection; leaves no task and no port behind."""
        self._closing = True
        async with self._listener_lock:
            if self._site is not None:
                await self._site.stop()
                self._site = None
            self._drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _open(self) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            raise SetupError(f"{self.upstream} mock cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        self._site = site
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def sync_listener(self) -> None:
        """Close the listener when the scenario is `down`, reopen it on the same port otherwise."""
        async with self._listener_lock:
            if self._closing:
                return
            want_open = self._scenario.name != "down"
            if want_open and self._site is None:
                await self._open()
            elif not want_open and self._site is not None:
                await self._site.stop()
                # A dead process drops its open connections too; keep-alive clients must not get answers.
                self._drop_connections()
                await self._connections_gone()
                self._site = None  # only now is `listening` false: down is fully in force

    async def _connections_gone(self, within_s: float = 1.0) -> None:
        """Wait until the dropped sockets are really closed, so `down` is in force when `set` returns."""
        deadline = time.monotonic() + within_s
        while self._server is not None and any(p.transport is not None for p in self._server.connections):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.005)

    def _drop_connections(self) -> None:
        if self._server is None:
            return
        for protocol in self._server.connections:
            entry = self._inflight.get(protocol)
            if entry is not None:
                self._server_closed.add(entry["seq"])
            transport = protocol.transport
            if transport is not None:
                transport.abort()

    # ------------------------------------------------------------ scenario
    def set_scenario(self, scenario: Scenario, limit: int | None = None,
                     on_limit: Callable[[], None] | None = None) -> None:
        """Switch the scenario now; `limit` requests later, `on_limit` is called (timelines count with it).

        Call `sync_listener()` afterwards (or use `apply`) so `down` closes or reopens the listener.
        """
        self._prepared = {}  # a new dict: requests in flight keep the one they started with
        self._prepare(scenario)
        self._scenario = scenario
        self._count = 0
        self._limit, self._on_limit = limit, on_limit

    async def apply(self, scenario: Scenario) -> None:
        """Switch the scenario and bring the listener in line with it."""
        self.set_scenario(scenario)
        await self.sync_listener()

    def _prepare(self, scenario: Scenario) -> None:
        for child in scenario.children:
            self._prepare(child)
        answer = answer_for(scenario)
        routed = scenario.name in HEALTHY_BODY_SCENARIOS or scenario.name == "zero"
        records = list(answer.workers) if answer is not None else []
        self._prepared[id(scenario)] = _Prepared(answer, records, routed, scenario.describe())

    def _decide(self, scenario: Scenario, prepared: dict[int, _Prepared], n: int) -> tuple[Scenario, dict[str, Any]]:
        """Pick the leaf scenario of request `n` (counted from when the scenario was set)."""
        if scenario.name == "flapping":
            every = scenario.params["every"]
            leaf = scenario.children[(n // every) % 2]
            return leaf, {**leaf.describe(), "request": n}
        if scenario.name == "chaos":
            seed = scenario.params["seed"]
            # Seeded per request, so decision n depends only on (seed, n): reruns and reorderings agree.
            draw = random.Random(f"{seed}/{n}").random()
            point, total = draw * sum(scenario.weights), 0.0
            leaf = scenario.children[-1]
            for child, weight in zip(scenario.children, scenario.weights, strict=True):
                total += weight
                if point < total:
                    leaf = child
                    break
            return leaf, {**leaf.describe(), "seed": seed, "request": n, "draw": draw}
        return scenario, prepared[id(scenario)].decision

    # ------------------------------------------------------------ requests
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        n = self._count
        self._count += 1
        scenario, prepared = self._scenario, self._prepared  # a timeline may switch both below
        leaf, decision = self._decide(scenario, prepared, n)
        if self.phase is not None:
            decision = {**decision, "phase": self.phase}
        body = await self._body(request) if self.upstream == "webhook" else None
        entry = self.journal.record(request.method, request.path_qs, dict(request.headers), scenario.name, decision,
                                    body)
        if self._limit is not None and self._count >= self._limit and self._on_limit is not None:
            on_limit, self._limit, self._on_limit = self._on_limit, None, None
            on_limit()
        protocol = request.protocol
        self._inflight[protocol] = entry
        try:
            return await self._serve(leaf, prepared[id(leaf)], request, entry)
        except asyncio.CancelledError:
            # Cancelled because the connection was lost: the client left, unless we closed it ourselves.
            if not self._closing and entry["seq"] not in self._server_closed and entry["completed_at"] is None:
                entry["client_gave_up_at"] = time.time()
            raise
        except ConnectionError:
            if entry["completed_at"] is None:
                entry["client_gave_up_at"] = time.time()
            return await self._hold_closed(request, entry)
        finally:
            self._inflight.pop(protocol, None)
            self._server_closed.discard(entry["seq"])

    @staticmethod
    async def _body(request: web.BaseRequest) -> str:
        """The delivery's body as text (the webhook's journal keeps it), at most MAX_JOURNAL_BODY bytes."""
        try:
            data = await request.content.read(MAX_JOURNAL_BODY)
        except (ConnectionError, asyncio.IncompleteReadError):
            data = b""
        return data.decode("utf-8", errors="replace")

    async def _serve(self, leaf: Scenario, prepared: _Prepared, request: web.BaseRequest,
                     entry: dict[str, Any]) -> web.StreamResponse:
        name = leaf.name
        if name == "hang" or name == "down":
            if name == "down":  # a request that slipped in while the listener closed: drop it like a dead host
                return await self._hold_closed(request, entry, abort=True)
            await asyncio.sleep(HOLD_S)
            return await self._hold_closed(request, entry)
        if name in ("reset", "empty"):
            return await self._hold_closed(request, entry, abort=name == "reset")
        worker_id = self._snapshot_id(request) if "snapshot" in leaf.params else None
        if worker_id is not None:
            return await self._snapshot(leaf.params["snapshot"], prepared, request, entry, worker_id)
        answer = self._answer_for(prepared, request)
        if name == "slow":
            await asyncio.sleep(leaf.params["delay"].seconds(self.settings.client_timeout_ms))
        elif name == "fixed" and "delay_ms" in leaf.params:  # `mock record` replays the latency it saw
            await asyncio.sleep(leaf.params["delay_ms"].seconds(self.settings.client_timeout_ms))
        elif name == "slow_body":
            return await self._dribble(leaf, request, entry, answer)
        elif name == "truncated":
            return await self._truncate(request, entry, answer)
        response = web.Response(status=answer.status, body=answer.body, headers=answer.header_map)
        await response.prepare(request)
        await response.write_eof()
        entry["completed_at"], entry["status"] = time.time(), answer.status
        return response

    def _answer_for(self, prepared: _Prepared, request: web.BaseRequest) -> Answer:
        assert prepared.answer is not None
        if not prepared.routed:
            return prepared.answer
        path = request.path
        if self.upstream == "webhook":
            if path != WEBHOOK_PATH:
                return error_answer(404, f"no such path {path} on the webhook mock", f"POST {WEBHOOK_PATH}")
            if request.method != "POST":
                refusal = error_answer(405, f"method {request.method} not allowed on {path}", "use POST")
                return Answer(405, refusal.body, headers=(("Allow", "POST"),))
            return prepared.answer
        if path == (self.tmux_path if self.upstream == "tmux" else "/workers/status"):
            if request.method not in ("GET", "HEAD"):
                refusal = error_answer(405, f"method {request.method} not allowed on {path}", "use GET")
                return Answer(405, refusal.body, headers=(("Allow", "GET, HEAD"),))
            return prepared.answer
        parts = path.split("/")
        if self.upstream == "worker" and len(parts) == 4 and parts[1] == "workers" and parts[3] == "snapshot":
            return snapshot_answer(parts[2], prepared.records)
        return error_answer(404, f"no such path {path} on the {self.upstream} mock")

    def _snapshot_id(self, request: web.BaseRequest) -> str | None:
        parts = request.path.split("/")
        if self.upstream == "worker" and len(parts) == 4 and parts[1] == "workers" and parts[3] == "snapshot":
            return parts[2]
        return None

    async def _snapshot(self, plan: SnapshotPlan, prepared: _Prepared, request: web.BaseRequest,
                        entry: dict[str, Any], worker_id: str) -> web.StreamResponse:
        """A snapshot request under the `snapshot` parameter's plan (mocks/snapshots.py)."""
        if plan.mode == "hang":
            await asyncio.sleep(HOLD_S)
            return await self._hold_closed(request, entry)
        answer = snapshot_refusal(plan, worker_id, prepared.records)
        if answer is None:
            return await serve_body(plan, request, entry, worker_id, prepared.records,
                                    self.settings.client_timeout_ms)
        response = web.Response(status=answer.status, body=answer.body, headers=answer.header_map)
        await response.prepare(request)
        await response.write_eof()
        entry["completed_at"], entry["status"] = time.time(), answer.status
        return response

    async def _dribble(self, leaf: Scenario, request: web.BaseRequest, entry: dict[str, Any],
                       answer: Answer) -> web.StreamResponse:
        """Send the headers and a first piece at once, the rest spread so the whole answer takes `duration`."""
        duration = leaf.params["duration"].seconds(self.settings.client_timeout_ms)
        body = answer.body
        pieces = max(2, min(leaf.params["chunks"], len(body)))
        step = -(-len(body) // pieces)
        response = web.StreamResponse(status=answer.status, headers={
            "Content-Type": answer.content_type, "Content-Length": str(len(body))})
        await response.prepare(request)
        chunks = [body[i:i + step] for i in range(0, len(body), step)]
        await response.write(chunks[0])
        for chunk in chunks[1:]:
            await asyncio.sleep(duration / (len(chunks) - 1))
            await response.write(chunk)
        await response.write_eof()
        entry["completed_at"], entry["status"] = time.time(), answer.status
        return response

    async def _truncate(self, request: web.BaseRequest, entry: dict[str, Any], answer: Answer) -> web.StreamResponse:
        """Promise the whole body in Content-Length, send half of it, close."""
        transport = request.transport
        if transport is not None:
            reason = _REASONS.get(answer.status, "Status")
            head = (f"HTTP/1.1 {answer.status} {reason}\r\nContent-Type: {answer.content_type}\r\n"
                    f"Content-Length: {len(answer.body)}\r\nConnection: close\r\n\r\n").encode()
            transport.write(head + answer.body[: len(answer.body) // 2])
            entry["completed_at"], entry["status"] = time.time(), answer.status
        return await self._hold_closed(request, entry)

    async def _hold_closed(self, request: web.BaseRequest, entry: dict[str, Any],
                           abort: bool = False) -> web.StreamResponse:
        """Close the connection (RST when `abort`) and wait for aiohttp to cancel this handler."""
        self._server_closed.add(entry["seq"])
        transport = request.transport
        if transport is not None:
            if abort:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    # Linger 0: close() sends RST instead of FIN, what a crashed peer looks like.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            else:
                transport.close()
        await asyncio.sleep(HOLD_S)  # connection_lost cancels us long before this
        raise ConnectionResetError("connection closed by the mock")

    def describe(self) -> dict[str, Any]:
        """Return the scenario set now, with the listener state and the requests seen since it was set."""
        return {**self._scenario.describe(), "upstream": self.upstream, "listening": self.listening,
                "requests": self._count, "port": self.port, "phase": self.phase}

    def url(self) -> str:
        """Return the URL a status server is configured with for this upstream."""
        base = f"http://{url_host(self.host)}:{self.port}"
        if self.upstream == "webhook":
            return base + WEBHOOK_PATH
        return base + self.tmux_path if self.upstream == "tmux" else base
