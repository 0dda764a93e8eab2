"""`GET /api/dev/metrics`: Prometheus exposition of the application's own registry (the metrics profile).

The handler is prometheus_client's own aiohttp handler (content negotiation: text 0.0.4 by default,
OpenMetrics when `Accept` asks for it), inside the same accounting wrapper as every route, so a scrape is
counted like any request, by the next scrape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from tes_contract.contract.clauses.metrics import METRICS_PATH
from tes_contract.server.http import add_endpoint
from tes_contract.server.metrics import ServerMetrics
from tes_contract.server.state import SOURCES, TRAFFIC, UPSTREAMS

METRICS = web.AppKey("metrics", ServerMetrics)


async def metrics_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/metrics: the registry of this application, rendered by prometheus_client."""
    return await request.app[METRICS].handler(request)


async def _metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the registry once the status sources exist, and hook it where requests and calls are counted."""
    metrics = ServerMetrics(app[SOURCES])
    app[METRICS] = metrics
    app[TRAFFIC].observer = metrics.request
    app[UPSTREAMS].observe = metrics.upstream_call
    try:
        yield
    finally:
        app[TRAFFIC].observer = None
        app[UPSTREAMS].observe = None



def setup(app: web.Application) -> None:
    """Register the metrics endpoint; its registry is made with the application's upstreams."""
    add_endpoint(app, METRICS_PATH, metrics_handler)
    app.cleanup_ctx.append(_metrics_ctx)
