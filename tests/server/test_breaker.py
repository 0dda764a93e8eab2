"""Single-flight shares only calls in flight; the circuit breaker answers at once and probes in the background."""

from __future__ import annotations

import asyncio

from tes_contract.server.breaker import CircuitBreaker, SingleFlight
from tes_contract.server.upstreams import UpstreamAnswer, no_answer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_single_flight_shares_a_call_in_flight():
    release = asyncio.Event()
    started = 0

    async def call() -> int:
        nonlocal started
        started += 1
        await release.wait()
        return started

    flight: SingleFlight[int] = SingleFlight(call)
    waiters = [asyncio.ensure_future(flight()) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [1] * 10
    assert flight.calls == 1


async def test_single_flight_never_reuses_a_completed_answer():
    values = iter(range(100))

    async def call() -> int:
        return next(values)

    flight: SingleFlight[int] = SingleFlight(call)
    first = await flight()
    # No await between completion and the next call: the done callback may not have run yet.
    second = await flight()
    third = await flight()
    assert (first, second, third) == (0, 1, 2)
    assert flight.calls == 3


async def test_single_flight_survives_a_caller_that_goes_away():
    release = asyncio.Event()

    async def call() -> str:
        await release.wait()
        return "answer"

    flight: SingleFlight[str] = SingleFlight(call)
    impatient = asyncio.ensure_future(flight())
    patient = asyncio.ensure_future(flight())
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    assert await patient == "answer"
    assert flight.calls == 1


async def test_breaker_opens_answers_at_once_and_recovers_through_a_background_probe():
    clock = FakeClock()
    state = {"up": False, "calls": 0, "hang": None}

    async def call() -> UpstreamAnswer:
        state["calls"] += 1
        if state["hang"] is not None:
            await state["hang"].wait()
        return UpstreamAnswer(True, 200, {"connected": 1}) if state["up"] else no_answer("refused")

    breaker = CircuitBreaker("worker", call, probe_interval_s=1.0, clock=clock)
    assert not (await breaker()).answered
    assert breaker.is_open and state["calls"] == 1

    # Open: answers at once, no call, until the probe interval passed.
    for _ in range(5):
        answer = await breaker()
        assert not answer.answered and answer.reason.startswith("circuit open")
    assert state["calls"] == 1

    # The upstream comes back but hangs its first answer: the probe runs, nobody waits for it.
    state["up"], state["hang"] = True, asyncio.Event()
    clock.now += 1.0
    answer = await asyncio.wait_for(breaker(), 0.1)
    assert not answer.answered
    await asyncio.sleep(0)
    assert state["calls"] == 2  # the probe started
    answer = await asyncio.wait_for(breaker(), 0.1)  # still open while the probe hangs: at once
    assert not answer.answered and state["calls"] == 2

    state["hang"].set()
    await asyncio.sleep(0.01)
    assert not breaker.is_open
    state["hang"] = None
    answer = await breaker()
    assert answer.answered and state["calls"] == 3  # a fresh call, the probe's answer is not reused
    await breaker.aclose()


async def test_breaker_probes_again_while_an_earlier_probe_hangs():
    clock = FakeClock()
    never = asyncio.Event()
    calls = 0

    async def call() -> UpstreamAnswer:
        nonlocal calls
        calls += 1
        if calls == 1:
            return no_answer("timeout")
        if calls == 2:
            await never.wait()  # a probe stuck until its timeout
        return UpstreamAnswer(True, 200, {"connected": 2})

    breaker = CircuitBreaker("tmux", call, probe_interval_s=1.0, clock=clock)
    await breaker()
    clock.now += 1.0
    await breaker()  # probe 1 (hangs)
    await asyncio.sleep(0)
    clock.now += 1.0
    await breaker()  # probe 2, one interval later, answers
    await asyncio.sleep(0.01)
    assert not breaker.is_open and calls == 3
    await breaker.aclose()


async def test_answers_other_than_no_answer_keep_the_breaker_closed():
    async def call() -> UpstreamAnswer:
        return UpstreamAnswer(True, 500, None)

    breaker = CircuitBreaker("worker", call, probe_interval_s=1.0)
    for _ in range(3):
        assert (await breaker()).status == 500
    assert not breaker.is_open and breaker.calls == 3


async def test_join_wakes_once_both_answers_are_in():
    from tes_contract.server.breaker import Join

    releases = {"a": asyncio.Event(), "b": asyncio.Event()}

    def flight_of(name: str) -> SingleFlight[str]:
        async def call() -> str:
            await releases[name].wait()
            return name

        return SingleFlight(call)

    a, b = flight_of("a"), flight_of("b")
    joins = []
    for _ in range(3):  # three requests sharing both calls
        a.start(), b.start()
        join = Join([None, None], 2)
        a.join(join, 0)
        b.join(join, 1)
        joins.append(join)
    releases["a"].set()
    await asyncio.sleep(0.01)
    assert not any(join.future.done() for join in joins)  # one answer of two: still waiting
    releases["b"].set()
    await asyncio.wait_for(asyncio.gather(*(join.future for join in joins)), 1)
    assert [join.answers for join in joins] == [["a", "b"]] * 3
    assert (a.calls, b.calls) == (1, 1)


async def test_join_of_a_request_that_goes_away_leaves_the_call_and_the_others():
    from tes_contract.server.breaker import Join

    release = asyncio.Event()

    async def call() -> str:
        await release.wait()
        return "answer"

    flight: SingleFlight[str] = SingleFlight(call)
    task = flight.start()
    impatient, patient = Join([None], 1), Join([None], 1)
    flight.join(impatient, 0)
    flight.join(patient, 0)
    waiter = asyncio.ensure_future(impatient.future)
    await asyncio.sleep(0)
    waiter.cancel()  # the request is cancelled while it waits
    release.set()
    await asyncio.wait_for(patient.future, 1)
    assert patient.answers == ["answer"] and not task.cancelled() and impatient.future.cancelled()


async def test_join_is_cancelled_with_the_call_at_shutdown():
    from tes_contract.server.breaker import Join

    async def call() -> str:
        await asyncio.Event().wait()
        return "never"

    flight: SingleFlight[str] = SingleFlight(call)
    flight.start()
    join = Join([None], 1)
    flight.join(join, 0)
    await flight.aclose()
    await asyncio.sleep(0)
    assert join.future.cancelled()
