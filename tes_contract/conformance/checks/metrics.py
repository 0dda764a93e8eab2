"""Checks of the metrics profile: the Prometheus exposition, judged with prometheus_client's parsers.

The text is parsed by prometheus_client (never by anything of the server's). Its text parser is lax in
one way that matters here: it renames a counter's samples to end in `_total` when they do not, so the
names as written are read from the raw `# TYPE` and sample lines (`written_names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.clauses.metrics import FAMILIES, METRICS_PATH, UNMATCHED_ROUTE, MetricFamily

Key = tuple[str, tuple[tuple[str, str], ...]]
_TYPE_LINE = re.compile(r"^# TYPE (\S+) (\S+)", re.M)
_SAMPLE_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", re.M)
#: promtool's "use base unit" list (prometheus/util/promlint), and the suffixes only counters may carry.
_NON_BASE_UNITS = ("milliseconds", "microseconds", "nanoseconds", "minutes", "hours", "days", "kilobytes",
                   "megabytes", "gigabytes", "terabytes", "kilometers", "percent", "celsius", "fahrenheit")
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Scrape:
    """One parsed exposition: types and samples as prometheus_client reads them, and the names as written."""

    types: dict[str, str]  # family name as written in `# TYPE` -> type
    helps: dict[str, str]  # family name as parsed -> HELP text
    samples: dict[Key, float]
    sample_names: frozenset[str]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample's value, or None when absent."""
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def series(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        """Every sample of this name, by labels."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name}

    def current(self, name: str, label: str) -> list[str]:
        """The label values whose series is 1 (a state gauge)."""
        return [dict(labels).get(label, "") for labels, v in self.series(name).items() if v == 1.0]


def parse_scrape(text: str) -> Scrape:
    """Parse Prometheus text 0.0.4; ValueError (or the parser's own error) on a malformed exposition."""
    helps: dict[str, str] = {}
    samples: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        helps[family.name] = family.documentation
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    written = {m.group(1) for m in _SAMPLE_NAME.finditer(text)}
    return Scrape(dict((m.group(1), m.group(2)) for m in _TYPE_LINE.finditer(text)), helps, samples,
                  frozenset(written))


def _parsed(text: str) -> tuple[Scrape | None, str]:
    try:
        return parse_scrape(text), ""
    except Exception as exc:  # the parser raises ValueError, IndexError and friends on a malformed line
        return None, f"parse error: {type(exc).__name__}: {exc}"


@check("METRICS-EXPOSITION")
def metrics_parse_as_prometheus_text(ex: Exchange) -> Iterator[Failure]:
    """GET /api/dev/metrics answers Prometheus text format 0.0.4 that a Prometheus parser reads."""
    content_type = ex.header("Content-Type") or ""
    if ex.status != 200 or not content_type.startswith("text/plain") or "version=0.0.4" not in content_type:
        yield Failure("METRICS-EXPOSITION", "200 with Content-Type: text/plain; version=0.0.4",
                      f"status {ex.status}, Content-Type {content_type!r}")
        return
    scrape, error = _parsed(ex.text)
    if scrape is None:
        yield Failure("METRICS-EXPOSITION", "text a Prometheus parser reads", error)
    elif not scrape.samples:
        yield Failure("METRICS-EXPOSITION", "at least one sample", "an exposition without samples")


@check("METRICS-EXPOSITION")
def metrics_openmetrics_when_asked(ex: Exchange) -> Iterator[Failure]:
    """With `Accept: application/openmetrics-text`, the answer is OpenMetrics text that its parser reads."""
    content_type = ex.header("Content-Type") or ""
    if ex.status != 200 or not content_type.startswith("application/openmetrics-text"):
        yield Failure("METRICS-EXPOSITION", "200 with Content-Type: application/openmetrics-text when asked",
                      f"status {ex.status}, Content-Type {content_type!r}")
        return
    try:
        names = {f.name for f in parse_openmetrics(ex.text)}  # type: ignore[no-untyped-call]
    except Exception as exc:  # the OpenMetrics parser is strict: `# EOF`, counter suffixes, ...
        yield Failure("METRICS-EXPOSITION", "OpenMetrics text its parser reads", f"parse error: {exc}")
        return
    if "tes_traffic_mode" not in names:
        yield Failure("METRICS-EXPOSITION", "the same families in OpenMetrics", f"families {sorted(names)[:10]}")


def lint_problems(text: str) -> list[str]:
    """The rules of `promtool check metrics` the harness applies itself when promtool is not on PATH."""
    scrape, error = _parsed(text)
    if scrape is None:
        return [error]
    problems = []
    for name, typ in scrape.types.items():
        parsed = name.removesuffix("_total") if typ == "counter" else name
        if not scrape.helps.get(parsed):
            problems.append(f"{name} no help text")
        if typ == "counter" and not name.endswith("_total"):
            problems.append(f'{name} counter metrics should have "_total" suffix')
        if typ != "counter" and name.endswith("_total"):
            problems.append(f'{name} non-counter metrics should not have "_total" suffix')
        if any(f"_{unit}" in name for unit in _NON_BASE_UNITS):
            problems.append(f"{name} use base unit (seconds, bytes) instead of a prefixed or other unit")
        if name != name.lower():
            problems.append(f"{name} metric names should be written in 'snake_case' not 'camelCase'")
    for sample in scrape.sample_names:
        stems = {sample, *(sample.removesuffix(suffix) for suffix in (*_HISTOGRAM_SUFFIXES, "_total", "_created"))}
        if not stems & set(scrape.types):
            problems.append(f"{sample} has no # TYPE")
    return problems


@check("METRICS-LINT")
def metrics_pass_promtool(text: str, promtool: tuple[int, str] | None) -> Iterator[Failure]:
    """`promtool check metrics` reports nothing (given its exit code and output), else the same rules here."""
    if promtool is not None:
        code, output = promtool
        if code != 0 or output.strip():
            yield Failure("METRICS-LINT", "`promtool check metrics` reports no problem",
                          f"exit {code}: {output.strip()[:600]}")
        return
    problems = lint_problems(text)
    if problems:
        yield Failure("METRICS-LINT", "no problem by promtool's rules (promtool not on PATH: the harness's own)",
                      "; ".join(problems[:8]))


def _family_problems(scrape: Scrape, family: MetricFamily) -> Iterator[str]:
    name = family.name
    if name not in scrape.types:
        written = [n for n in scrape.types if n.removesuffix("_total") == name.removesuffix("_total")]
        yield f"{name}: no such family" + (f" (found {written[0]} instead)" if written else "")
        return
    if scrape.types[name] != family.type:
        yield f"{name}: type {scrape.types[name]}, not {family.type}"
    suffixes = _HISTOGRAM_SUFFIXES if family.type == "histogram" else ("",)
    allowed = dict(family.values)
    for suffix in suffixes:
        series = scrape.series(name + suffix)
        for labels in series:
            names = tuple(sorted(k for k, _ in labels if not (suffix == "_bucket" and k == "le")))
            if names != tuple(sorted(family.labels)):
                yield f"{name + suffix}: labels {list(names)}, not {list(family.labels)}"
                break
            bad = [f"{k}={v!r}" for k, v in labels if k in allowed and v not in allowed[k]]
            if bad:
                yield f"{name + suffix}: label value {bad[0]} outside {allowed[bad[0].split('=')[0]]}"
                break
    if family.complete:
        label, values = family.values[0]
        present = {dict(labels).get(label) for labels in scrape.series(name)}
        if missing := [v for v in values if v not in present]:
            yield f"{name}: no series for {label}={missing} (every value has one, 0 when not current)"
        if family.one_hot and len(scrape.current(name, label)) != 1:
            yield f"{name}: {len(scrape.current(name, label))} series at 1, not exactly one"


@check("METRICS-NAMES")
def metrics_families_match_contract(text: str) -> Iterator[Failure]:
    """Every family of the contract's table exists with its type, exact label names and allowed values."""
    scrape, error = _parsed(text)
    if scrape is None:
        yield Failure("METRICS-NAMES", "a parseable exposition", error)
        return
    problems = [p for family in FAMILIES for p in _family_problems(scrape, family)]
    if problems:
        yield Failure("METRICS-NAMES", "the families of the contract's table (docs/metrics.md)",
                      "; ".join(problems[:6]))


def route_of(path: str, known: Iterable[str]) -> str:
    """The `route` label the harness expects for a path it sent: the path if a route serves it, else unmatched."""
    return path if path in set(known) else UNMATCHED_ROUTE


def request_deltas(before: Scrape, after: Scrape) -> dict[tuple[str, str], float]:
    """The increase of tes_http_requests_total between two scrapes, per (route, code), methods summed."""
    deltas: dict[tuple[str, str], float] = {}
    for scrape, sign in ((after, 1.0), (before, -1.0)):
        for labels, value in scrape.series("tes_http_requests_total").items():
            found = dict(labels)
            key = (found.get("route", "?"), found.get("code", "?"))
            deltas[key] = deltas.get(key, 0.0) + sign * value
    return {k: v for k, v in deltas.items() if v}


@check("METRICS-COUNT")
def requests_counted_between_scrapes(before: Scrape, after: Scrape, sent: Sequence[Exchange],
                                     routes: Sequence[str]) -> Iterator[Failure]:
    """The counter grew by exactly the requests sent between the scrapes (the first scrape among them)."""
    expected: dict[tuple[str, str], float] = {}
    for ex in sent:
        path = ex.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        key = (route_of("/" + path, routes), str(ex.status))
        expected[key] = expected.get(key, 0.0) + 1
    observed = request_deltas(before, after)
    if observed != expected:
        wrong = sorted(f"{r} {c}: +{observed.get((r, c), 0):g}, sent {expected.get((r, c), 0):g}"
                       for r, c in set(observed) | set(expected) if observed.get((r, c)) != expected.get((r, c)))
        yield Failure("METRICS-COUNT", f"tes_http_requests_total grows by the {len(sent)} requests sent "
                      f"(the earlier scrape of {METRICS_PATH} included)", "; ".join(wrong[:6]))


@check("METRICS-AGREE")
def metrics_agree_with_status(status: Exchange, scrape: Scrape, up: Mapping[str, int]) -> Iterator[Failure]:
    """A scrape right after a status answer shows its modes, tmux, activeWorkers and avgLatency (in s);
    `tes_upstream_up` is what the upstream scenario makes it."""
    body: Any = status.body
    try:
        sessions, meta = body["vector"]["sessions"], body["meta"]
        mode, latency_ms = body["vector"]["directions"]["trafficMode"], body["vector"]["directions"][
            "requestFlow"]["avgLatency"]
    except (KeyError, TypeError):
        return  # the core checks report a malformed status answer
    pairs = [("tes_traffic_mode", scrape.current("tes_traffic_mode", "mode"), [mode]),
             ("tes_telemetry_status", scrape.current("tes_telemetry_status", "status"), [meta["telemetryStatus"]]),
             ("tes_tmux_sessions", [scrape.value("tes_tmux_sessions")], [sessions["tmux"]]),
             ("tes_active_workers", [scrape.value("tes_active_workers")], [sessions["activeWorkers"]])]
    pairs += [(f"tes_upstream_up{{upstream={name!r}}}", [scrape.value("tes_upstream_up", upstream=name)], [want])
              for name, want in up.items()]
    for name, got, want in pairs:
        if got != want:
            yield Failure("METRICS-AGREE", f"{name} {want}", f"{name} {got}")
    seconds = scrape.value("tes_avg_latency_seconds")
    # The window moved by one request (the status answer itself) between the two: a factor of 4 either
    # way allows for that; milliseconds reported as seconds are off by 1000.
    if isinstance(latency_ms, int | float) and latency_ms > 0.01 and seconds is not None and not (
            latency_ms / 4 <= seconds * 1000 <= latency_ms * 4):
        yield Failure("METRICS-AGREE", f"tes_avg_latency_seconds near avgLatency/1000 = {latency_ms / 1000:.6f}",
                      f"tes_avg_latency_seconds {seconds:g}")


@check("METRICS-CARDINALITY")
def unknown_paths_add_one_route(before: Scrape, after: Scrape, count: int) -> Iterator[Failure]:
    """Requests to `count` distinct unknown paths add at most one `route` value."""
    def routes(scrape: Scrape) -> set[str]:
        return {dict(labels).get("route", "") for labels in scrape.series("tes_http_requests_total")}

    added = routes(after) - routes(before)
    if len(added) > 1:
        yield Failure("METRICS-CARDINALITY", f"at most one new route value (`{UNMATCHED_ROUTE}`) after {count} "
                      "requests to distinct unknown paths", f"{len(added)} new values, e.g. {sorted(added)[:3]}")


CHECKS = (metrics_parse_as_prometheus_text, metrics_openmetrics_when_asked, metrics_pass_promtool,
          metrics_families_match_contract, requests_counted_between_scrapes, metrics_agree_with_status,
          unknown_paths_add_one_route)
