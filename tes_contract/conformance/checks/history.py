"""Checks of the history profile: the history and events answers, sampling, persistence, the event log."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.invariants import document_problems
from tes_contract.contract.rules import traffic_mode_for

KINDS = ("trafficMode", "telemetryStatus")
SEVERITY = {"normal": 0, "degraded": 1, "isolated": 2, "healthy": 0, "offline": 2}
_COUNTS = ("tmux", "activeWorkers", "apiSessions", "websocketConnections", "memory", "cpu")


def epoch_ms(timestamp: str) -> int:
    """RFC 3339 -> milliseconds since the epoch."""
    return int(datetime.fromisoformat(timestamp).timestamp() * 1000)


def _schema(exchange: Exchange, schema: str, clause: str) -> Iterator[Failure]:
    if exchange.status != 200:
        yield Failure(clause, f"200 with schemas/{schema}.json", f"status {exchange.status} {exchange.error}".strip(),
                      curl=exchange.curl())
        return
    for problem in document_problems(schema, exchange.body):
        yield Failure(clause, f"{problem.pointer or '/'} valid per schemas/{schema}.json", problem.message,
                      curl=exchange.curl())


@check("HISTORY-QUERY")
def history_answer_valid(exchange: Exchange, since_ms: int | None = None, until_ms: int | None = None
                         ) -> Iterator[Failure]:
    """The history answer validates, its points ascend and lie within [since, until]."""
    failures = list(_schema(exchange, "status-history", "HISTORY-QUERY"))
    yield from failures
    if failures:
        return
    stamps = [epoch_ms(p["timestamp"]) for p in exchange.body["points"]]
    if stamps != sorted(stamps):
        yield Failure("HISTORY-QUERY", "points in ascending timestamp", "out of order", curl=exchange.curl())
    outside = [s for s in stamps if (since_ms is not None and s < since_ms) or (until_ms is not None and s > until_ms)]
    if outside:
        yield Failure("HISTORY-QUERY", "points within [since, until]", f"{len(outside)} outside", curl=exchange.curl())


@check("HISTORY-QUERY", "EVENTS-QUERY")
def bad_parameter_is_400(exchange: Exchange, clause: str, parameter: str) -> Iterator[Failure]:
    """A bad parameter answers 400 with a JSON error naming it."""
    error = exchange.body.get("error", "") if isinstance(exchange.body, dict) else ""
    if exchange.status != 400 or parameter not in str(error):
        yield Failure(clause, f"400 with an error naming {parameter}",
                      f"status {exchange.status}, error {str(error)[:120]!r}", curl=exchange.curl())


def merge(points: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The contract's bucket rule: `limit` buckets of equal time over the points' span, each stamped with its
    start, figures averaged, each mode the worst (counts left unrounded: the answer may round .5 either way)."""
    if len(points) <= limit:
        return list(points)
    stamps = [epoch_ms(p["timestamp"]) for p in points]
    first, span = stamps[0], stamps[-1] - stamps[0] + 1
    buckets: dict[int, list[dict[str, Any]]] = {}
    for stamp, point in zip(stamps, points, strict=True):
        buckets.setdefault((stamp - first) * limit // span, []).append(point)
    merged = []
    for index, group in sorted(buckets.items()):
        item: dict[str, Any] = {"start_ms": first + index * span // limit}
        for kind in KINDS:
            item[kind] = max((p[kind] for p in group), key=SEVERITY.__getitem__)
        for name in ("errorRate", "avgLatency", "requestsPerSecond", *_COUNTS):
            mean = sum(p[name] for p in group) / len(group)
            item[name] = mean  # counts: the answer rounds it, either way at .5 (_agrees)
        merged.append(item)
    return merged


def _agrees(name: str, got: Any, want: Any) -> bool:
    if isinstance(want, str) or isinstance(got, bool) or not isinstance(got, int | float):
        return bool(got == want)
    if name in _COUNTS:
        return isinstance(got, int) and abs(got - want) <= 0.5 + 1e-9
    return bool(abs(got - want) <= 1e-6 * max(1.0, abs(want)))


@check("HISTORY-QUERY")
def buckets_follow_the_rule(raw: Sequence[dict[str, Any]], merged: Exchange, limit: int) -> Iterator[Failure]:
    """Past `limit`, the answer is the raw points merged by the bucket rule (1 ms stamps, 1e-6 figures)."""
    if merged.status != 200 or not isinstance(merged.body, dict):
        return  # judged by history_answer_valid
    got, want = merged.body.get("points", []), merge(raw, limit)
    if len(got) != len(want):
        yield Failure("HISTORY-QUERY", f"{len(want)} buckets for {len(raw)} points and limit {limit}",
                      f"{len(got)} points", curl=merged.curl())
        return
    for index, (g, w) in enumerate(zip(got, want, strict=True)):
        wrong = [k for k in w if k != "start_ms" and not _agrees(k, g.get(k), w[k])]
        if abs(epoch_ms(g["timestamp"]) - w["start_ms"]) > 1:
            wrong.append("timestamp")
        if wrong:
            yield Failure("HISTORY-QUERY", f"bucket {index} per the bucket rule: "
                          + ", ".join(f"{k}={w.get(k, w['start_ms'])!r}" for k in wrong),
                          ", ".join(f"{k}={g.get(k)!r}" for k in wrong), curl=merged.curl())
            return


@check("HISTORY-SAMPLE")
def points_every_interval(points: Sequence[dict[str, Any]], interval_ms: int, since_ms: int, until_ms: int
                          ) -> Iterator[Failure]:
    """0.8 to 1.25 points per interval over a window of >= 5 intervals; each point consistent like a status."""
    inside = [p for p in points if since_ms <= epoch_ms(p["timestamp"]) < until_ms]
    per_interval = len(inside) / ((until_ms - since_ms) / interval_ms)
    if not 0.8 <= per_interval <= 1.25:
        yield Failure("HISTORY-SAMPLE", f"0.8..1.25 points per {interval_ms} ms interval",
                      f"{len(inside)} points in {until_ms - since_ms} ms ({per_interval:.2f} per interval)")
    for point in inside:
        if (point["telemetryStatus"] == "healthy") != (point["activeWorkers"] > 0) \
                or point["trafficMode"] != traffic_mode_for(point["errorRate"]):
            yield Failure("HISTORY-SAMPLE", "each point consistent as a status answer (telemetry vs workers, "
                          "trafficMode vs errorRate)", json.dumps(point)[:300])
            return


@check("EVENTS-QUERY")
def events_answer_valid(exchange: Exchange, after: int = 0) -> Iterator[Failure]:
    """The events answer validates; ids increase and exceed `after`."""
    failures = list(_schema(exchange, "events", "EVENTS-QUERY"))
    yield from failures
    if failures:
        return
    ids = [e["id"] for e in exchange.body["events"]]
    if ids != sorted(set(ids)) or any(i <= after for i in ids):
        yield Failure("EVENTS-QUERY", f"ids increasing, each > after={after}", str(ids[:20]), curl=exchange.curl())


@check("EVENTS-START")
def no_event_at_start(events: Sequence[dict[str, Any]]) -> Iterator[Failure]:
    """A fresh server with healthy upstreams records no event."""
    if events:
        yield Failure("EVENTS-START", "no event on a fresh state dir with healthy upstreams",
                      json.dumps(list(events)[:3]))


def changes(values: Sequence[str]) -> list[tuple[str, str]]:
    """The (from, to) changes of a sequence of observed values."""
    return [(a, b) for a, b in zip(values, values[1:], strict=False) if a != b]


def _is_subsequence(wanted: Sequence[tuple[str, str]], seen: Sequence[tuple[str, str]]) -> bool:
    found = iter(seen)
    return all(any(item == other for other in found) for item in wanted)


@check("EVENTS-CHAIN")
def events_chain(events: Sequence[dict[str, Any]], observed: dict[str, list[str]]) -> Iterator[Failure]:
    """Per kind: from == previous to, from != to, and the harness's observed changes are among them, in order."""
    for kind in KINDS:
        mine = [e for e in events if e["kind"] == kind]
        for before, event in zip([None, *mine], mine, strict=False):
            if event["from"] == event["to"] or (before is not None and event["from"] != before["to"]):
                yield Failure("EVENTS-CHAIN", f"{kind} events chained (from = previous to, from != to)",
                              f"event {event['id']} {event['from']}->{event['to']} after "
                              f"{before['to'] if before else '(none)'}")
                return
        wanted = changes(observed.get(kind, []))
        if not _is_subsequence(wanted, [(e["from"], e["to"]) for e in mine]):
            yield Failure("EVENTS-CHAIN", f"every {kind} change seen in answers among the events, in order: "
                          + ", ".join(f"{a}->{b}" for a, b in wanted),
                          ", ".join(f"{e['from']}->{e['to']}" for e in mine) or "no event")


@check("EVENTS-LOG")
def event_log_appended(before: str, after: str, events: Sequence[dict[str, Any]]) -> Iterator[Failure]:
    """The log's earlier text is a prefix of its later text, and every event has its JSON line."""
    if not after.startswith(before):
        yield Failure("EVENTS-LOG", "the event log only appended to (earlier content kept as its prefix)",
                      f"{len(before)} bytes before, {len(after)} after, prefix changed")
    logged = []
    for line in after.splitlines():
        try:
            logged.append(json.loads(line))
        except ValueError:
            yield Failure("EVENTS-LOG", "one JSON object per line", repr(line[:200]))
            return
    ids = [e.get("id") for e in logged if isinstance(e, dict)]
    missing = [e["id"] for e in events if e["id"] not in ids]
    if missing or len(ids) != len(set(ids)):
        yield Failure("EVENTS-LOG", "every event once in the log", f"missing {missing[:10]}, "
                      f"{len(ids) - len(set(ids))} duplicated lines")


@check("HISTORY-PERSIST")
def history_survives_restart(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]],
                             events_before: Sequence[dict[str, Any]], events_after: Sequence[dict[str, Any]],
                             how: str, lost_ms: int) -> Iterator[Failure]:
    """Points (bar the last interval on SIGKILL) and events survive; ids keep increasing."""
    kept = {p["timestamp"] for p in after}
    cutoff = max((epoch_ms(p["timestamp"]) for p in before), default=0) - lost_ms
    lost = [p["timestamp"] for p in before if p["timestamp"] not in kept and epoch_ms(p["timestamp"]) < cutoff]
    if lost:
        yield Failure("HISTORY-PERSIST", f"points kept over a {how}", f"{len(lost)} of {len(before)} points lost "
                      f"(e.g. {lost[0]})")
    old = {e["id"]: e for e in events_before}
    new_after = [e for e in events_after if e["id"] not in old]
    gone = [i for i in old if i not in {e["id"] for e in events_after}]
    if gone:
        yield Failure("HISTORY-PERSIST", f"events kept over a {how}", f"events {gone[:10]} gone")
    if old and any(e["id"] <= max(old) for e in new_after):
        yield Failure("HISTORY-PERSIST", f"new event ids > {max(old)} after a {how}",
                      str([e["id"] for e in new_after][:10]))
    changed = [i for i, e in old.items() if any(a["id"] == i and a != e for a in events_after)]
    if changed:
        yield Failure("HISTORY-PERSIST", f"event ids never reused after a {how}", f"ids {changed[:10]} now name "
                      "other events")


