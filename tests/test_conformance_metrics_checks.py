"""The metrics checks on expositions written by hand: each passes the correct text and catches its defect."""

from __future__ import annotations

import shutil

from tes_contract.conformance.checks.metrics import (
    lint_problems,
    metrics_agree_with_status,
    metrics_families_match_contract,
    metrics_parse_as_prometheus_text,
    metrics_pass_promtool,
    parse_scrape,
    requests_counted_between_scrapes,
    unknown_paths_add_one_route,
)
from tes_contract.conformance.model import Exchange


def _text(*, counter: str = "tes_http_requests_total", requests: dict[tuple[str, str], int] | None = None,
          modes: tuple[str, ...] = ("normal", "degraded", "isolated"), up: int = 1,
          latency_name: str = "tes_avg_latency_seconds", latency: float = 0.002) -> str:
    """A correct exposition of every family (the knobs make one defect at a time)."""
    requests = requests if requests is not None else {("/api/dev/status", "200"): 3}
    lines = [f"# HELP {counter} HTTP requests", f"# TYPE {counter} counter"]
    lines += [f'{counter}{{method="GET",route="{r}",code="{c}"}} {n}' for (r, c), n in requests.items()]
    lines += ["# HELP tes_http_request_duration_seconds d", "# TYPE tes_http_request_duration_seconds histogram",
              'tes_http_request_duration_seconds_bucket{method="GET",route="/api/dev/status",le="+Inf"} 3',
              'tes_http_request_duration_seconds_sum{method="GET",route="/api/dev/status"} 0.01',
              'tes_http_request_duration_seconds_count{method="GET",route="/api/dev/status"} 3',
              "# HELP tes_upstream_requests_total u", "# TYPE tes_upstream_requests_total counter",
              'tes_upstream_requests_total{upstream="tmux",outcome="ok"} 1',
              "# HELP tes_upstream_request_duration_seconds u",
              "# TYPE tes_upstream_request_duration_seconds histogram",
              'tes_upstream_request_duration_seconds_bucket{upstream="tmux",le="+Inf"} 1',
              'tes_upstream_request_duration_seconds_sum{upstream="tmux"} 0.001',
              'tes_upstream_request_duration_seconds_count{upstream="tmux"} 1',
              "# HELP tes_upstream_up u", "# TYPE tes_upstream_up gauge",
              f'tes_upstream_up{{upstream="tmux"}} {up}', f'tes_upstream_up{{upstream="worker"}} {up}',
              "# HELP tes_traffic_mode m", "# TYPE tes_traffic_mode gauge"]
    lines += [f'tes_traffic_mode{{mode="{m}"}} {int(m == "normal")}' for m in modes]
    lines += ["# HELP tes_telemetry_status s", "# TYPE tes_telemetry_status gauge"]
    lines += [f'tes_telemetry_status{{status="{s}"}} {int(s == "healthy")}' for s in ("healthy", "degraded", "offline")]
    for name, value in (("tes_http_requests_in_flight", 1), ("tes_error_rate", 0), (latency_name, latency),
                        ("tes_requests_per_second", 1), ("tes_tmux_sessions", 3), ("tes_active_workers", 4),
                        ("tes_websocket_connections", 0)):
        lines += [f"# HELP {name} g", f"# TYPE {name} gauge", f"{name} {value}"]
    lines += ["# HELP tes_status_info i", "# TYPE tes_status_info gauge",
              'tes_status_info{version="2.0",region="us-east-1"} 1']
    return "\n".join(lines) + "\n"


def _exchange(text: str, content_type: str = "text/plain; version=0.0.4; charset=utf-8") -> Exchange:
    return Exchange("GET", "http://127.0.0.1:1/api/dev/metrics", 0.0, 0.0, 200, [("Content-Type", content_type)], text)


