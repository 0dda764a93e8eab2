"""Checks across the answers of one server process: monotonicity, uptime, region, in-flight counts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.invariants import field

#: Gap (s) around a request inside which no other request may run for it to count as alone.
LONE_GAP_S = 0.03


def _sequential_pairs(history: Sequence[Exchange]) -> Iterator[tuple[Exchange, Exchange]]:
    """Pairs (a, b) where a's answer came before b was sent: a's snapshot was surely assembled first."""
    done = sorted(history, key=lambda e: e.received_at)
    for b in sorted(history, key=lambda e: e.sent_at):
        before = [a for a in done if a.received_at < b.sent_at]
        if before:
            yield before[-1], b


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@check("STATUS-MONO-1", "STATUS-FIELD-CPU", "STATUS-FIELD-UPTIME")
def timestamp_uptime_cpu_never_decrease(history: Sequence[Exchange]) -> Iterator[Failure]:
    """Across calls, timestamp, uptime and cpu never decrease."""
    for a, b in _sequential_pairs(history):
        for name, path in (("timestamp", ("timestamp",)), ("uptime", ("vector", "others", "uptime")),
                           ("cpu", ("vector", "others", "cpu"))):
            old, new = field(a.body, *path), field(b.body, *path)
            if old is None or new is None or type(old) is not type(new) and name == "timestamp":
                continue
            if (name == "timestamp" and isinstance(old, str) and isinstance(new, str) and new < old) or (
                    name != "timestamp" and _number(old) is not None and _number(new) is not None
                    and float(new) < float(old)):
                clause = {"cpu": "STATUS-FIELD-CPU", "uptime": "STATUS-FIELD-UPTIME"}.get(name)
                for id in ("STATUS-MONO-1", *([clause] if clause else [])):
                    yield Failure(id, f"{name} never decreases across calls",
                                  f"{name} {old!r} then {new!r} in a later call", curl=b.curl())


@check("STATUS-FIELD-UPTIME")
def uptime_follows_wall_clock(history: Sequence[Exchange], resolution_s: float = 1.0) -> Iterator[Failure]:
    """Between the first and the last answer, uptime advances as much as the wall clock (seconds)."""
    ordered = sorted((e for e in history if _number(field(e.body, "vector", "others", "uptime")) is not None),
                     key=lambda e: e.sent_at)
    if len(ordered) < 2:
        return
    first, last = ordered[0], ordered[-1]
    if first.overlaps(last) or last.sent_at - first.received_at < 0.2:
        return  # too short a span to tell seconds from anything else
    advanced = float(last.body["vector"]["others"]["uptime"]) - float(first.body["vector"]["others"]["uptime"])
    low = last.sent_at - first.received_at - resolution_s
    high = last.received_at - first.sent_at + resolution_s
    if not low <= advanced <= high:
        yield Failure("STATUS-FIELD-UPTIME", f"uptime to advance by {low + resolution_s:.2f}..{high - resolution_s:.2f}"
                      " s (the wall-clock time between the two answers)",
                      f"uptime advanced by {advanced:.3f}", curl=last.curl())


@check("STATUS-FIELD-REGION")
def primary_region_echoed(history: Sequence[Exchange], expected: str, env: str) -> Iterator[Failure]:
    """primaryRegion is TES_PRIMARY_REGION when set and non-empty, else us-east-1."""
    for exchange in history:
        region = field(exchange.body, "vector", "directions", "primaryRegion")
        if region != expected:
            yield Failure("STATUS-FIELD-REGION", f"primaryRegion {expected!r} ({env})", f"primaryRegion {region!r}",
                          curl=exchange.curl())
            return


@check("STATUS-FIELD-APISESSIONS")
def api_sessions_count_in_flight(history: Sequence[Exchange], ledger: Sequence[Exchange]) -> Iterator[Failure]:
    """A request alone sees apiSessions 1; requests in flight together see at most their number."""
    for exchange in history:
        sessions = field(exchange.body, "vector", "sessions", "apiSessions")
        if _number(sessions) is None:
            continue
        others = [e for e in ledger if e is not exchange and e.sent_at - LONE_GAP_S <= exchange.received_at
                  and exchange.sent_at <= e.received_at + LONE_GAP_S]
        if not others and sessions != 1:
            yield Failure("STATUS-FIELD-APISESSIONS", "apiSessions 1 for a request alone (counting itself)",
                          f"apiSessions {sessions}", curl=exchange.curl())
            return
        if others and not 1 <= float(sessions) <= len(others) + 1:
            yield Failure("STATUS-FIELD-APISESSIONS", f"apiSessions between 1 and {len(others) + 1} "
                          "(the harness's requests in flight)", f"apiSessions {sessions}", curl=exchange.curl())
            return


@check("STATUS-FIELD-APISESSIONS")
def api_sessions_see_each_other(exchanges: Sequence[Exchange]) -> Iterator[Failure]:
    """Requests held in flight together by a slow upstream see each other: the last to arrive counts all.

    (A server may read the count when a request arrives or when its snapshot is assembled; either way the
    largest count among them is their number.)
    """
    counts = [_number(field(e.body, "vector", "sessions", "apiSessions")) for e in exchanges if e.status == 200]
    seen = max((c for c in counts if c is not None), default=None)
    if counts and (seen is None or seen < len(exchanges)):
        yield Failure("STATUS-FIELD-APISESSIONS",
                      f"apiSessions {len(exchanges)} in at least one of {len(exchanges)} requests held in flight "
                      "together", f"apiSessions {counts}", curl=exchanges[0].curl())


@check("STATUS-FIELD-WS")
def no_websockets_counted(history: Sequence[Exchange]) -> Iterator[Failure]:
    """With no WebSocket client open, websocketConnections is 0."""
    for exchange in history:
        count = field(exchange.body, "vector", "sessions", "websocketConnections")
        if count not in (0, None):
            yield Failure("STATUS-FIELD-WS", "websocketConnections 0 (the harness opened no WebSocket)",
                          f"websocketConnections {count!r}", curl=exchange.curl())
            return


CHECKS = (
    timestamp_uptime_cpu_never_decrease, uptime_follows_wall_clock, primary_region_echoed,
    api_sessions_count_in_flight, api_sessions_see_each_other, no_websockets_counted,
)
