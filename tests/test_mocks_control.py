"""The control API flips running mocks, and answers 400 naming the bad part of a request."""

from __future__ import annotations

import time

import httpx
import pytest

from tes_contract.contract.schemas import validator_for
from tes_contract.mocks import MockControl, MockControlError, parse_scenario


@pytest.fixture
async def api(mock_upstreams):
    async with httpx.AsyncClient(base_url=mock_upstreams.control_url, timeout=5) as client:
        yield client


async def test_put_and_get_scenario_flip_the_mock(mock_upstreams, api):
    put = await api.put("/upstreams/worker/scenario", json={"scenario": "healthy", "connected": 7})
    assert put.status_code == 200 and put.json()["connected"] == 7
    got = (await api.get("/upstreams/worker/scenario")).json()
    validator_for("mock-scenario.json").validate(got)
    assert (got["scenario"], got["connected"], got["listening"], got["port"]) == \
        ("healthy", 7, True, mock_upstreams.worker_port)
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(mock_upstreams.worker_url + "/workers/status")).json()["connected"] == 7
    await api.put("/upstreams/worker/scenario", json={"scenario": "down"})
    assert (await api.get("/upstreams/worker/scenario")).json()["listening"] is False


@pytest.mark.parametrize(("path", "body", "reason"), [
    ("/upstreams/radio/scenario", {"scenario": "hang"}, "unknown upstream 'radio'"),
    ("/upstreams/worker/scenario", {"scenario": "sleepy"}, "unknown scenario 'sleepy'"),
    ("/upstreams/worker/scenario", {"scenario": "hang", "delay_ms": 5}, "unknown parameter 'delay_ms'"),
    ("/upstreams/tmux/scenario", {"scenario": "healthy", "connected": 3}, "unknown parameter 'connected'"),
    ("/upstreams/worker/scenario", {"scenario": "healthy", "connected": True}, "'connected' must be an integer"),
    ("/upstreams/worker/scenario", {"scenario": "slow", "delay": "soon"}, "parameter 'delay'"),
    ("/upstreams/worker/scenario", {"scenario": "http_error", "status": 200}, "'status' must be 400..599"),
    ("/upstreams/worker/scenario", {"scenario": "invalid_shape", "variant": "online_missing"}, "unknown variant"),
    ("/upstreams/worker/scenario", {"scenario": "fixed"}, "exactly one of 'body'"),
    ("/upstreams/worker/scenario", {"scenario": "fixed", "raw": "x", "content_type": "a\r\nb: c"}, "control char"),
    ("/upstreams/worker/scenario", {"scenario": "fixed", "raw": "x", "headers": {"a b": "c"}}, "header names"),
    ("/upstreams/worker/scenario", {"scenario": "fixed", "raw_base64": "%%"}, "base64"),
    ("/upstreams/worker/scenario", {"scenario": "chaos", "weights": {"down": 1}}, "cannot be chosen per request"),
    ("/upstreams/worker/scenario", {"scenario": "flapping", "a": "bogus"}, "unknown scenario 'bogus'"),
    ("/upstreams/worker/scenario", {"connected": 3}, "missing \"scenario\""),
    ("/upstreams/worker/scenario", [1], "must be a JSON object"),
    ("/settings", {"client_timeout_ms": 0}, "client_timeout_ms must be a number > 0"),
    ("/settings", {"timeout": 5}, "unknown setting 'timeout'"),
])
async def test_bad_requests_get_400_naming_the_bad_part(mock_upstreams, api, path, body, reason):
    before = await mock_upstreams.get("worker")
    response = await api.put(path, json=body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    validator_for("error").validate(response.json())
    assert await mock_upstreams.get("worker") == before  # nothing changed


async def test_unknown_paths_and_methods_answer_json(api):
    missing = await api.get("/nowhere")
    wrong = await api.post("/upstreams/worker/scenario", json={"scenario": "hang"})
    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert "GET" in wrong.headers["allow"] and "PUT" in wrong.headers["allow"]
    validator_for("error").validate(missing.json())
    validator_for("error").validate(wrong.json())


async def test_body_that_is_not_json_gets_400(api):
    response = await api.put("/upstreams/worker/scenario", content=b"{nope")
    assert response.status_code == 400 and "not JSON" in response.json()["error"]


async def test_journal_get_and_delete_and_reset(mock_upstreams, api):
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(3):
            await client.get(mock_upstreams.tmux_url)
    journal = (await api.get("/upstreams/tmux/journal")).json()
    assert journal["upstream"] == "tmux" and [e["seq"] for e in journal["entries"]] == [1, 2, 3]
    for entry in journal["entries"]:
        validator_for("mock-journal-entry.json").validate(entry)
    assert (await api.delete("/upstreams/tmux/journal")).json() == {"upstream": "tmux", "cleared": 3}
    assert (await api.get("/upstreams/tmux/journal")).json()["entries"] == []
    await api.put("/upstreams/tmux/scenario", json={"scenario": "zero"})
    await api.put("/settings", json={"client_timeout_ms": 250})
    reset = await api.post("/reset")
    assert reset.status_code == 200 and reset.json()["upstreams"]["tmux"]["scenario"] == "healthy"
    assert (await api.get("/settings")).json()["client_timeout_ms"] == mock_upstreams.mock_settings.client_timeout_ms
    assert (await api.get("/upstreams/radio/journal")).status_code == 400


async def test_settings_drive_fractional_delays(mock_upstreams, api):
    assert (await api.put("/settings", json={"client_timeout_ms": 400})).json()["client_timeout_ms"] == 400
    await api.put("/upstreams/worker/scenario", json={"scenario": "slow", "delay": "0.5x"})
    async with httpx.AsyncClient(timeout=5) as client:
        started = time.monotonic()
        await client.get(mock_upstreams.worker_url + "/workers/status")
    assert 0.19 <= time.monotonic() - started < 1.0


async def test_mock_control_client_has_the_same_verbs(mock_upstreams, mock_control):
    assert (await mock_control.urls()) == await mock_upstreams.urls()
    assert (await mock_control.set("worker", "http_error", status=502))["status"] == 502
    assert (await mock_control.get("worker"))["scenario"] == "http_error"
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(mock_upstreams.worker_url + "/workers/status")).status_code == 502
    [entry] = await mock_control.journal("worker")
    assert entry["status"] == 502
    assert await mock_control.clear_journal("worker") == 1
    await mock_control.set_client_timeout(1234)
    assert mock_upstreams.mock_settings.client_timeout_ms == 1234
    await mock_control.run_timeline({"upstreams": {"tmux": ["zero x1", "http_error"]}})
    assert (await mock_control.get("tmux"))["phase"] == 0
    await mock_control.reset()
    assert (await mock_control.get("worker"))["scenario"] == "healthy"
    with pytest.raises(MockControlError, match="unknown scenario 'nap'"):
        await mock_control.set("tmux", "nap")


async def test_mock_control_error_when_unreachable():
    async with MockControl("http://127.0.0.1:9", timeout_s=1) as control:
        with pytest.raises(MockControlError, match="unreachable"):
            await control.get("tmux")


def test_every_schema_example_of_scenario_requests_parses():
    validator = validator_for("mock-scenario.json")
    for example in validator.schema["examples"]:
        validator.validate(example)
        assert parse_scenario("worker", example).name == example["scenario"]
