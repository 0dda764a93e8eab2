"""The application state every feature shares, typed with `web.AppKey`, and the server's own address."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from tes_contract.contract.formats import url_host
from tes_contract.server.breaker import Upstreams
from tes_contract.server.push import Broadcaster
from tes_contract.server.security import Guard
from tes_contract.server.settings import Settings
from tes_contract.server.snapshot import SharedSnapshot, StatusSources
from tes_contract.server.traffic import TrafficWindow
from tes_contract.server.websockets import WebSocketRegistry

TMUX_PATH = "/api/dev/tmux/status"


class SelfAddress:
    """The server's own base URL, learnt from the socket a request arrived on (the port may be 0 at start)."""

    __slots__ = ("base",)

    def __init__(self) -> None:
        self.base: str | None = None

    def learn(self, request: web.Request) -> None:
        """Remember `http://HOST:PORT` of the local end of this request's connection."""
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        if isinstance(sockname, tuple) and len(sockname) >= 2:
            self.base = f"http://{url_host(str(sockname[0]))}:{sockname[1]}"

    def tmux_url(self) -> str:
        """The default tmux-status upstream: this server's own /api/dev/tmux/status."""
        return f"{self.base or 'http://127.0.0.1:3002'}{TMUX_PATH}"


SETTINGS = web.AppKey("settings", Settings)
TRAFFIC = web.AppKey("traffic", TrafficWindow)
WEBSOCKETS = web.AppKey("websockets", WebSocketRegistry)
SELF_ADDRESS = web.AppKey("self_address", SelfAddress)
SESSION = web.AppKey("client_session", aiohttp.ClientSession)
UPSTREAMS = web.AppKey("upstreams", Upstreams)
SOURCES = web.AppKey("status_sources", StatusSources)
SNAPSHOTS = web.AppKey("shared_snapshot", SharedSnapshot)
BROADCASTER = web.AppKey("push_broadcaster", Broadcaster)
GUARD = web.AppKey("guard", Guard)
