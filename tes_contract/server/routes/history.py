"""The history profile: `GET /api/dev/status/history`, `GET /api/dev/events`, and the sampler behind them.

The engine is `server/history.py`; this module opens it with the app (TES_STATE_DIR unusable: the start
fails with exit 2 naming it), samples a point every TES_HISTORY_INTERVAL_MS through the same code as a
status answer (`Upstreams.both()` then `status_fields`), and observes every new status snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web

from tes_contract.contract.formats import rfc3339_ms
from tes_contract.server.history import History
from tes_contract.server.http import add_endpoint, error_response, json_response
from tes_contract.server.logs import log_event
from tes_contract.server.snapshot import status_fields
from tes_contract.server.state import BROADCASTER, SELF_ADDRESS, SETTINGS, SNAPSHOTS, SOURCES, UPSTREAMS

HISTORY_PATH = "/api/dev/status/history"
EVENTS_PATH = "/api/dev/events"
HISTORY = web.AppKey("history", History)
MAX_POINTS = 10_000
MAX_EVENTS = 1000
#: The largest `after` (2^53 - 1: an id every JSON reader holds exactly).
MAX_EVENT_ID = 2**53 - 1
#: Maintenance (retention, merging, checkpoint) runs at most this often.
MAINTAIN_EVERY_S = 1.0
#: How long the first point waits for the server's own socket (bound within milliseconds of the start).
ADDRESS_WAIT_S = 2.0


class BadParameter(ValueError):
    """A query parameter that is not what the API says; the message names it."""


def _instant(request: web.Request, name: str, default_ms: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default_ms
    try:
        parsed = datetime.fromisoformat(raw.upper())  # RFC 3339 allows a lower-case t and z
    except ValueError:
        raise BadParameter(f"{name}={raw!r} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None or "T" not in raw.upper():
        raise BadParameter(f"{name}={raw!r} is not an RFC 3339 date-time (an offset or Z is required)")
    try:
        return int(parsed.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):  # year 1 or 9999 with an offset: before or after every point
        return 0 if parsed.year < 1970 else 2**62


def _integer(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(f"{name}={raw!r} is not an integer from {low} to {high}")
    return int(raw)


async def history_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/status/history?since=&until=&limit= (HISTORY-QUERY)."""
    settings = request.app[SETTINGS]
    try:
        until = _instant(request, "until", int(time.time() * 1000))
        since = _instant(request, "since", until - 3600_000)
        limit = _integer(request, "limit", 1000, 1, MAX_POINTS)
        if since > until:
            raise BadParameter(f"since={request.query.get('since')!r} is after until")
    except BadParameter as exc:
        return error_response(400, str(exc), "since/until: RFC 3339 with Z or an offset; limit 1..10000")
    points = await request.app[HISTORY].points(since, until, limit)
    return json_response({"intervalMs": settings.history_interval_ms, "retentionS": settings.history_retention_s,
                          "points": [{"timestamp": rfc3339_ms(p.pop("ts_ms")), **p} for p in points]})


async def events_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/events?after=&limit= (EVENTS-QUERY)."""
    try:
        after = _integer(request, "after", 0, 0, MAX_EVENT_ID)
        limit = _integer(request, "limit", 100, 1, MAX_EVENTS)
    except BadParameter as exc:
        return error_response(400, str(exc), "after: an event id >= 0; limit 1..1000")
    return json_response({"events": await request.app[HISTORY].events(after, limit)})


async def _sample_forever(app: web.Application, history: History) -> None:
    """A point at start, then every interval on a fixed schedule (no drift); maintenance between."""
    interval_s = app[SETTINGS].history_interval_ms / 1000
    loop = asyncio.get_running_loop()
    started = loop.time()
    ticks = 0
    last_maintenance = 0.0
    if app[SETTINGS].tmux_status_url is None:
        # The tmux-status default is this server itself, not listening yet while the application starts:
        # the first point waits (a little) for the socket, or it would record tmux as unreachable (and open
        # its breaker, logged as if tmux were down).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app[SELF_ADDRESS].known.wait(), ADDRESS_WAIT_S)
        started = loop.time()
    while True:
        try:
            tmux, worker = await app[UPSTREAMS].both()
            history.record(status_fields(app[SOURCES], tmux, worker), int(time.time() * 1000))
            if loop.time() - last_maintenance >= MAINTAIN_EVERY_S:
                last_maintenance = loop.time()
                await history.maintain()
        except Exception:
            log_event("history_sample_failed", level=logging.ERROR, exc_info=True)
        ticks += 1
        next_at = started + ticks * interval_s
        if next_at < loop.time():  # a stall of several intervals: skip the missed ticks, keep the phase
            ticks = int((loop.time() - started) / interval_s) + 1
            next_at = started + ticks * interval_s
        await asyncio.sleep(next_at - loop.time())


async def _history_ctx(app: web.Application) -> AsyncIterator[None]:
    history = await History.open(app[SETTINGS])
    app[HISTORY] = history
    app[SNAPSHOTS].observers.append(history.observe)

    def push(event: dict[str, object]) -> None:  # EVENTS-PUSH, where the live feature runs
        broadcaster = app.get(BROADCASTER)
        if broadcaster is not None:
            broadcaster.publish({"type": "event", "data": event})

    history.listeners.append(push)
    log_event("history", state_dir=app[SETTINGS].state_dir, event_log=app[SETTINGS].event_log,
              interval_ms=app[SETTINGS].history_interval_ms)
    task = asyncio.create_task(_sample_forever(app, history))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await history.close()


def setup(app: web.Application) -> None:
    """Register the history and events endpoints and the history engine's lifetime (unless switched off)."""
    if not app[SETTINGS].history:
        return
    app.cleanup_ctx.append(_history_ctx)
    add_endpoint(app, HISTORY_PATH, history_handler)
    add_endpoint(app, EVENTS_PATH, events_handler)