@check("HISTORY-RETENTION")
def nothing_older_than_retention(points: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]],
                                 oldest_ms: int) -> Iterator[Failure]:
    """No point or event older than the retention is answered."""
    old = [p["timestamp"] for p in [*points, *events] if epoch_ms(p["timestamp"]) < oldest_ms]
    if old:
        yield Failure("HISTORY-RETENTION", "nothing older than TES_HISTORY_RETENTION_S answered",
                      f"{len(old)} items, e.g. {old[0]}")


@check("HISTORY-STATE")
def bad_state_dir_exits_2(situation: str, code: int | None, output: str, started: bool) -> Iterator[Failure]:
    """An unusable state dir exits 2 naming TES_STATE_DIR; a corrupt file does not stop the start."""
    if situation == "corrupt":
        if not started:
            yield Failure("HISTORY-STATE", "with its state files overwritten by garbage, the server starts and "
                          "answers the history", f"exit {code}: {output[-300:]}")
        return
    if code != 2 or "TES_STATE_DIR" not in output:
        yield Failure("HISTORY-STATE", f"{situation}: exit 2 naming TES_STATE_DIR",
                      "still running" if code is None else f"exit {code}: {output[-300:]!r}")



@check("EVENTS-PUSH")
def events_pushed(frames: Sequence[str], events: Sequence[dict[str, Any]]) -> Iterator[Failure]:
    """Each event recorded while a WebSocket was open arrived on it as {"type": "event", "data": Event}."""
    pushed = []
    for frame in frames:
        try:
            message = json.loads(frame)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "event":
            problems = document_problems("events", {"events": [message.get("data")]})
            if problems:
                yield Failure("EVENTS-PUSH", "event data valid per schemas/events.json#/$defs/event",
                              problems[0].message)
                return
            pushed.append(message["data"])
    missing = [e["id"] for e in events if e not in pushed]
    if missing:
        yield Failure("EVENTS-PUSH", f"events {[e['id'] for e in events]} pushed as event messages",
                      f"{len(pushed)} event messages; missing ids {missing[:10]}")


CHECKS = (history_answer_valid, bad_parameter_is_400, buckets_follow_the_rule, points_every_interval,
          events_answer_valid, no_event_at_start, events_chain, event_log_appended, history_survives_restart,
          nothing_older_than_retention, bad_state_dir_exits_2, events_pushed)
