"""The alerts of the history profile: `GET /api/dev/alerts` and the webhook deliveries' lifetime.

The engine is `server/alerts.py`; it opens after the history engine (its `cleanup_ctx` comes later in
`app.FEATURES`), listens to its events and closes before it, so the last delivery states are written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from tes_contract.server.alerts import Alerts, webhook_origin
from tes_contract.server.http import add_endpoint, json_response
from tes_contract.server.logs import log_event
from tes_contract.server.routes.history import HISTORY, HISTORY_PATH
from tes_contract.server.state import SETTINGS

ALERTS_PATH = "/api/dev/alerts"
ALERTS = web.AppKey("alerts", Alerts)


async def alerts_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/alerts: pending, delivered and failed alerts with their last error."""
    return json_response(await request.app[ALERTS].describe())


async def _alerts_ctx(app: web.Application) -> AsyncIterator[None]:
    history = app[HISTORY]
    alerts = await Alerts.open(app[SETTINGS], history)
    app[ALERTS] = alerts
    history.listeners.append(alerts.on_event)
    log_event("alerts", webhook=webhook_origin(app[SETTINGS].alert_webhook_url) or "(unset: no alerts sent)")
    try:
        yield
    finally:
        history.listeners.remove(alerts.on_event)
        await alerts.close()


def setup(app: web.Application) -> None:
    """Register the alerts endpoint and the deliveries' lifetime (with the history feature only: the queue is
    in its database; a feature list without `history.setup`, as a benchmark builds, has no alerts)."""
    served = {resource.canonical for resource in app.router.resources()}
    if not app[SETTINGS].history or HISTORY_PATH not in served:
        return
    app.cleanup_ctx.append(_alerts_ctx)
    add_endpoint(app, ALERTS_PATH, alerts_handler)
