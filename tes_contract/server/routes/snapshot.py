"""`GET /api/dev/workers/{id}/snapshot` (DEV-SNAPSHOT): the worker's snapshot, streamed, behind the guard.

Order (DEV-NOSIDE): the guard (Origin 403, token 401) -> the id (400) -> the worker's slot (429 with
`Retry-After`) -> the one upstream call. Engine: worker_snapshot.py.
"""

from __future__ import annotations

from aiohttp import web

from tes_contract.server.http import add_guarded, error_response
from tes_contract.server.state import SESSION, SETTINGS
from tes_contract.server.worker_snapshot import RateLimiter, Upstream, id_problem, stream_snapshot

SNAPSHOT_PATH = "/api/dev/workers/{id}/snapshot"
LIMITER = web.AppKey("snapshot_limiter", RateLimiter)
_RESOLUTIONS = {
    400: "the worker API refused the id",
    404: "GET /api/dev/workers lists the workers",
    502: "fix the worker API's snapshot endpoint",
    503: "start the worker API or point TES_WORKER_API_URL at it",
    504: "the worker took longer than TES_UPSTREAM_TIMEOUT_MS; raise it or make the worker faster",
}


async def snapshot_handler(request: web.Request, body: bytes) -> web.StreamResponse:
    """Validate the id, take the worker's slot, then stream the worker's body byte for byte."""
    worker_id = request.match_info["id"]
    problem = id_problem(worker_id)
    if problem is not None:
        return error_response(400, problem, "GET /api/dev/workers lists the workers and their ids")
    retry_after = request.app[LIMITER].take(worker_id)
    if retry_after is not None:
        return error_response(429, f"one snapshot of worker {worker_id!r} per 10 s",
                              f"retry in {retry_after} s", {"Retry-After": str(retry_after)})
    settings = request.app[SETTINGS]
    url = f"{settings.worker_api_url.rstrip('/')}/workers/{worker_id}/snapshot"
    try:
        return await stream_snapshot(request, request.app[SESSION], url, worker_id, settings.upstream_timeout_s)
    except Upstream as exc:
        return error_response(exc.status, exc.error, _RESOLUTIONS[exc.status])


def setup(app: web.Application) -> None:
    """Register the snapshot route (guarded: it reads sensitive data) and its per-worker limiter."""
    app[LIMITER] = RateLimiter()
    add_guarded(app, SNAPSHOT_PATH, "GET", snapshot_handler)
