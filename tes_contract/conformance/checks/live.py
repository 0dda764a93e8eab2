"""Checks of the live profile: the WebSocket push of the status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tes_contract.conformance.model import Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.invariants import document_problems


@check("LIVE-CONNECT", "LIVE-DATA")
def first_push_is_status(message: str | None, error: str) -> Iterator[Failure]:
    """A WebSocket client receives {"type": "status", "data": EnhancedStatusData} on connect."""
    if message is None:
        yield Failure("LIVE-CONNECT", "a status message on connect", error or "no message")
        return
    try:
        document = json.loads(message)
    except ValueError:
        yield Failure("LIVE-DATA", "a JSON text frame", f"{message[:200]!r}")
        return
    for problem in document_problems("status-push", document):
        yield Failure(problem.clause if problem.clause.startswith("LIVE") else "LIVE-DATA",
                      f"{problem.pointer or '/'} valid per schemas/status-push.json", problem.message)



#: Tolerances of the live checks, on the harness's own clock, for a busy 2-core CI machine: a frame's
#: arrival may lag its due time by this much (scheduling of the server and of the harness), stated in
#: the failures and in docs/live.md.
CONNECT_SLACK_S = 0.5
GAP_SLACK_S = 0.25


@check("LIVE-UPGRADE")
def plain_get_needs_upgrade(status: int | None, body: str) -> Iterator[Failure]:
    """A GET without a WebSocket upgrade answers 400 or 426 with a JSON error body."""
    if status not in (400, 426):
        yield Failure("LIVE-UPGRADE", "400 or 426 for a GET without an upgrade", f"status {status}")
        return
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document_problems("error", document):
        yield Failure("LIVE-UPGRADE", "a JSON error body (schemas/error.json)", f"{body[:200]!r}")


@check("LIVE-CONNECT")
def first_frame_in_time(elapsed_s: float | None, limit_s: float) -> Iterator[Failure]:
    """The first frame arrives within the bound after the handshake (plus the harness's stated slack)."""
    if elapsed_s is None:
        yield Failure("LIVE-CONNECT", f"a first frame within {limit_s:.1f} s", "none arrived")
    elif elapsed_s > limit_s + CONNECT_SLACK_S:
        yield Failure("LIVE-CONNECT", f"a first frame within {limit_s:.1f} s (+{CONNECT_SLACK_S} s slack)",
                      f"after {elapsed_s:.3f} s")


@check("LIVE-DATA")
def frames_valid_and_monotonic(frames: list[str]) -> Iterator[Failure]:
    """Every frame is a valid push message; on one connection timestamp, uptime and cpu never decrease."""
    last: dict[str, Any] | None = None
    for n, frame in enumerate(frames):
        try:
            document = json.loads(frame)
        except ValueError:
            yield Failure("LIVE-DATA", f"frame {n}: a JSON text frame", f"{frame[:200]!r}")
            continue
        for problem in document_problems("status-push", document):
            yield Failure("LIVE-DATA", f"frame {n}: {problem.pointer or '/'} valid ({problem.clause})",
                          problem.message)
        if not isinstance(document, dict) or document.get("type") != "status":
            continue
        data = document.get("data")
        if not isinstance(data, dict):
            continue
        now = _monotonic_fields(data)
        if last is not None and now is not None:
            for name, before, after in zip(("timestamp", "uptime", "cpu"), last, now, strict=True):
                if after < before:
                    yield Failure("LIVE-DATA", f"frame {n}: {name} never decreasing", f"{before!r} -> {after!r}")
        last = now if now is not None else last


def _monotonic_fields(data: dict[str, Any]) -> Any:
    try:
        return (data["timestamp"], data["vector"]["others"]["uptime"], data["vector"]["others"]["cpu"])
    except (KeyError, TypeError):
        return None


@check("LIVE-INTERVAL")
def frames_every_interval(arrivals: list[float], interval_s: float) -> Iterator[Failure]:
    """0.8 to 1.25 frames per interval after the first over >= 4 intervals; no gap over 1.5 intervals."""
    after_first = arrivals[1:]
    # The rate is that of the frames after the first, between the first and the last of them: the first frame
    # is sent on connect, off the ticks' phase, so counting from it would add a frame whenever a tick follows
    # it at once (6 frames over 5 intervals + a few ms read as 1.25 per interval).
    span = after_first[-1] - after_first[0] if after_first else 0.0
    if span < 4 * interval_s - GAP_SLACK_S:
        yield Failure("LIVE-INTERVAL", f"frames over at least 4 intervals of {interval_s:.3f} s",
                      f"{len(after_first)} frames after the first, over {span:.3f} s")
        return
    rate = (len(after_first) - 1) / (span / interval_s)
    if not 0.8 <= rate <= 1.25:
        yield Failure("LIVE-INTERVAL", "0.8 to 1.25 status messages per push interval",
                      f"{rate:.2f} ({len(after_first) - 1} intervals between the frames after the first, over "
                      f"{span:.3f} s; interval {interval_s:.3f} s)")
    gaps = [b - a for a, b in zip(after_first, after_first[1:], strict=False)]
    if gaps and max(gaps) > 1.5 * interval_s + GAP_SLACK_S:
        yield Failure("LIVE-INTERVAL", f"no gap over 1.5 x {interval_s:.3f} s (+{GAP_SLACK_S} s slack)",
                      f"a gap of {max(gaps):.3f} s")


@check("LIVE-COUNT")
def connections_counted(opened: int, seen_open: int | None, seen_after_close: int | None) -> Iterator[Failure]:
    """websocketConnections equals the open sockets: n while open, 0 within 1 s of closing them."""
    if seen_open != opened:
        yield Failure("LIVE-COUNT", f"websocketConnections {opened} with {opened} sockets open", f"{seen_open}")
    if seen_after_close != 0:
        yield Failure("LIVE-COUNT", "websocketConnections 0 within 1 s after closing them", f"{seen_after_close}")


@check("LIVE-PING")
def ping_answered(elapsed_s: float | None) -> Iterator[Failure]:
    """A client's ping gets its pong within 1 s."""
    if elapsed_s is None or elapsed_s > 1.0 + CONNECT_SLACK_S:
        shown = "no pong" if elapsed_s is None else f"pong after {elapsed_s:.3f} s"
        yield Failure("LIVE-PING", f"a pong within 1 s (+{CONNECT_SLACK_S} s slack)", shown)


#: LIVE-CHANGE's 100 ms, plus this slack for the harness's and the server's scheduling on a busy CI machine.
CHANGE_SLACK_S = 0.15


@check("LIVE-CHANGE")
def change_pushed_in_time(what: str, lag_s: float | None) -> Iterator[Failure]:
    """The push showing a new value arrives within 100 ms of the answer that first showed (or caused) it."""
    if lag_s is None:
        yield Failure("LIVE-CHANGE", f"a push showing the new {what}", "none within 2 s")
    elif lag_s > 0.1 + CHANGE_SLACK_S:
        yield Failure("LIVE-CHANGE", f"the push showing the new {what} within 100 ms (+{CHANGE_SLACK_S} s slack)",
                      f"{lag_s * 1000:.0f} ms after the answer")


@check("LIVE-ONCE")
def one_snapshot_per_tick(calls_one: int, calls_many: int, subscribers: int) -> Iterator[Failure]:
    """Upstream calls per interval with many subscribers are no more than with one (one tick of slack)."""
    if calls_many > calls_one + 1:
        yield Failure("LIVE-ONCE", f"worker calls with {subscribers} subscribers <= those with 1 (+1 for a tick "
                      "on the window's edge), over the same number of intervals",
                      f"{calls_many} with {subscribers}, {calls_one} with 1 (mock journal)")


@check("LIVE-CLOSE")
def closed_going_away(codes: list[int | None]) -> Iterator[Failure]:
    """On SIGTERM every socket is closed by the server with 1001."""
    for n, code in enumerate(codes):
        if code != 1001:
            yield Failure("LIVE-CLOSE", f"socket {n}: a close frame with 1001 on SIGTERM",
                          "no close frame" if code is None else f"close code {code}")


CHECKS = (first_push_is_status, plain_get_needs_upgrade, first_frame_in_time, frames_valid_and_monotonic,
          frames_every_interval, connections_counted, ping_answered, change_pushed_in_time, one_snapshot_per_tick,
          closed_going_away)
