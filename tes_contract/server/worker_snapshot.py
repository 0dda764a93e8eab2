"""The worker snapshot proxy's engine (DEV-SNAPSHOT): the per-worker rate limit and the streamed copy.

The copy never holds the body: chunks of at most `CHUNK_BYTES` go from the worker's socket to the client's
as they come, with the client's backpressure (`StreamResponse.write` drains). One deadline covers connect,
headers and the whole body; before the headers are sent a miss is a 504, after them the connection is
aborted, so a client never takes a short body for a complete one (the worker's `Content-Length` is passed
on, and a chunked answer lacks its last chunk). docs/dev.md, "Snapshot proxy".
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import hdrs, web

#: PROFILES.md's id pattern; `.` and `..` are refused too (a path segment that means a directory).
WORKER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
WINDOW_S = 10.0
CHUNK_BYTES = 64 * 1024
#: Past this many remembered workers, the limiter forgets the ones whose window has ended.
_PRUNE_AT = 1024


def id_problem(worker_id: str) -> str | None:
    """Why `worker_id` is not a worker id, or None when it is one."""
    if not WORKER_ID.match(worker_id) or worker_id in (".", ".."):
        return f"worker id {worker_id!r} must match {WORKER_ID.pattern} and not be '.' or '..'"
    return None


class RateLimiter:
    """One snapshot per worker per `window_s`: the first request takes the slot, whatever the worker answers."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._taken: dict[str, float] = {}

    def take(self, key: str) -> int | None:
        """Take `key`'s slot now; None when free, else the whole seconds (>= 1) until it frees (Retry-After)."""
        now = self._clock()
        taken = self._taken.get(key)
        if taken is not None and now - taken < self.window_s:
            return max(1, math.ceil(self.window_s - (now - taken)))
        if len(self._taken) >= _PRUNE_AT:
            self._taken = {k: t for k, t in self._taken.items() if now - t < self.window_s}
        self._taken[key] = now
        return None


class Upstream(Exception):
    """The worker gave no answer, or an answer the proxy does not stream; `status` is what the client gets."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _worker_error(status: int, raw: bytes) -> str:
    try:
        document: Any = json.loads(raw)
    except ValueError:
        document = None
    message = document.get("error") if isinstance(document, dict) else None
    return f"worker answered {status}: {message if isinstance(message, str) else raw[:200].decode('utf-8', 'replace')}"


async def stream_snapshot(request: web.Request, session: aiohttp.ClientSession, url: str, worker_id: str,
                          timeout_s: float) -> web.StreamResponse:
    """Copy the worker's 200 body to the client within `timeout_s`; raise `Upstream` before headers are sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    response: web.StreamResponse | None = None
    try:
        async with asyncio.timeout_at(deadline):
            async with session.get(url, allow_redirects=False,
                                   timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout_s)) as upstream:
                if upstream.status != 200:
                    raw = await upstream.content.read(CHUNK_BYTES)
                    status = upstream.status if upstream.status in (400, 404) else 502
                    raise Upstream(status, _worker_error(upstream.status, raw))
                response = web.StreamResponse(status=200, headers={
                    hdrs.CONTENT_TYPE: upstream.headers.get(hdrs.CONTENT_TYPE, "application/json"),
                    hdrs.CONTENT_DISPOSITION: f'attachment; filename="worker-{worker_id}-snapshot.json"',
                    hdrs.CACHE_CONTROL: "no-store"})
                if upstream.content_length is not None:
                    response.content_length = upstream.content_length
                await response.prepare(request)
                async for chunk in upstream.content.iter_chunked(CHUNK_BYTES):
                    await response.write(chunk)
        await response.write_eof()
        return response
    except TimeoutError:
        if response is None:
            raise Upstream(504, f"worker snapshot not complete within {timeout_s * 1000:.0f} ms") from None
        return _abort(request, response)
    except (aiohttp.ClientError, OSError) as exc:
        if response is None:
            raise Upstream(503, f"worker API unreachable: {type(exc).__name__}: {exc}") from None
        return _abort(request, response)


def _abort(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Headers are out and the body is short: drop the connection (RST), never end the body cleanly."""
    if request.transport is not None:
        request.transport.abort()
    return response
