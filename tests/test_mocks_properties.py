"""Property-based: any scenario request is accepted or refused with a reason; fixed serves bytes exactly."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tes_contract.contract.schemas import validator_for
from tes_contract.mocks import SCENARIOS, UPSTREAMS, MockUpstreams, ScenarioError, parse_scenario
from tes_contract.mocks.scenarios import scenario_params

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10_000) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["0.8x", "250ms", "1.5s", "healthy", "hang", "connected_true"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def scenario_requests(draw: st.DrawFn) -> tuple[str, dict]:
    upstream = draw(st.sampled_from(UPSTREAMS))
    name = draw(st.sampled_from(SCENARIOS))
    known = scenario_params(upstream, name)
    keys = draw(st.lists(st.sampled_from(known) if known else st.nothing(), max_size=3, unique=True)) \
        if known else []
    request = {"scenario": name, **{key: draw(json_values) for key in keys}}
    if draw(st.booleans()) and not known:
        request[draw(st.text(min_size=1, max_size=6))] = 1  # an unknown parameter
    return upstream, request


@settings(max_examples=300, deadline=None)
@given(scenario_requests())
def test_a_request_is_accepted_and_round_trips_or_refused_with_a_reason(case):
    upstream, request = case
    try:
        scenario = parse_scenario(upstream, request)
    except ScenarioError as exc:
        assert str(exc)  # refused, with a reason: the control API's 400
        return
    described = scenario.describe()
    validator_for("mock-scenario.json").validate(described)
    assert parse_scenario(upstream, described).describe() == described


@pytest.fixture(scope="module")
def threaded_mocks() -> Iterator[MockUpstreams]:
    """Mocks on their own loop in a thread, so synchronous Hypothesis tests can reuse one across examples."""
    loop = asyncio.new_event_loop()
    mocks = MockUpstreams()
    ready = threading.Event()
    stop = asyncio.Event()

    async def run() -> None:
        async with mocks:
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    mocks.loop = loop  # type: ignore[attr-defined]
    yield mocks
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def set_scenario(mocks: MockUpstreams, **request) -> None:
    asyncio.run_coroutine_threadsafe(mocks.set("worker", request), mocks.loop).result(5)  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, raw=st.binary(max_size=64),
       status=st.integers(200, 599).filter(lambda s: s not in (204, 304)))  # HTTP forbids a body there
def test_fixed_serves_exactly_what_it_is_given(threaded_mocks, body, raw, status):
    url = threaded_mocks.worker_url + "/workers/status"
    with httpx.Client(timeout=5) as client:
        set_scenario(threaded_mocks, scenario="fixed", status=status, body=body)
        response = client.get(url)
        assert (response.status_code, json.loads(response.content)) == (status, body)
        set_scenario(threaded_mocks, scenario="fixed", raw_base64=base64.b64encode(raw).decode(),
                     content_type="application/octet-stream")
        response = client.get(url)
        assert (response.status_code, response.content) == (200, raw)
