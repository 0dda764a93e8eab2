"""`GET /api/dev/status`: both upstreams concurrently, then the snapshot (the core profile)."""

from __future__ import annotations

import logging

from aiohttp import web

from tes_contract.server.http import add_endpoint, error_response, json_bytes_response
from tes_contract.server.logs import log_event
from tes_contract.server.state import SELF_ADDRESS, SNAPSHOTS, SOURCES, UPSTREAMS

STATUS_PATH = "/api/dev/status"


async def status_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/status: both upstreams concurrently, then the snapshot; 503 only if assembly fails."""
    app = request.app
    address = app[SELF_ADDRESS]
    if address.base is None:
        address.learn(request)
    try:
        tmux, worker = await app[UPSTREAMS].both()
        return json_bytes_response(app[SNAPSHOTS].body(app[SOURCES], tmux, worker))
    except Exception:
        log_event("status_assembly_failed", level=logging.ERROR, exc_info=True)
        return error_response(503, "status assembly failed", "a server fault, not an upstream one: see the server "
                              "log (one JSON line per event on stderr) and retry")


def setup(app: web.Application) -> None:
    """Register the status endpoint."""
    add_endpoint(app, STATUS_PATH, status_handler)
