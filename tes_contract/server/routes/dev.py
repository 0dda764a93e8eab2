"""The dev profile's reads: the real tmux's sessions, and the worker list of the worker API."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from jsonschema.protocols import Validator

from tes_contract.contract.schemas import validator_for
from tes_contract.server.breaker import SingleFlight
from tes_contract.server.http import add_endpoint, error_response, json_response
from tes_contract.server.state import SESSION, SETTINGS, TMUX_PATH
from tes_contract.server.tmux import tmux_status
from tes_contract.server.upstreams import fetch_json, worker_reason

WORKERS_PATH = "/api/dev/workers"
#: tmux itself answers in milliseconds; a stuck tmux server must not hold the endpoint longer than this.
TMUX_TIMEOUT_S = 2.0

TMUX_LISTING = web.AppKey("tmux_listing", SingleFlight[dict[str, Any]])
WORKER_VALIDATOR = web.AppKey("worker_validator", Validator)


async def tmux_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/tmux/status: the real tmux's sessions in the tmux-status shape."""
    return json_response(await request.app[TMUX_LISTING]())


async def workers_handler(request: web.Request) -> web.StreamResponse:
    """GET /api/dev/workers: the worker API's workers; 503 when it cannot be reached, 502 when it answers badly."""
    app = request.app
    settings = app[SETTINGS]
    answer = await fetch_json(app[SESSION], settings.worker_status_url, settings.upstream_timeout_s)
    if not answer.answered:
        return error_response(503, f"worker API unreachable at {settings.worker_status_url}: {answer.reason}",
                              "start the worker API or point TES_WORKER_API_URL at it")
    body = answer.body
    if not answer.ok or not app[WORKER_VALIDATOR].is_valid(body):
        return error_response(502, f"worker API answered badly at {settings.worker_status_url}: "
                              f"{worker_reason(answer)}", "fix the worker API (schemas/worker-status.json)")
    return json_response({"connected": body["connected"], "workers": body["workers"]})


def setup(app: web.Application) -> None:
    """Register the tmux status and worker list endpoints; the tmux listing is single-flight."""
    settings = app[SETTINGS]
    app[WORKER_VALIDATOR] = validator_for("worker-status")

    async def list_tmux() -> dict[str, Any]:
        return await tmux_status(settings.tmux_socket, min(TMUX_TIMEOUT_S, settings.upstream_timeout_s))

    listing: SingleFlight[dict[str, Any]] = SingleFlight(list_tmux)
    app[TMUX_LISTING] = listing
    add_endpoint(app, TMUX_PATH, tmux_handler)
    add_endpoint(app, WORKERS_PATH, workers_handler)

    async def close_listing(app: web.Application) -> None:
        await listing.aclose()

    app.on_cleanup.append(close_listing)
