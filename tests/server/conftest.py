"""Fixtures of the reference server's tests: the app on a real socket, and a tiny scripted upstream.

The tiny upstream serves both upstream paths from a per-upstream script; it exists for fast unit-level
tests. The scenario tests use the project's mock upstreams (`tes_contract.mocks`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tes_contract.conformance.managed import free_port
from tes_contract.server import Settings, create_app

# The dashboard's browser fixtures (module-scoped stack, browser, open_page), for its test modules.
from .dashboard_stack import browser, open_page, stack  # noqa: F401, E402

HEALTHY_TMUX = {"online": True, "sessions": [
    {"name": "a", "windows": 1, "attached": False, "created": "2025-01-15T12:00:00Z",
     "panes": [{"index": 0, "title": "t", "command": "bash"}, {"index": 1, "title": "u", "command": "vim"}]},
    {"name": "b", "windows": 2, "attached": True, "created": "2025-01-15T12:00:00Z", "panes": []},
]}
HEALTHY_WORKER = {"connected": 3, "workers": [
    {"id": "w-1", "status": "idle", "lastSeen": "2025-01-15T12:34:56.000Z", "queueDepth": 0, "messagesProcessed": 1},
]}


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's server keeps its history (TES_STATE_DIR `.tes`, the event log `logs/`) in its own folder."""
    monkeypatch.chdir(tmp_path)


@dataclass
class Script:
    """What one upstream of the tiny upstream does: answer JSON or raw bytes after a delay, or hang."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    delay_s: float = 0.0
    hang: bool = False
    calls: int = 0


@dataclass
class TinyUpstream:
    """Both upstream paths on one socket, each following its script."""

    url: str
    scripts: dict[str, Script] = field(default_factory=dict)

    @property
    def tmux_url(self) -> str:
        return f"{self.url}/api/dev/tmux/status"

    def set(self, name: str, **kwargs: Any) -> Script:
        self.scripts[name] = Script(**kwargs)
        return self.scripts[name]


async def _answer(request: web.Request, script: Script) -> web.StreamResponse:
    script.calls += 1
    if script.hang:
        # aiohttp does not cancel a handler when its client leaves: end when the connection closes.
        while request.transport is not None and not request.transport.is_closing():
            await asyncio.sleep(0.02)
    if script.delay_s:
        await asyncio.sleep(script.delay_s)
    if script.raw is not None:
        return web.Response(status=script.status, body=script.raw, content_type="text/plain")
    return web.json_response(script.body, status=script.status)


@pytest.fixture
async def tiny_upstream(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> TinyUpstream:
    upstream: TinyUpstream | None = None

    async def tmux(request: web.Request) -> web.StreamResponse:
        assert upstream is not None
        return await _answer(request, upstream.scripts["tmux"])

    async def worker(request: web.Request) -> web.StreamResponse:
        assert upstream is not None
        return await _answer(request, upstream.scripts["worker"])

    app = web.Application()
    app.router.add_get("/api/dev/tmux/status", tmux)
    app.router.add_get("/workers/status", worker)
    server = await aiohttp_server(app)
    upstream = TinyUpstream(str(server.make_url("")).rstrip("/"))
    upstream.set("tmux", body=HEALTHY_TMUX)
    upstream.set("worker", body=HEALTHY_WORKER)
    return upstream


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


ServerFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def start_server(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> ServerFactory:
    """Start `create_app(Settings(**kwargs))` on a free loopback port; returns its base URL.

    History is off unless asked for: these tests count upstream calls exactly, and its sampler adds one.
    """

    async def start(**kwargs: Any) -> str:
        kwargs.setdefault("upstream_timeout_ms", 500)
        server = await aiohttp_server(create_app(Settings(port=0, **{"history": False, **kwargs})))
        return str(server.make_url("")).rstrip("/")

    return start


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session of the test (its own, apart from the server's upstream session)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def get_status(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """GET /api/dev/status; assert 200 and return the body."""
    async with http.get(f"{base}/api/dev/status") as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body
