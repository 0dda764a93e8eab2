"""`MockControl`: the HTTP client of the mocks' control API, for mocks running in another process."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from tes_contract.errors import MockControlError

if TYPE_CHECKING:
    import httpx


class MockControl:
    """Async client of the control API, for mocks running in another process.

    Example:
        async with MockControl("http://127.0.0.1:3005") as control:
            await control.set("worker", "slow", delay="0.8x")
            entries = await control.journal("worker")
    """

    def __init__(self, control_url: str, timeout_s: float = 10.0) -> None:
        # Imported here: httpx costs ~0.1 s to import, which `import tes_contract` would pay for everyone.
        import httpx

        self.control_url = control_url.rstrip("/")
        self._client: httpx.AsyncClient = httpx.AsyncClient(base_url=self.control_url, timeout=timeout_s)
        self._errors: tuple[type[Exception], ...] = (httpx.HTTPError,)

    async def __aenter__(self) -> MockControl:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except self._errors as exc:
            raise MockControlError(f"control API {self.control_url} unreachable: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise MockControlError(f"control API {method} {path}: {response.status_code} {message}")
        return response.json()

    async def set(self, upstream: str, scenario: str | dict[str, Any], **params: Any) -> dict[str, Any]:
        """Set an upstream's scenario; same semantics as `MockUpstreams.set`."""
        request = {"scenario": scenario, **params} if isinstance(scenario, str) else {**scenario, **params}
        result: dict[str, Any] = await self._call("PUT", f"/upstreams/{upstream}/scenario", request)
        return result

    async def get(self, upstream: str) -> dict[str, Any]:
        """Return the scenario of an upstream."""
        result: dict[str, Any] = await self._call("GET", f"/upstreams/{upstream}/scenario")
        return result

    async def journal(self, upstream: str) -> list[dict[str, Any]]:
        """Return the journal entries of an upstream, oldest first."""
        result: list[dict[str, Any]] = (await self._call("GET", f"/upstreams/{upstream}/journal"))["entries"]
        return result

    async def clear_journal(self, upstream: str) -> int:
        """Forget an upstream's journal; return how many entries it had."""
        return int((await self._call("DELETE", f"/upstreams/{upstream}/journal"))["cleared"])

    async def reset(self) -> None:
        """Both mocks healthy, journals empty, timeline stopped."""
        await self._call("POST", "/reset")

    async def set_client_timeout(self, client_timeout_ms: float) -> dict[str, Any]:
        """Tell the mocks the server's upstream timeout; return the settings."""
        result: dict[str, Any] = await self._call("PUT", "/settings", {"client_timeout_ms": client_timeout_ms})
        return result

    async def settings(self) -> dict[str, Any]:
        """The shared settings of the mocks."""
        result: dict[str, Any] = await self._call("GET", "/settings")
        return result

    async def run_timeline(self, document: dict[str, Any]) -> dict[str, Any]:
        """Run a timeline document from now."""
        result: dict[str, Any] = await self._call("PUT", "/timeline", document)
        return result

    async def urls(self) -> dict[str, str]:
        """Return the URLs of the mocks."""
        result: dict[str, str] = await self._call("GET", "/")
        return result
