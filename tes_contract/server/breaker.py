"""Single-flight and a circuit breaker per upstream: bounded latency when an upstream fails.

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
from typing import Generic, TypeVar

from tes_contract.server.logs import log_event
from tes_contract.server.upstreams import UpstreamAnswer, no_answer

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Share one in-flight call of `call` among concurrent callers; start a new one once it completed."""

    __slots__ = ("_call", "_task", "_on_done", "calls")

    def __init__(self, call: Callable[[], Awaitable[T]],
                 on_done: Callable[[asyncio.Future[T]], None] | None = None) -> None:
        self._call = call
        self._task: asyncio.Future[T] | None = None
        self._on_done = on_done
        #: Calls started (for tests and the benchmark).
        self.calls = 0

    def start(self) -> asyncio.Future[T]:
        """The call in flight, or a new one: a future to await (through `asyncio.shield`)."""
        task = self._task
        if task is None or task.done():
            # done() and not just None: a completed call is never reused, even before its callbacks ran.
            task = self._task = asyncio.ensure_future(self._call())
            if self._on_done is not None:
                task.add_done_callback(self._on_done)  # once per call, not once per waiting request
            self.calls += 1
        return task

    async def __call__(self) -> T:
        # shield: a caller that goes away must not cancel the call the others are waiting for.
        return await asyncio.shield(self.start())

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
        """The answer now when the circuit is open, else the shared call in flight (to await, shielded)."""
        if self._open_reason is not None:
            self._maybe_probe()
            return no_answer(f"circuit open: {self._open_reason}")
        return self._flight.start()

    async def __call__(self) -> UpstreamAnswer:
        started = self.start()
        return started if isinstance(started, UpstreamAnswer) else await asyncio.shield(started)

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
        self.calls = 0
        self.is_open = False

    def start(self) -> asyncio.Future[UpstreamAnswer]:
        """A new call of this request's own."""
        self.calls += 1
        return asyncio.ensure_future(self._call())

    async def __call__(self) -> UpstreamAnswer:
        return await self.start()

    async def aclose(self) -> None:
        """Nothing to cancel: calls belong to their requests."""
