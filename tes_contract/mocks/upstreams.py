"""`MockUpstreams`: both mocks and their control API in this process, as one async context manager."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from tes_contract.contract.formats import url_host
from tes_contract.errors import ScenarioError, SetupError
from tes_contract.mocks.control_app import create_control_app
from tes_contract.mocks.journal import Journal
from tes_contract.mocks.scenarios import UPSTREAMS, check_upstream, parse_scenario
from tes_contract.mocks.server import MockSettings, UpstreamMock
from tes_contract.mocks.timeline import TimelineRun, load_timeline


class MockUpstreams:
    """The tmux-status, worker and webhook-receiver mocks on real sockets, plus the control API on its own port.

    Args:
        host: interface to bind (loopback by default).
        tmux_port, worker_port, webhook_port, control_port: 0 picks a free port; the URLs show the one bound.
        seed: default seed of `chaos` scenarios.
        client_timeout_ms: the timeout of the server under test; `"0.8x"` delays are fractions of it.
        tmux_path: path of the tmux-status endpoint.
        tmux, worker, webhook: initial scenario of each mock (a name or `{"scenario": NAME, ...params}`).
        timeline: a timeline file or document to run from the start (see `tes_contract.mocks.timeline`).

    Example:
        async with MockUpstreams() as mocks:
            await mocks.set("worker", "hang")
            env = {"TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url,
                   "TES_ALERT_WEBHOOK_URL": mocks.webhook_url}
    """

    def __init__(self, host: str = "127.0.0.1", tmux_port: int = 0, worker_port: int = 0, control_port: int = 0,
                 seed: int = 0, client_timeout_ms: float = 5000, tmux_path: str = "/api/dev/tmux/status",
                 tmux: Any = "healthy", worker: Any = "healthy", timeline: Path | str | dict[str, Any] | None = None,
                 journal_limit: int = 50_000, webhook_port: int = 0, webhook: Any = "healthy") -> None:
        if not tmux_path.startswith("/"):
            raise ScenarioError(f"tmux_path must start with '/', got {tmux_path!r}")
        self.host = host
        self.mock_settings = MockSettings(client_timeout_ms=float(client_timeout_ms), seed=seed)
        self._initial_timeout = float(client_timeout_ms)
        self._initial = {"tmux": tmux, "worker": worker, "webhook": webhook}
        self._control_port = control_port
        self._timeline_source = timeline
        self._timeline: TimelineRun | None = None
        self.mocks: dict[str, UpstreamMock] = {}
        ports = {"tmux": tmux_port, "worker": worker_port, "webhook": webhook_port}
        for name in UPSTREAMS:
            scenario = parse_scenario(name, self._initial[name], default_seed=seed)
            self.mocks[name] = UpstreamMock(name, host, ports[name], self.mock_settings, Journal(name, journal_limit),
                                            scenario, tmux_path)
        self._control_runner: web.AppRunner | None = None
        self._control_site: web.TCPSite | None = None

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> MockUpstreams:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the mocks and the control API; on failure, close whatever started."""
        try:
            for mock in self.mocks.values():
                await mock.start()
            self._control_runner = web.AppRunner(create_control_app(self), access_log=None, shutdown_timeout=1.0)
            await self._control_runner.setup()
            self._control_site = web.TCPSite(self._control_runner, self.host, self._control_port)
            try:
                await self._control_site.start()
            except OSError as exc:
                raise SetupError(f"control API cannot listen on {self.host}:{self._control_port}: "
                                 f"{exc.strerror}") from exc
            self._control_port = self._control_runner.addresses[0][1]
            if self._timeline_source is not None:
                await self.run_timeline(self._timeline_source)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the timeline, the mocks and the control API."""
        await self.stop_timeline()
        for mock in self.mocks.values():
            await mock.close()
        if self._control_runner is not None:
            await self._control_runner.cleanup()
            self._control_runner = None

    # ------------------------------------------------------------ URLs
    @property
    def tmux_url(self) -> str:
        """Full URL of the tmux-status endpoint (TES_TMUX_STATUS_URL)."""
        return self.mocks["tmux"].url()

    @property
    def worker_url(self) -> str:
        """Base URL of the worker API (TES_WORKER_API_URL)."""
        return self.mocks["worker"].url()

    @property
    def webhook_url(self) -> str:
        """Full URL of the webhook receiver (TES_ALERT_WEBHOOK_URL)."""
        return self.mocks["webhook"].url()

    @property
    def webhook_port(self) -> int:
        """Port of the webhook mock."""
        return self.mocks["webhook"].port

    @property
    def control_url(self) -> str:
        """Base URL of the control API."""
        return f"http://{url_host(self.host)}:{self._control_port}"

    @property
    def tmux_port(self) -> int:
        """Port of the tmux mock."""
        return self.mocks["tmux"].port

    @property
    def worker_port(self) -> int:
        """Port of the worker mock."""
        return self.mocks["worker"].port

    @property
    def control_port(self) -> int:
        """Port of the control API."""
        return self._control_port

    async def urls(self) -> dict[str, str]:
        """Return the URLs, as the CLI prints them."""
        return {"tmux": self.tmux_url, "worker": self.worker_url, "webhook": self.webhook_url,
                "control": self.control_url}

    # ------------------------------------------------------------ control
    def _mock(self, upstream: str) -> UpstreamMock:
        return self.mocks[check_upstream(upstream)]

    async def set(self, upstream: str, scenario: str | dict[str, Any], **params: Any) -> dict[str, Any]:
        """Set an upstream's scenario (PUT /upstreams/{name}/scenario); stops a timeline on that upstream.

        Example: `await mocks.set("tmux", "slow", delay="0.8x")`.
        """
        request = {"scenario": scenario, **params} if isinstance(scenario, str) else {**scenario, **params}
        mock = self._mock(upstream)
        parsed = parse_scenario(upstream, request, default_seed=self.mock_settings.seed)
        if self._timeline is not None:
            self._timeline.release(upstream)
        await mock.apply(parsed)
        return mock.describe()

    async def get(self, upstream: str) -> dict[str, Any]:
        """Return the scenario of an upstream (GET /upstreams/{name}/scenario)."""
        return self._mock(upstream).describe()

    async def journal(self, upstream: str) -> list[dict[str, Any]]:
        """Return the journal entries of an upstream, oldest first."""
        return self._mock(upstream).journal.entries()

    async def clear_journal(self, upstream: str) -> int:
        """Forget an upstream's journal; return how many entries it had."""
        return self._mock(upstream).journal.clear()

    async def set_client_timeout(self, client_timeout_ms: float) -> dict[str, Any]:
        """Tell the mocks the server's upstream timeout, the base of `"0.8x"` delays; return the settings."""
        self._set_client_timeout(client_timeout_ms)
        return await self.settings()

    def _set_client_timeout(self, client_timeout_ms: float) -> None:
        if isinstance(client_timeout_ms, bool) or not isinstance(client_timeout_ms, (int, float)) \
                or client_timeout_ms <= 0:
            raise ScenarioError(f"client_timeout_ms must be a number > 0, got {client_timeout_ms!r}")
        self.mock_settings.client_timeout_ms = float(client_timeout_ms)

    async def settings(self) -> dict[str, Any]:
        """Return the shared settings as JSON."""
        return {"client_timeout_ms": self.mock_settings.client_timeout_ms, "seed": self.mock_settings.seed}

    async def reset(self) -> None:
        """Back to the start: every mock healthy, journals empty and renumbered, timeline stopped."""
        await self.stop_timeline()
        self.mock_settings.client_timeout_ms = self._initial_timeout
        for name, mock in self.mocks.items():
            await mock.apply(parse_scenario(name, "healthy", default_seed=self.mock_settings.seed))
            mock.journal.reset()

    # ------------------------------------------------------------ timelines
    async def run_timeline(self, source: Path | str | dict[str, Any]) -> dict[str, Any]:
        """Load a timeline (file path or document) and start running its phases now; return the scenarios."""
        timeline = load_timeline(source)
        await self.stop_timeline()
        if timeline.client_timeout_ms is not None:
            self._set_client_timeout(timeline.client_timeout_ms)
        self._timeline = TimelineRun(timeline, self.mocks)
        await self._timeline.start()
        return {"upstreams": {name: mock.describe() for name, mock in self.mocks.items()}}

    async def stop_timeline(self) -> None:
        """Stop a running timeline; each mock keeps the scenario it has."""
        if self._timeline is not None:
            timeline, self._timeline = self._timeline, None
            await timeline.stop()

    async def wait_timeline(self) -> None:
        """Wait until every upstream of the running timeline reached its last phase."""
        if self._timeline is not None:
            await self._timeline.wait()