def test_a_correct_exposition_passes_every_check():
    text = _text()
    assert list(metrics_parse_as_prometheus_text(_exchange(text))) == []
    assert lint_problems(text) == []
    assert list(metrics_families_match_contract(text)) == []


def test_exposition_needs_the_0_0_4_content_type_and_parseable_text():
    assert list(metrics_parse_as_prometheus_text(_exchange(_text(), "application/json")))
    assert list(metrics_parse_as_prometheus_text(_exchange("tes_x one\n")))


def test_a_counter_without_total_fails_lint_and_names():
    text = _text(counter="tes_http_requests")
    assert any("_total" in p for p in lint_problems(text))
    assert any("tes_http_requests_total" in f.observed for f in metrics_families_match_contract(text))
    if shutil.which("promtool"):  # the real tool agrees with the harness's rules
        import subprocess

        run = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert run.returncode != 0 and "_total" in run.stdout + run.stderr
        assert list(metrics_pass_promtool(text, (run.returncode, run.stdout + run.stderr)))


def test_a_prefixed_unit_fails_lint_and_a_state_gauge_needs_every_value():
    assert any("base unit" in p for p in lint_problems(_text(latency_name="tes_avg_latency_milliseconds")))
    failures = list(metrics_families_match_contract(_text(modes=("normal",))))
    assert failures and "degraded" in failures[0].observed


def test_count_compares_the_increase_per_route_and_code_with_what_was_sent():
    before = parse_scrape(_text(requests={("/api/dev/status", "200"): 3, ("/api/dev/metrics", "200"): 1}))
    sent = [Exchange("GET", f"http://h:1{path}", 0, 0, code)
            for path, code in (("/api/dev/metrics", 200), ("/api/dev/status", 200), ("/nope", 404))]
    good = parse_scrape(_text(requests={("/api/dev/status", "200"): 4, ("/api/dev/metrics", "200"): 2,
                                        ("unmatched", "404"): 1}))
    routes = ("/api/dev/status", "/api/dev/metrics")
    assert list(requests_counted_between_scrapes(before, good, sent, routes)) == []
    uncounted = parse_scrape(_text(requests={("/api/dev/status", "200"): 4, ("/api/dev/metrics", "200"): 1,
                                             ("unmatched", "404"): 1}))
    assert list(requests_counted_between_scrapes(before, uncounted, sent, routes))
    twice = parse_scrape(_text(requests={("/api/dev/status", "200"): 4, ("/api/dev/metrics", "200"): 3,
                                         ("unmatched", "404"): 1}))
    assert list(requests_counted_between_scrapes(before, twice, sent, routes))


def test_cardinality_allows_one_new_route_value():
    before = parse_scrape(_text())
    one = parse_scrape(_text(requests={("/api/dev/status", "200"): 3, ("unmatched", "404"): 1000}))
    raw = parse_scrape(_text(requests={("/api/dev/status", "200"): 3, ("/x/1", "404"): 1, ("/x/2", "404"): 1}))
    assert list(unknown_paths_add_one_route(before, one, 1000)) == []
    assert list(unknown_paths_add_one_route(before, raw, 2))


def test_agree_compares_modes_counts_up_and_latency_units():
    body = {"vector": {"sessions": {"tmux": 3, "activeWorkers": 4},
                       "directions": {"trafficMode": "normal", "requestFlow": {"avgLatency": 2.0}}},
            "meta": {"telemetryStatus": "healthy"}}
    status = Exchange("GET", "http://h:1/api/dev/status", 0, 0, 200, body=body)
    assert list(metrics_agree_with_status(status, parse_scrape(_text()), {"tmux": 1, "worker": 1})) == []
    stuck = list(metrics_agree_with_status(status, parse_scrape(_text()), {"tmux": 1, "worker": 0}))
    assert stuck and "worker" in stuck[0].expected
    assert list(metrics_agree_with_status(status, parse_scrape(_text(latency=2.0)), {"tmux": 1, "worker": 1}))
