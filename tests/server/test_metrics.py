"""The reference server's /api/dev/metrics over a real socket: families, counting, upstream outcomes, isolation."""

from __future__ import annotations

import aiohttp
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from tes_contract.contract.clauses.metrics import FAMILIES


async def _scrape(http: aiohttp.ClientSession, base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with http.get(f"{base}/api/dev/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_every_family_of_the_contract_is_exposed(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/api/dev/status") as response:
        await response.read()
    async with http.get(f"{base}/api/dev/metrics") as response:
        text = await response.text()
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    for family in FAMILIES:
        assert types.get(family.name.removesuffix("_total")) == family.type, family.name
    samples = await _scrape(http, base)
    assert samples[("tes_traffic_mode", (("mode", "normal"),))] == 1.0
    assert samples[("tes_traffic_mode", (("mode", "isolated"),))] == 0.0
    assert samples[("tes_telemetry_status", (("status", "healthy"),))] == 1.0
    assert samples[("tes_tmux_sessions", ())] == 2.0 and samples[("tes_active_workers", ())] == 3.0
    assert samples[("tes_upstream_up", (("upstream", "worker"),))] == 1.0
    assert samples[("tes_upstream_requests_total", (("outcome", "ok"), ("upstream", "tmux")))] == 1.0
    assert samples[("tes_status_info", (("region", "us-east-1"), ("version", "2.0")))] == 1.0
    assert samples[("process_resident_memory_bytes", ())] > 0


async def test_requests_are_counted_by_route_template_and_the_scrape_by_the_next(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    before = await _scrape(http, base)
    for path in ("/api/dev/status", "/api/dev/status", "/no/such/path", "/another/unknown"):
        async with http.get(f"{base}{path}") as response:
            await response.read()
    async with http.delete(f"{base}/api/dev/status") as response:
        assert response.status == 405
    after = await _scrape(http, base)

    def grew(method: str, route: str, code: str) -> float:
        key = ("tes_http_requests_total", (("code", code), ("method", method), ("route", route)))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("GET", "/api/dev/status", "200") == 2
    assert grew("GET", "unmatched", "404") == 2
    assert grew("DELETE", "/api/dev/status", "405") == 1
    assert grew("GET", "/api/dev/metrics", "200") == 1  # the first scrape, counted by the second
    assert not any(k[0] == "tes_http_requests_total" and ("route", "/no/such/path") in k[1] for k in after)


async def test_upstream_outcomes_and_up_follow_the_calls(start_server, tiny_upstream, closed_port_url, http):
    tiny_upstream.set("worker", body={"connected": True, "workers": []})  # a boolean is no integer: invalid
    base = await start_server(tmux_status_url=f"{closed_port_url}/api/dev/tmux/status",
                              worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/api/dev/status") as response:
        await response.read()
    samples = await _scrape(http, base)
    assert samples[("tes_upstream_requests_total", (("outcome", "refused"), ("upstream", "tmux")))] == 1.0
    assert samples[("tes_upstream_requests_total", (("outcome", "invalid"), ("upstream", "worker")))] == 1.0
    assert samples[("tes_upstream_up", (("upstream", "tmux"),))] == 0.0
    assert samples[("tes_upstream_up", (("upstream", "worker"),))] == 0.0
    assert samples[("tes_telemetry_status", (("status", "degraded"),))] == 1.0


async def test_two_apps_in_one_process_count_apart(start_server, tiny_upstream, http):
    first = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    second = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    for _ in range(3):
        async with http.get(f"{first}/api/dev/status") as response:
            await response.read()
    samples = await _scrape(http, second)
    assert ("tes_http_requests_total", (("code", "200"), ("method", "GET"), ("route", "/api/dev/status"))) \
        not in samples


async def test_openmetrics_when_asked(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/api/dev/metrics", headers={"Accept": "application/openmetrics-text"}) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    assert text.endswith("# EOF\n")
    assert "tes_traffic_mode" in {f.name for f in parse_openmetrics(text)}


def test_docs_metrics_md_carries_the_contracts_table():
    from pathlib import Path

    from tes_contract.contract.clauses.metrics import families_table

    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert families_table() in text, "stale: paste families_table() into docs/metrics.md"
