"""`mock record`: a chaotic upstream recorded, replayed by `mock --timeline`, and a server checked against it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from tes_contract.conformance import Options, arun_conformance
from tes_contract.conformance.cli import reference_server_command
from tes_contract.conformance.managed import ManagedServer
from tes_contract.errors import ConfigError
from tes_contract.mocks import MockUpstreams
from tes_contract.mocks.record import observe, record
from tes_contract.mocks.timeline import load_timeline

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 1000.0  # chaos `slow` answers at 0.8 x this; the replay is polled with 1.5 x, so it is not late


async def _poll(url: str, n: int, timeout_ms: float) -> list[dict]:
    async with aiohttp.ClientSession() as session:
        return [await observe(session, url, timeout_ms) for _ in range(n)]


async def test_a_chaos_day_recorded_is_replayed_answer_for_answer():
    async with MockUpstreams(seed=5, client_timeout_ms=TIMEOUT_MS, worker={"scenario": "chaos", "seed": 5}) as mocks:
        document = await record("worker", mocks.worker_url, polls=14, interval_s=0, timeout_ms=TIMEOUT_MS)
    phases = document["upstreams"]["worker"]["phases"]
    kinds = {p["scenario"] if p["scenario"] != "fixed" else f"fixed {p['status']}" for p in phases}
    assert len(kinds) >= 3, kinds  # chaos: answers, failures and faults, not one thing
    load_timeline(document)  # `mock --timeline` accepts what `mock record` wrote
    async with MockUpstreams(client_timeout_ms=TIMEOUT_MS, timeline=document) as replay:
        seen = await _poll(replay.worker_url, len(phases), TIMEOUT_MS * 1.5)
    for recorded, replayed in zip(phases, seen, strict=True):
        if recorded["scenario"] == "fixed":
            assert replayed["scenario"] == "fixed", (recorded, replayed)
            same = ("status", "body", "raw", "raw_base64", "content_type")
            assert {k: replayed.get(k) for k in same} == {k: recorded.get(k) for k in same}
            assert replayed["delay_ms"] >= recorded["delay_ms"] * 0.9  # the latency is replayed too
        else:
            assert replayed["scenario"] == recorded["scenario"], (recorded, replayed)


async def test_record_refuses_bad_options_and_names_them():
    with pytest.raises(ConfigError, match="--target"):
        await record("worker", "localhost:3003", polls=1, interval_s=0, timeout_ms=100)
    with pytest.raises(ConfigError, match="--polls"):
        await record("worker", "http://127.0.0.1:9", polls=0, interval_s=0, timeout_ms=100)


async def _cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tes_contract", "mock", *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode()


async def test_record_cli_then_replay_cli_then_conform_url_against_a_server_using_it(tmp_path):
    out = tmp_path / "bad-day.json"
    async with MockUpstreams(seed=3, client_timeout_ms=TIMEOUT_MS, worker={"scenario": "chaos", "seed": 3}) as mocks:
        code, text = await _cli("record", "--target", mocks.worker_url, "--polls", "8", "--interval-ms", "0",
                                "--timeout-ms", str(TIMEOUT_MS), "--repeat", "--out", str(out))
    assert code == 0, text
    assert "poll 8:" in text and "timeline written" in text
    assert json.loads(out.read_text())["upstreams"]["worker"]["repeat"] is True
    replay = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tes_contract", "mock", "--timeline", str(out), "--tmux-port", "0", "--worker-port",
        "0", "--control-port", "0", "--client-timeout-ms", str(TIMEOUT_MS), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert replay.stdout is not None
        urls = {}
        while len(urls) < 3:
            line = (await asyncio.wait_for(replay.stdout.readline(), 30)).decode()
            assert line, "mock --timeline exited before printing its URLs"
            name, _, url = line.strip().partition(": ")
            urls[name] = url
        env = {"TES_TMUX_STATUS_URL": urls["tmux"], "TES_WORKER_API_URL": urls["worker"],
               "TES_UPSTREAM_TIMEOUT_MS": str(int(TIMEOUT_MS))}
        async with ManagedServer(reference_server_command(), env, name="replay", cwd=str(ROOT)) as server:
            result = await arun_conformance(Options(url=server.url, groups=("http",), examples=3,
                                                    timeout_ms=TIMEOUT_MS))
        assert result.exchanges > 5 and result.exit_code == 0, [f.as_dict() for f in result.failures]
    finally:
        replay.terminate()
        await asyncio.wait_for(replay.wait(), 30)
