"""Timelines: phases run in order by count and by time; bad files fail at load with the line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tes_contract.errors import ConfigError
from tes_contract.mocks import MockUpstreams
from tes_contract.mocks.timeline import load_timeline, parse_timeline

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((ROOT / "mocks").glob("*.yaml")), ids=lambda p: p.name)
def test_example_timelines_load(path):
    timeline = load_timeline(path)
    assert timeline.tracks and all(timeline.tracks.values())


def test_short_form_means_count_and_time():
    timeline = parse_timeline("upstreams:\n  worker: [healthy x3, hang 10s, slow 250ms, healthy]\n")
    phases = timeline.tracks["worker"]
    assert [(p.scenario.name, p.requests, p.seconds) for p in phases] == [
        ("healthy", 3, None), ("hang", None, 10.0), ("slow", None, 0.25), ("healthy", None, None)]


async def test_phases_by_request_count_run_in_order():
    document = {"upstreams": {"worker": ["healthy x2", {"scenario": "http_error", "status": 503, "requests": 3},
                                         "healthy"]}}
    async with MockUpstreams(timeline=document) as mocks, httpx.AsyncClient(timeout=1) as client:
        statuses = [(await client.get(mocks.worker_url + "/workers/status")).status_code for _ in range(7)]
        phases = [e["decision"]["phase"] for e in await mocks.journal("worker")]
    assert statuses == [200, 200, 503, 503, 503, 200, 200]
    assert phases == [0, 0, 1, 1, 1, 2, 2]


async def test_phases_by_time_run_in_order_and_down_closes_the_listener():
    document = {"upstreams": {"tmux": ["http_error 1s", "down 0.5s", "healthy"]}}
    started = time.monotonic()
    async with MockUpstreams(timeline=document) as mocks, httpx.AsyncClient(timeout=1) as client:
        assert (await client.get(mocks.tmux_url)).status_code == 500
        down_at = await until(lambda: not mocks.mocks["tmux"].listening)
        with pytest.raises(httpx.ConnectError):
            await client.get(mocks.tmux_url)
        up_at = await until(lambda: mocks.mocks["tmux"].listening)
        assert (await client.get(mocks.tmux_url)).status_code == 200
        assert [e["decision"]["phase"] for e in await mocks.journal("tmux")] == [0, 2]
    # Lower bounds only: a busy machine may run the timers late, never early.
    assert down_at - started >= 1.0 - 0.02 and up_at - down_at >= 0.5 - 0.02


async def until(condition, within_s: float = 5.0) -> float:
    """Poll until the condition holds; return the monotonic time it was seen."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.01)
    return time.monotonic()


async def test_repeat_loops_and_setting_by_hand_stops_the_track():
    document = {"upstreams": {"worker": {"repeat": True, "phases": ["healthy x1", "empty x1"]}}}
    async with MockUpstreams(timeline=document) as mocks, httpx.AsyncClient(timeout=1) as client:
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append((await client.get(mocks.worker_url + "/workers/status")).status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("closed")
        await mocks.set("worker", "http_error")
        after = [(await client.get(mocks.worker_url + "/workers/status")).status_code for _ in range(3)]
    assert outcomes == [200, "closed", 200, "closed"]
    assert after == [500, 500, 500]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("upstreams:\n  worker:\n    - healthy x3\n    - hangg 10s\n", 4, "unknown scenario 'hangg'"),
    ("upstreams:\n  worker:\n    - healthy x3\n    - {scenario: slow, delay: soon}\n", 4, "parameter 'delay'"),
    ("upstreams:\n  worker:\n    - healthy\n    - hang\n", 3, "never ends"),
    ("upstreams:\n  worker:\n    - down x2\n    - healthy\n", 3, "cannot end by request count"),
    ("upstreams:\n  tmux: []\n", 2, "should be non-empty"),
    ("seed: 1\nupstreams:\n  radio:\n    - healthy\n", 3, "radio"),
    ("upstreams:\n  worker:\n    - healthy for a while\n", 3, "healthy for a while"),
    ("upstreams:\n  worker: [healthy\n", 3, "not YAML"),
    ("upstreams:\n  worker:\n    - {scenario: healthy, requests: 2, seconds: 1}\n    - hang\n", 3, "not both"),
])
def test_bad_timelines_are_rejected_with_line_and_reason(tmp_path, text, line, reason):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_timeline(path)
    assert f"{path}:{line}:" in str(caught.value)
    assert reason in str(caught.value)
