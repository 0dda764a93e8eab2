"""Single-flight and a circuit breaker per upstream, and `Upstreams`, which calls both through them.

- **Single-flight**: concurrent status requests share the one call to an upstream that is *still in
  flight*. A completed answer is never handed to a later request (no cache: every status request that
  arrives after a call completed causes a new call), so the data is as fresh as without sharing.
- **Circuit breaker**: after a call gets no answer (refused, reset, timeout) the breaker opens, and
  requests get "no answer" at once instead of each waiting up to the timeout. While open, one probe call
  starts in the background every `probe_interval_s` (<= 5 s, default 1 s) when requests arrive; nobody
  waits for a probe. The first probe that gets any answer closes the breaker, so a recovered upstream
  shows in the status within the probe interval plus one call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import aiohttp

from tes_contract.server.logs import log_event
from tes_contract.server.settings import Settings
from tes_contract.server.upstreams import UpstreamAnswer, fetch_json, no_answer

T = TypeVar("T")


class Join:
    """One request waiting for the answers of one or more calls in flight: one future, woken once.

    The hot path of a status request under load. `asyncio.shield` per upstream made two futures and
    three callbacks per request and woke the request up to twice; a `Join` is one future, set by the
    call's own completion (`SingleFlight.join`), so the request wakes once when both answers are in.
    A request that goes away cancels only its own future, never the call the others wait for.
    """

    __slots__ = ("answers", "pending", "future")

    def __init__(self, answers: list[Any], pending: int) -> None:
        #: One slot per call; the slots of calls still in flight are filled as they complete.
        self.answers = answers
        self.pending = pending
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def arrive(self, slot: int, answer: Any) -> None:
        """The answer of the call for `slot`; the waiter wakes when it was the last one missing."""
        self.answers[slot] = answer
        self.pending -= 1
        if self.pending == 0 and not self.future.done():  # done: the request was cancelled
            self.future.set_result(None)

    async def one(self, flight: SingleFlight[T] | CircuitBreaker) -> T:
        """Wait for the answer of the call `flight.start()` just returned (a `Join` of one slot)."""
        flight.join(self, 0)
        await self.future
        return self.answers[0]  # type: ignore[no-any-return]

    def abort(self, task: asyncio.Future[Any]) -> None:
        """The call failed or was cancelled (shutdown): the waiter gets the same."""
        if self.future.done():
            return
        if task.cancelled():
            self.future.cancel()
        else:
            self.future.set_exception(task.exception())  # type: ignore[arg-type]


class SingleFlight(Generic[T]):
    """Share one in-flight call of `call` among concurrent callers; start a new one once it completed."""

    __slots__ = ("_call", "_task", "_joined", "_on_done", "calls")

    def __init__(self, call: Callable[[], Awaitable[T]],
                 on_done: Callable[[asyncio.Future[T]], None] | None = None) -> None:
        self._call = call
        self._task: asyncio.Future[T] | None = None
        self._joined: list[tuple[Join, int]] = []
        self._on_done = on_done
        #: Calls started (for tests and the benchmark).
        self.calls = 0

    def start(self) -> asyncio.Future[T]:
        """The call in flight, or a new one, to `join`."""
        task = self._task
        if task is None or task.done():
            # done() and not just None: a completed call is never reused, even before its callbacks ran.
            task = self._task = asyncio.ensure_future(self._call())
            joined: list[tuple[Join, int]] = []
            self._joined = joined
            # One callback per call, not one per waiting request; it holds this call's own waiters.
            task.add_done_callback(partial(self._finished, joined))
            self.calls += 1
        return task

    def join(self, join: Join, slot: int) -> None:
        """Have `join` given the answer of the call `start` just returned, in `slot`."""
        self._joined.append((join, slot))

    def _finished(self, joined: list[tuple[Join, int]], task: asyncio.Future[T]) -> None:
        if self._on_done is not None:
            self._on_done(task)  # before the waiters wake: they see the breaker's new state
        if task.cancelled() or task.exception() is not None:
            for join, _ in joined:
                join.abort(task)
            return
        answer = task.result()
        for join, slot in joined:
            join.arrive(slot, answer)

    async def __call__(self) -> T:
        """Wait for the call in flight, or a new one; going away never cancels the call others wait for."""
        self.start()
        return await Join([None], 1).one(self)

    async def aclose(self) -> None:
        """Cancel a call still in flight (application shutdown)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class CircuitBreaker:
    """Answer at once while an upstream is known dead; probe it in the background, never blocking."""

    def __init__(self, name: str, call: Callable[[], Awaitable[UpstreamAnswer]], probe_interval_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._flight: SingleFlight[UpstreamAnswer] = SingleFlight(call, self._call_done)
        self._call = call
        self._probe_interval_s = probe_interval_s
        self._clock = clock
        self._open_reason: str | None = None
        self._last_probe = 0.0
        self._probes: set[asyncio.Task[None]] = set()

    @property
    def is_open(self) -> bool:
        """True while the upstream is known dead."""
        return self._open_reason is not None

    @property
    def calls(self) -> int:
        """Upstream calls made for requests (probes not included)."""
        return self._flight.calls

    def start(self) -> UpstreamAnswer | asyncio.Future[UpstreamAnswer]:
        """The answer now when the circuit is open, else the shared call in flight (to `join`)."""
        if self._open_reason is not None:
            self._maybe_probe()
            return no_answer(f"circuit open: {self._open_reason}")
        return self._flight.start()

    def join(self, join: Join, slot: int) -> None:
        """Have `join` given the answer of the call `start` just returned."""
        self._flight.join(join, slot)

    async def __call__(self) -> UpstreamAnswer:
        started = self.start()
        return started if isinstance(started, UpstreamAnswer) else await Join([None], 1).one(self)

    def _call_done(self, task: asyncio.Future[UpstreamAnswer]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._observe(task.result())

    def _observe(self, answer: UpstreamAnswer) -> None:
        if answer.answered:
            if self._open_reason is not None:
                self._open_reason = None
                log_event("upstream_state", upstream=self.name, state="closed", status=answer.status)
        elif self._open_reason is None:
            self._open_reason = answer.reason
            self._last_probe = self._clock()
            log_event("upstream_state", upstream=self.name, state="open", reason=answer.reason,
                      probe_interval_s=self._probe_interval_s)

    def _maybe_probe(self) -> None:
        now = self._clock()
        if now - self._last_probe < self._probe_interval_s:
            return
        # Probes may overlap when one hangs up to the timeout: a later one still sees a recovery in time.
        self._last_probe = now
        task = asyncio.ensure_future(self._probe())
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _probe(self) -> None:
        answer = await self._call()
        self._observe(answer)

    async def aclose(self) -> None:
        """Cancel probes and the shared call (application shutdown)."""
        probes = list(self._probes)
        for task in probes:
            task.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        await self._flight.aclose()


class DirectCall:
    """Naive mode: every request calls the upstream itself and waits (the original's behaviour)."""

    def __init__(self, name: str, call: Callable[[], Awaitable[UpstreamAnswer]]) -> None:
        self.name = name
        self._call = call
        self._task: asyncio.Future[UpstreamAnswer] | None = None
        self.calls = 0
        self.is_open = False

    def start(self) -> asyncio.Future[UpstreamAnswer]:
        """A new call of this request's own."""
        self.calls += 1
        self._task = task = asyncio.ensure_future(self._call())
        return task

    def join(self, join: Join, slot: int) -> None:
        """Have `join` given the answer of the call `start` just returned."""
        assert self._task is not None, "join() follows start()"
        self._task.add_done_callback(partial(_give, join, slot))

    async def __call__(self) -> UpstreamAnswer:
        return await self.start()

    async def aclose(self) -> None:
        """Nothing to cancel: calls belong to their requests."""


def _give(join: Join, slot: int, task: asyncio.Future[UpstreamAnswer]) -> None:
    if task.cancelled() or task.exception() is not None:
        join.abort(task)
    else:
        join.arrive(slot, task.result())


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


class Upstreams:
    """The tmux-status and worker-status upstreams behind one client session, guarded per settings."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession,
                 self_tmux_url: Callable[[], str]) -> None:
        self._settings = settings
        self._session = session
        self._self_tmux_url = self_tmux_url
        timeout = settings.upstream_timeout_s
        worker_url = settings.worker_status_url

        #: Told of every call made (requests and probes) once classified: the metrics feature sets it.
        self.observe: Callable[[str, UpstreamAnswer], None] | None = None

        async def call_tmux() -> UpstreamAnswer:
            answer = await fetch_json(session, settings.tmux_status_url or self_tmux_url(), timeout)
            if self.observe is not None:
                self.observe("tmux", answer)
            return answer

        async def call_worker() -> UpstreamAnswer:
            answer = await fetch_json(session, worker_url, timeout)
            if self.observe is not None:
                self.observe("worker", answer)
            return answer

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
