"""The clause list: well-formed ids, every family and profile used, every pinned decision of the brief present."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tes_contract.contract.clauses import BY_ID, CLAUSE_IDS, CLAUSES, FAMILIES, PROFILES, clause, family_of

ROOT = Path(__file__).resolve().parent.parent
ID_SHAPE = re.compile(r"^[A-Z]+(?:-[A-Z0-9]+)+$")
# Anything in the spec files that looks like a clause id of one of our families.
CITED = re.compile(r"\b(?:STATUS|UPSTREAM|TIMEOUT|CONFIG|ERROR|SERVER|LIVE|DEV|METRICS)-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")


def test_ids_are_unique_and_well_formed():
    ids = [c.id for c in CLAUSES]
    assert len(ids) == len(set(ids)) == len(CLAUSE_IDS) == len(BY_ID)
    assert [i for i in ids if not ID_SHAPE.match(i)] == []


def test_every_clause_has_a_known_profile_a_family_and_text():
    for c in CLAUSES:
        assert c.profile in PROFILES, c.id
        assert family_of(c.id) in dict(FAMILIES), c.id
        assert c.title and c.must.endswith(".") and c.observed.endswith("."), c.id


def test_every_profile_and_family_has_clauses():
    assert {c.profile for c in CLAUSES} == set(PROFILES)
    assert {family_of(c.id) for c in CLAUSES} == {prefix for prefix, _ in FAMILIES}


def test_family_is_the_longest_prefix():
    assert family_of("STATUS-INV-ROUTES-EQUAL") == "STATUS-INV"
    assert family_of("UPSTREAM-TMUX-VALID") == "UPSTREAM"
    with pytest.raises(ValueError, match="NOPE-1"):
        family_of("NOPE-1")


def test_clause_lookup_names_an_unknown_id():
    assert clause("STATUS-HDR-3").title == "Version header"
    with pytest.raises(KeyError, match="STATUS-HDR-9"):
        clause("STATUS-HDR-9")


@pytest.mark.parametrize("path", [*sorted((ROOT / "schemas").glob("*.json")), ROOT / "openapi.yaml",
                                  ROOT / "upstreams.openapi.yaml"], ids=lambda p: p.name)
def test_spec_files_cite_only_real_clauses(path: Path):
    cited = set(CITED.findall(path.read_text(encoding="utf-8")))
    assert cited - CLAUSE_IDS == set()


def test_every_schema_description_with_a_clause_prefix_names_a_real_clause():
    prefix = re.compile(r"^([A-Z]+(?:-[A-Z0-9]+)+):")

    def descriptions(node):
        if isinstance(node, dict):
            if isinstance(node.get("description"), str):
                yield node["description"]
            for value in node.values():
                yield from descriptions(value)
        elif isinstance(node, list):
            for value in node:
                yield from descriptions(value)

    seen = set()
    for path in (ROOT / "schemas").glob("*.json"):
        for text in descriptions(json.loads(path.read_text(encoding="utf-8"))):
            match = prefix.match(text)
            if match:
                seen.add(match.group(1))
    assert seen and seen <= CLAUSE_IDS


# Every decision BRIEF.md pins ("Contract decisions (v2.0)", configuration, profiles), with the clause that
# pins it and words its `must` has to say. Adding a decision to the brief means adding a row here.
PINNED = [
    ("status 200", "STATUS-HTTP-1", "200"),
    ("Content-Type application/json, charset may follow", "STATUS-HDR-1", "application/json"),
    ("Cache-Control contains no-cache", "STATUS-HDR-2", "no-cache"),
    ("X-TES-Status-Version exactly 2.0", "STATUS-HDR-3", "exactly `2.0`"),
    ("closed objects except websocketSubscribers", "STATUS-SCHEMA-1", "websocketSubscribers"),
    ("a JSON boolean is not an integer", "STATUS-SCHEMA-1", "boolean is not an integer"),
    ("other methods 405 with Allow listing GET", "STATUS-HTTP-2", "405"),
    ("query parameters ignored", "STATUS-HTTP-3", "Query parameters"),
    ("timestamp RFC 3339 UTC, milliseconds, Z", "STATUS-FIELD-TIMESTAMP", "three fractional digits"),
    ("tmux counts sessions, 0 when upstream fails", "STATUS-FIELD-TMUX", "not panes"),
    ("activeWorkers is connected, 0 on failure", "STATUS-FIELD-WORKERS", "`connected`"),
    ("apiSessions counts the request being answered", "STATUS-FIELD-APISESSIONS", ">= 1"),
    ("websocketConnections open WebSockets", "STATUS-FIELD-WS", "WebSocket"),
    ("primaryRegion from TES_PRIMARY_REGION else us-east-1", "STATUS-FIELD-REGION", "us-east-1"),
    ("trafficMode boundaries", "STATUS-FIELD-TRAFFICMODE", "0.10 <= errorRate <= 0.50"),
    ("totalRoutes registered routes", "STATUS-FIELD-ROUTES", "(method, path)"),
    ("avgLatency ms, completed in 60 s", "STATUS-FIELD-LATENCY", "last 60 s"),
    ("requestsPerSecond over min(60, uptime)", "STATUS-FIELD-RPS", "min(60, uptime)"),
    ("memory bytes > 0", "STATUS-FIELD-MEMORY", "(> 0)"),
    ("cpu cumulative ms integer", "STATUS-FIELD-CPU", "milliseconds"),
    ("errorRate >= 500 over all, 60 s, 0 when none", "STATUS-FIELD-ERRORRATE", "status >= 500"),
    ("uptime seconds never decreasing", "STATUS-FIELD-UPTIME", "never decreases"),
    ("totalEndpoints >= 1", "STATUS-FIELD-ENDPOINTS", ">= 1"),
    ("telemetryStatus healthy/degraded/offline", "STATUS-FIELD-TELEMETRY", "`offline`"),
    ("statusVersion 2.0 equal to header", "STATUS-FIELD-VERSION", "X-TES-Status-Version"),
    ("healthy iff activeWorkers > 0, one upstream call", "STATUS-INV-TELEMETRY", "one upstream call"),
    ("trafficMode matches errorRate", "STATUS-INV-TRAFFIC", "errorRate"),
    ("activeRoutes <= totalRoutes", "STATUS-INV-ROUTES", "<="),
    ("directions.activeRoutes == requestFlow.activeRoutes", "STATUS-INV-ROUTES-EQUAL", "=="),
    ("body version equals header", "STATUS-INV-VERSION", "header"),
    ("timestamp, uptime, cpu never decrease", "STATUS-MONO-1", "never decrease"),
    ("upstreams called concurrently", "UPSTREAM-CONCURRENT", "concurrently"),
    ("each upstream at most once, coalescing allowed", "UPSTREAM-ONCE", "coalescing"),
    ("timeout covers connect, headers, body", "TIMEOUT-BOUND", "connect, headers and body"),
    ("default timeout 5000", "TIMEOUT-DEFAULT", "5000"),
    ("answer at 80% of the timeout is counted", "TIMEOUT-COUNTED", "0.8"),
    ("no cascade, no 5xx", "UPSTREAM-ISOLATION", "never causes a 5xx"),
    ("no 5xx from upstream faults", "STATUS-HTTP-4", "5xx"),
    ("recovery within 5 s", "UPSTREAM-RECOVERY", "within 5 s"),
    ("tmux upstream shape", "UPSTREAM-TMUX-SHAPE", "TES_TMUX_STATUS_URL"),
    ("worker upstream shape and snapshot", "UPSTREAM-WORKER-SHAPE", "snapshot"),
    ("valid tmux body", "UPSTREAM-TMUX-VALID", "len(sessions)"),
    ("valid worker body", "UPSTREAM-WORKER-VALID", "boolean is not an integer"),
    ("environment variables", "CONFIG-ENV", "TES_UPSTREAM_TIMEOUT_MS"),
    ("JSON error bodies", "ERROR-BODY", "JSON body"),
    ("issue 17: a crash is a defect, reported once", "SERVER-ALIVE", "reported once"),
    ("issue 17: SIGTERM stops the server in time", "SERVER-STOP", "within 5 s"),
    ("live: push on connect", "LIVE-CONNECT", "on connect"),
    ("live: push every interval", "LIVE-INTERVAL", "TES_PUSH_INTERVAL_MS"),
    ("live: change within 100 ms", "LIVE-CHANGE", "100 ms"),
    ("live: message shape", "LIVE-DATA", "status-push.json"),
    ("live: upgrade required", "LIVE-UPGRADE", "426"),
    ("live: one snapshot per tick", "LIVE-ONCE", "20 subscribers"),
    ("live: connections counted", "LIVE-COUNT", "0 within 1 s"),
    ("live: pings answered", "LIVE-PING", "pong"),
    ("live: close on SIGTERM", "LIVE-CLOSE", "1001"),
    ("dev: tmux status endpoint", "DEV-TMUX-STATUS", "/api/dev/tmux/status"),
    ("dev: worker list, 503 when unreachable", "DEV-WORKERS", "503"),
    ("dev: snapshots, validation, rate limits", "DEV-SNAPSHOT", "429"),
    ("dev: auth", "DEV-AUTH", "token"),
    ("dev: tmux control, truthful answers", "DEV-TMUX-CONTROL", "never run through a shell"),
    ("dev: Origin allow-list, null is foreign", "DEV-ORIGIN", "`Origin: null` is foreign"),
    ("dev: Host allow-list on every route", "DEV-HOST", "every route"),
    ("dev: refusals without side effect, in order", "DEV-NOSIDE", "Host (403) -> no route (404)"),
    ("metrics: Prometheus exposition", "METRICS-EXPOSITION", "Prometheus"),
    ("metrics: promtool finds no problem", "METRICS-LINT", "promtool check metrics"),
    ("metrics: the families table", "METRICS-NAMES", "tes_upstream_up"),
    ("metrics: counter follows the traffic", "METRICS-COUNT", "earlier scrape"),
    ("metrics: gauges agree with the status", "METRICS-AGREE", "tes_upstream_up"),
    ("metrics: bounded route label", "METRICS-CARDINALITY", "at most one"),
    ("history: query, buckets past limit", "HISTORY-QUERY", "worst in its bucket"),
    ("history: a point every interval", "HISTORY-SAMPLE", "TES_HISTORY_INTERVAL_MS"),
    ("history: survives a restart", "HISTORY-PERSIST", "never reused"),
    ("history: bad state dir exits 2", "HISTORY-STATE", "exits 2"),
    ("history: retention", "HISTORY-RETENTION", "TES_HISTORY_RETENTION_S"),
    ("events: query, limit over 1000 is a 400", "EVENTS-QUERY", "not clamped"),
    ("events: none at start", "EVENTS-START", "baseline"),
    ("events: every change once", "EVENTS-CHAIN", "recorded once"),
    ("events: append-only log", "EVENTS-LOG", "TES_EVENT_LOG"),
    ("events: pushed", "EVENTS-PUSH", "\"event\""),
    ("alerts: payload and Idempotency-Key", "ALERT-SHAPE", "Idempotency-Key"),
    ("alerts: one per event", "ALERT-FIRE", "resolved"),
    ("alerts: retries for 60 s, none on 4xx", "ALERT-RETRY", "60 s"),
    ("alerts: never delay an answer", "ALERT-ISOLATION", "never delays"),
]


@pytest.mark.parametrize(("decision", "clause_id", "words"), PINNED, ids=[row[0] for row in PINNED])
def test_pinned_decision_is_a_clause(decision: str, clause_id: str, words: str):
    assert words in clause(clause_id).must, f"{clause_id} does not pin: {decision}"


def test_every_clause_pins_a_decision_of_the_brief():
    assert {row[1] for row in PINNED} == CLAUSE_IDS
