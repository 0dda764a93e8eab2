"""`MockApi`: what drives the mocks, in this process (`MockUpstreams`) or over HTTP (`MockControl`).

One async protocol for both, so the harness and the control API's handlers need not know which they hold.
"""

from __future__ import annotations

from typing import Any, Protocol


class MockApi(Protocol):
    """Set scenarios, read and clear journals, reset; every method a coroutine."""

    async def set(self, upstream: str, scenario: str | dict[str, Any], **params: Any) -> dict[str, Any]:
        """Switch an upstream's scenario; return it as `get` shows it."""
        ...

    async def get(self, upstream: str) -> dict[str, Any]:
        """The scenario of an upstream, with its listener state and request count."""
        ...

    async def journal(self, upstream: str) -> list[dict[str, Any]]:
        """The requests an upstream received, oldest first."""
        ...

    async def clear_journal(self, upstream: str) -> int:
        """Forget an upstream's journal; return how many entries it had."""
        ...

    async def reset(self) -> None:
        """Every mock healthy, journals empty, timeline stopped."""
        ...

    async def set_client_timeout(self, client_timeout_ms: float) -> dict[str, Any]:
        """Tell the mocks the server's upstream timeout (the base of `"0.8x"`); return the settings."""
        ...

    async def settings(self) -> dict[str, Any]:
        """The shared settings: `client_timeout_ms`, `seed`."""
        ...

    async def run_timeline(self, document: dict[str, Any]) -> dict[str, Any]:
        """Run a timeline document from now; return every upstream's scenario."""
        ...

    async def urls(self) -> dict[str, str]:
        """The URLs of the mocks and of the control API."""
        ...
