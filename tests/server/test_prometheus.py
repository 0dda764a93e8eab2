"""The ecosystem with the real tools: promtool judges the alert rules, a real Prometheus scrapes the server.

promtool and prometheus come from Debian's `prometheus` package (.ci/run installs it). These tests fail,
never skip, without them. The Prometheus server listens on loopback only, keeps its data in a temporary
directory, and is stopped in `finally` whatever happens; the whole test is bounded by DEADLINE_S.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

from tes_contract.conformance.managed import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
RULES = ROOT / "prometheus" / "tes-alerts.yml"
RULE_TESTS = ROOT / "prometheus" / "tes-alerts.test.yml"
DEADLINE_S = 60.0
SENT = 60  # status requests the test sends, at about RATE a second
RATE = 20.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"`{name}` is required (apt-get install prometheus; .ci/run installs it)"
    return path


def test_alert_rules_pass_promtool_check_and_their_unit_tests():
    check = subprocess.run([_tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0 and "SUCCESS: 5 rules found" in check.stdout, check.stdout + check.stderr
    test = subprocess.run([_tool("promtool"), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True,
                          timeout=120, cwd=RULE_TESTS.parent)
    assert test.returncode == 0 and "SUCCESS" in test.stdout, test.stdout + test.stderr



async def _query(http: aiohttp.ClientSession, api: str, query: str, at: float | None = None) -> list[dict[str, Any]]:
    params = {"query": query, **({"time": f"{at:.3f}"} if at is not None else {})}
    async with http.get(f"{api}/api/v1/query", params=params) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def _until(what: str, probe: Any, deadline: float) -> Any:
    while True:
        found = await probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"Prometheus never showed {what} within {DEADLINE_S:g} s"
        await asyncio.sleep(0.25)


async def test_a_real_prometheus_scrapes_the_reference_server(start_server, tiny_upstream, http, tmp_path):
    deadline = time.monotonic() + DEADLINE_S
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    target = base.split("://", 1)[1]
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "tes", "metrics_path": "/api/dev/metrics",
                            "static_configs": [{"targets": [target]}]}],
    }))
    process = subprocess.Popen(
        [_tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    api = f"http://127.0.0.1:{port}"
    try:
        async def scraped() -> list[dict[str, Any]] | None:
            try:
                return [r for r in await _query(http, api, 'up{job="tes"}') if r["value"][1] == "1"]
            except aiohttp.ClientError:
                return None  # not listening yet

        await _until("the target up", scraped, deadline)
        for _ in range(SENT):
            async with http.get(f"{base}/api/dev/status") as response:
                assert response.status == 200
            await asyncio.sleep(1 / RATE)
        sent_until = time.time()

        async def counted() -> list[dict[str, Any]]:
            return [r for r in await _query(http, api, 'tes_http_requests_total{route="/api/dev/status",code="200"}')
                    if float(r["value"][1]) == SENT]

        await _until(f"tes_http_requests_total at {SENT}", counted, deadline)
        modes = {r["metric"]["mode"]: r["value"][1] for r in await _query(http, api, "tes_traffic_mode")}
        assert modes == {"normal": "1", "degraded": "0", "isolated": "0"}
        rate = await _query(http, api, 'rate(tes_http_requests_total{route="/api/dev/status"}[4s])', sent_until)
        per_s = float(rate[0]["value"][1])
        # Sent at about 20/s (less on a busy machine: each request also waits for its answer); a factor of
        # 3 either way survives a loaded CI runner and still tells requests from, say, milliseconds.
        assert RATE / 3 <= per_s <= RATE * 3, f"rate {per_s:.2f}/s, sent at about {RATE:g}/s"
        rules = await _query(http, api, 'ALERTS{alertname="TesUpstreamDown"}')
        assert rules == []  # the alert file loaded in the real server, and healthy upstreams fire nothing
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
