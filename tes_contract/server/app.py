"""`create_app(settings)`: the aiohttp application of the reference server, wired from its features.

Each feature is a module of `tes_contract.server.routes` with `setup(app)`; `FEATURES` lists them in the
order their routes are registered. The state they share is in `state.py`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
from aiohttp import hdrs, web

from tes_contract.contract.clauses.metrics import UNMATCHED_ROUTE
from tes_contract.server.breaker import Upstreams
from tes_contract.server.http import accounted, not_found
from tes_contract.server.logs import log_event
from tes_contract.server.process import ProcessMetrics
from tes_contract.server.routes import alerts, control, dashboard, dev, history, live, metrics, snapshot, status
from tes_contract.server.security import Guard, load_token, loopback_bind
from tes_contract.server.settings import Settings
from tes_contract.server.snapshot import Clock, RouteCounts, SharedSnapshot, StatusSources
from tes_contract.server.state import (
    GUARD,
    SELF_ADDRESS,
    SESSION,
    SETTINGS,
    SNAPSHOTS,
    SOURCES,
    TMUX_PATH,
    TRAFFIC,
    UPSTREAMS,
    WEBSOCKETS,
    SelfAddress,
)
from tes_contract.server.traffic import TrafficWindow
from tes_contract.server.websockets import WebSocketRegistry

#: Matches every path, newlines included (`.` would stop at an encoded newline and leave aiohttp's text 404);
#: registered last, it answers the JSON 404.
FALLBACK_PATH = r"/{tail:[\s\S]*}"

#: The features, each registering its routes and state.
FEATURES: tuple[Callable[[web.Application], None], ...] = (status.setup, dev.setup, metrics.setup, live.setup,
                                                          history.setup, control.setup, snapshot.setup, alerts.setup,
                                                          dashboard.setup)


def create_app(settings: Settings, features: Sequence[Callable[[web.Application], None]] = FEATURES
               ) -> web.Application:
    """Build the application; client session, upstream guards and metrics sources start with it.

    Args:
        settings: validated settings (`Settings.from_env()`).
        features: the features to wire (default `FEATURES`; the benchmark leaves metrics out to compare).

    Example:
        web.run_app(create_app(Settings.from_env()), access_log=None)
    """
    traffic = TrafficWindow()
    app = web.Application()
    app[SETTINGS] = settings
    app[TRAFFIC] = traffic
    app[WEBSOCKETS] = WebSocketRegistry()
    app[SELF_ADDRESS] = SelfAddress(settings)
    app[SNAPSHOTS] = SharedSnapshot()
    app.cleanup_ctx.append(_guard_ctx)
    app.cleanup_ctx.append(_upstreams_ctx)
    for setup in features:
        setup(app)
    # Last, and indexed under "/": every known path resolves before it (aiohttp's resolver walks the
    # request path from the longest prefix down).
    app.router.add_route(hdrs.METH_ANY, FALLBACK_PATH, accounted(traffic, not_found, route_served=False,
                                                                 route=UNMATCHED_ROUTE))
    app.on_shutdown.append(_close_websockets)
    return app


async def _guard_ctx(app: web.Application) -> AsyncIterator[None]:
    """The allow-lists and the dev token (made at each start unless TES_DEV_TOKEN); the log names the file only."""
    settings = app[SETTINGS]
    token, path = load_token(settings)
    app[GUARD] = Guard(settings, token, path)
    log_event("dev_token", source="TES_DEV_TOKEN" if path is None else "generated", file=str(path) if path else None)
    if not loopback_bind(settings.host):
        log_event("exposed", level=logging.WARNING, host=settings.host,
                  hint="bound beyond loopback: only TES_ALLOWED_HOSTS and TES_ALLOWED_ORIGINS keep foreign "
                       "pages out; the dev token guards every state change")
    yield


async def _upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    """One client session for every upstream call, and the guards around it, for the app's lifetime."""
    settings = app[SETTINGS]
    # Naive mode opens a connection per request like the original; guarded mode needs a handful at most.
    # Idle keep-alive connections are dropped after 2 s, before common servers drop theirs (Node: 5 s), so
    # a call rarely meets a connection the upstream has just closed.
    connector = aiohttp.TCPConnector(limit=0 if settings.naive else 100, keepalive_timeout=2.0)
    session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                    timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout_s))
    # aiohttp silently resends an idempotent request once after a reset or close (RFC 9112 9.3.1.1); that
    # would be a second upstream call in one status request (UPSTREAM-ONCE) and double the wait. aiohttp's
    # own TestClient switches it off through the same attribute; there is no public switch.
    session._retry_connection = False
    address = app[SELF_ADDRESS]
    upstreams = Upstreams(settings, session, address.tmux_url)
    app[SESSION] = session
    app[UPSTREAMS] = upstreams
    process = ProcessMetrics()
    app[SOURCES] = StatusSources(settings, app[TRAFFIC], process, Clock(), RouteCounts.of(app),
                                 app[WEBSOCKETS].__len__)
    log_event("upstreams", tmux=settings.tmux_status_url or "(self) " + TMUX_PATH,
              worker=settings.worker_status_url, timeout_ms=settings.upstream_timeout_ms,
              mode="naive" if settings.naive else "single-flight+breaker")
    try:
        yield
    finally:
        await upstreams.aclose()
        await session.close()
        process.close()


async def _close_websockets(app: web.Application) -> None:
    await app[WEBSOCKETS].close_all()
