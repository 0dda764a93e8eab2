"""pytest fixtures for tests that need mock upstreams: load with `-p tes_contract.mocks.pytest_fixtures`.

    async def test_my_server_survives_a_hanging_worker(mock_upstreams):   # pytest-asyncio
        await mock_upstreams.set("worker", "hang")
        ...

Override `mock_upstreams_options` in your conftest.py to change the keyword arguments of `MockUpstreams`
(for instance `{"client_timeout_ms": 1000}`). Requires pytest-asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tes_contract.mocks.control import MockControl
from tes_contract.mocks.upstreams import MockUpstreams


@pytest.fixture
def mock_upstreams_options() -> dict[str, Any]:
    """Keyword arguments of `MockUpstreams` for the `mock_upstreams` fixture; override to change them."""
    return {}


@pytest_asyncio.fixture
async def mock_upstreams(mock_upstreams_options: dict[str, Any]) -> AsyncIterator[MockUpstreams]:
    """The mocks (tmux, worker, webhook) and their control API on free loopback ports, closed after the test."""
    async with MockUpstreams(**mock_upstreams_options) as mocks:
        yield mocks


@pytest_asyncio.fixture
async def mock_control(mock_upstreams: MockUpstreams) -> AsyncIterator[MockControl]:
    """A control-API client of the `mock_upstreams` fixture (drives it over HTTP, as another process would)."""
    async with MockControl(mock_upstreams.control_url) as control:
        yield control


@pytest.fixture
def upstream_env(mock_upstreams: MockUpstreams) -> dict[str, str]:
    """Environment variables pointing a status server at the mocks."""
    return {"TES_TMUX_STATUS_URL": mock_upstreams.tmux_url, "TES_WORKER_API_URL": mock_upstreams.worker_url,
            "TES_ALERT_WEBHOOK_URL": mock_upstreams.webhook_url,
            "TES_UPSTREAM_TIMEOUT_MS": str(int(mock_upstreams.mock_settings.client_timeout_ms))}
