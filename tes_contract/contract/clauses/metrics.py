"""The clauses of the `metrics` profile: Prometheus exposition at `/api/dev/metrics`.

`FAMILIES` is the machine-readable table of METRICS-NAMES: the checks read it to judge a scrape, the
docs render it, and the reference server registers exactly these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from tes_contract.contract.clauses.base import Clause

METRICS_PATH = "/api/dev/metrics"
#: The `route` value of a request no route serves (METRICS-CARDINALITY).
UNMATCHED_ROUTE = "unmatched"
UPSTREAM_OUTCOMES = ("ok", "http_error", "invalid", "timeout", "refused", "reset", "error")
TRAFFIC_MODES = ("normal", "degraded", "isolated")
TELEMETRY_STATUSES = ("healthy", "degraded", "offline")


@dataclass(frozen=True)
class MetricFamily:
    """One family the exposition must carry: name, Prometheus type, exact label names, and what it means.

    `values`: label -> the values that label may take (closed sets); `complete`: every value of the first
    label has a series; `one_hot`: a state gauge, exactly one series at 1 (the current), the others 0.
    """

    name: str
    type: str
    labels: tuple[str, ...]
    meaning: str
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    complete: bool = False
    one_hot: bool = False


_f = MetricFamily

FAMILIES: tuple[MetricFamily, ...] = (
    _f("tes_http_requests_total", "counter", ("method", "route", "code"),
       "HTTP requests answered; `route` is the route template (e.g. `/api/dev/workers/{id}/snapshot`), "
       f"`{UNMATCHED_ROUTE}` for any path no route serves"),
    _f("tes_http_request_duration_seconds", "histogram", ("method", "route"), "HTTP request duration"),
    _f("tes_http_requests_in_flight", "gauge", (), "HTTP requests in flight"),
    _f("tes_upstream_requests_total", "counter", ("upstream", "outcome"),
       "upstream calls by outcome (`ok`, `http_error`, `invalid`, `timeout`, `refused`, `reset`, `error`)",
       (("upstream", ("tmux", "worker")), ("outcome", UPSTREAM_OUTCOMES))),
    _f("tes_upstream_request_duration_seconds", "histogram", ("upstream",), "upstream call duration",
       (("upstream", ("tmux", "worker")),)),
    _f("tes_upstream_up", "gauge", ("upstream",), "1 when the upstream's last call answered 2xx with a valid "
       "body, else 0", (("upstream", ("tmux", "worker")),), complete=True),
    _f("tes_traffic_mode", "gauge", ("mode",), "1 for the current trafficMode, 0 for the others",
       (("mode", TRAFFIC_MODES),), complete=True, one_hot=True),
    _f("tes_telemetry_status", "gauge", ("status",), "1 for the current telemetryStatus, 0 for the others",
       (("status", TELEMETRY_STATUSES),), complete=True, one_hot=True),
    _f("tes_error_rate", "gauge", (), "the status's errorRate (60 s window)"),
    _f("tes_avg_latency_seconds", "gauge", (), "the status's avgLatency, in seconds"),
    _f("tes_requests_per_second", "gauge", (), "the status's requestsPerSecond"),
    _f("tes_tmux_sessions", "gauge", (), "the status's tmux"),
    _f("tes_active_workers", "gauge", (), "the status's activeWorkers"),
    _f("tes_websocket_connections", "gauge", (), "the status's websocketConnections"),
    _f("tes_status_info", "gauge", ("version", "region"), "value 1; `version` 2.0, `region` the primaryRegion",
       (("version", ("2.0",)),)),
)
FAMILY_BY_NAME: dict[str, MetricFamily] = {f.name: f for f in FAMILIES}


def families_table() -> str:
    """The METRICS-NAMES table in markdown, as docs/contract.md and docs/metrics.md show it."""
    rows = "".join(f"| `{f.name}` | {f.type} | {', '.join(f'`{x}`' for x in f.labels) or '—'} | {f.meaning} |\n"
                   for f in FAMILIES)
    return "| family | type | labels | meaning |\n| --- | --- | --- | --- |\n" + rows


_c = Clause

CLAUSES: tuple[Clause, ...] = (
    _c("METRICS-EXPOSITION", "metrics", "Prometheus text exposition",
       f"`GET {METRICS_PATH}` answers Prometheus text exposition format 0.0.4 "
       "(`Content-Type: text/plain; version=0.0.4`), parseable by a Prometheus parser; OpenMetrics text "
       "(`application/openmetrics-text`, ending in `# EOF`) when the request's `Accept` asks for it.",
       "Parse the body with prometheus_client's text parser; ask again with `Accept: "
       "application/openmetrics-text` and parse with its OpenMetrics parser."),
    _c("METRICS-LINT", "metrics", "Exposition passes promtool",
       "The exposition passes `promtool check metrics` with no problem reported: HELP on every family, "
       "counters end in `_total` (and only counters), base units (seconds, bytes), snake_case names.",
       "Run `promtool check metrics` on a scrape when promtool is on PATH; otherwise apply the same rules."),
    _c("METRICS-NAMES", "metrics", "The families, types and labels",
       "These families exist with exactly this type and these label names (one alert-rule file and one "
       "dashboard serve every implementation); the state gauges carry a series for every value, 1 for the "
       "current and 0 for the others:\n\n" + families_table()
       + "\nThe table is `tes_contract.contract.clauses.metrics.FAMILIES`, machine-readable.",
       "Parse a scrape; compare each family's type and every sample's label names and values to the table."),
    _c("METRICS-COUNT", "metrics", "Request counter follows the traffic",
       "With the harness as the only client, the increase of `tes_http_requests_total` between two scrapes "
       "equals the requests sent in between, per `route` and `code`, the earlier scrape counted by the "
       "later one (and not by itself).",
       "Scrape, send known requests (status, unknown paths, other methods), scrape again; compare the "
       "increase per (route, code) with the harness's ledger."),
    _c("METRICS-AGREE", "metrics", "Gauges agree with the status",
       "A scrape right after a status answer agrees with it on trafficMode, telemetryStatus, tmux and "
       "activeWorkers, `tes_avg_latency_seconds` is avgLatency in seconds, and `tes_upstream_up` follows "
       "the upstream: 1 after a 2xx with a valid body, else 0.",
       "For healthy, down and invalid-body upstream scenarios: GET the status, then scrape; compare."),
    _c("METRICS-CARDINALITY", "metrics", "Bounded route label",
       f"Requests to paths no route serves are counted under `route=\"{UNMATCHED_ROUTE}\"`: 1,000 requests "
       "to distinct unknown paths add at most one `route` value.",
       "Scrape, send requests to distinct unknown paths, scrape again; count the new `route` values."),
)
