"""The WebSocket connections the application holds, counted for `sessions.websocketConnections`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import WSCloseCode, web


class WebSocketRegistry:
    """Open WebSocket connections; a handler registers each one for as long as it is open.

    Example:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async with request.app[WEBSOCKETS].hold(ws):
            async for message in ws: ...
    """

    def __init__(self) -> None:
        self._open: set[web.WebSocketResponse] = set()

    def __len__(self) -> int:
        if not self._open:
            return 0  # the common case, asked on every status snapshot
        return sum(1 for ws in self._open if not ws.closed)

    @asynccontextmanager
    async def hold(self, ws: web.WebSocketResponse) -> AsyncIterator[web.WebSocketResponse]:
        """Count `ws` while the block runs (the connection's life in its handler)."""
        self._open.add(ws)
        try:
            yield ws
        finally:
            self._open.discard(ws)

    async def close_all(self) -> None:
        """Close every connection (application shutdown), so handlers end and the port frees."""
        # Concurrently: each close waits (up to the socket's close timeout) for the client's close frame.
        await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                               for ws in list(self._open)), return_exceptions=True)
