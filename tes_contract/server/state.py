"""The application state every feature shares, typed with `web.AppKey`, and the server's own address."""

from __future__ import annotations

import asyncio

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
    """The server's own base URL: the bound socket once listening, or the socket a request arrived on.

    Before either is known (the history sampler's first point is taken during startup, before the socket is
    bound) the configured TES_HOST/TES_PORT stand in; only with TES_PORT=0 is there nothing to go on, and
    `known` tells a task to wait for the real address.
    """

    __slots__ = ("base", "known", "_configured")

    def __init__(self, settings: Settings | None = None) -> None:
        self.base: str | None = None
        #: Set once the real address is known (listening, or a request arrived).
        self.known = asyncio.Event()
        host = settings.host if settings is not None else "127.0.0.1"
        port = settings.port if settings is not None and settings.port else 3002
        self._configured = f"http://{url_host(_reachable(host))}:{port}"

    def learn(self, request: web.Request) -> None:
        """Remember `http://HOST:PORT` of the local end of this request's connection."""
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        if isinstance(sockname, tuple) and len(sockname) >= 2:
            self.settle(str(sockname[0]), int(sockname[1]))

    def settle(self, host: str, port: int) -> None:
        """The address the server listens on (the CLI calls it once the socket is bound)."""
        self.base = f"http://{url_host(_reachable(host))}:{port}"
        self.known.set()

    def tmux_url(self) -> str:
        """The default tmux-status upstream: this server's own /api/dev/tmux/status."""
        return f"{self.base or self._configured}{TMUX_PATH}"


def _reachable(host: str) -> str:
    """A host to connect to for one to listen on: the wildcard addresses mean this machine's loopback."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


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
