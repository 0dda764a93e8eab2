"""`tes-contract serve`: parse flags over the environment, then run the server until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

import click
from aiohttp import web

from tes_contract.errors import SetupError
from tes_contract.server import logs
from tes_contract.server.app import create_app
from tes_contract.server.logs import log_event
from tes_contract.server.settings import Settings
from tes_contract.server.state import GUARD, SELF_ADDRESS

SHUTDOWN_TIMEOUT_S = 1.0
#: A connection idle this long, or one whose request head has not arrived whole by then (slowloris, even
#: trickling a byte a second), is closed. aiohttp's AppRunner default is 3630 s: 1,000 slow connections held
#: an hour each (tests/server/test_abuse.py).
KEEPALIVE_TIMEOUT_S = 10.0


async def serve(settings: Settings, on_ready: Callable[[str], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve `settings` until `stop` is set or the process gets SIGTERM/SIGINT; then shut down cleanly."""
    app = create_app(settings)
    # On SIGTERM, requests still in flight (at worst waiting for an upstream timeout) get about 2 s (aiohttp
    # waits this long twice: for connections to drain, then for handlers) to finish,
    # then are cancelled: a stop never waits for aiohttp's default 60 s.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S,
                            keepalive_timeout=KEEPALIVE_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        try:
            await site.start()
        except OSError as exc:
            raise SetupError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
        host, port = runner.addresses[0][:2]
        app[SELF_ADDRESS].settle(str(host), int(port))  # the tmux-status default is this very socket
        url = f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        received: list[str] = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, _on_signal, stop, received, signum.name)
        log_event("listening", url=url, status=f"{url}/api/dev/status", pid=os.getpid())
        # PROFILES.md, dev: the dashboard URL with the token in its fragment, once, on stdout (not the log).
        print(f"dashboard: {url}/#token={app[GUARD].token}", flush=True)
        if on_ready is not None:
            on_ready(url)
        await stop.wait()
        log_event("stopping", signal=received[0] if received else None)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().remove_signal_handler(signum)
        await runner.cleanup()
        log_event("stopped")


def _on_signal(stop: asyncio.Event, received: list[str], name: str) -> None:
    received.append(name)
    stop.set()


@click.command("serve")
@click.option("--host", default=None, help="Interface to bind [env TES_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port, 0 for any free one [env TES_PORT, default 3002].")
@click.option("--tmux-status-url", default=None,
              help="tmux-status upstream [env TES_TMUX_STATUS_URL, default this server's /api/dev/tmux/status].")
@click.option("--worker-api-url", default=None,
              help="Worker API base URL [env TES_WORKER_API_URL, default http://127.0.0.1:3003].")
@click.option("--timeout-ms", "upstream_timeout_ms", type=int, default=None,
              help="Bound of each upstream call [env TES_UPSTREAM_TIMEOUT_MS, default 5000].")
@click.option("--primary-region", default=None, help="[env TES_PRIMARY_REGION, default us-east-1].")
@click.option("--tmux-socket", default=None, help="tmux socket name, as `tmux -L NAME` [env TES_TMUX_SOCKET].")
@click.option("--naive", is_flag=True, default=None,
              help="No single-flight, no circuit breaker: every request calls every upstream and waits "
                   "(the original's behaviour, for comparison).")
@click.option("--probe-interval", "probe_interval_s", type=float, default=None,
              help="Seconds an open circuit breaker waits before probing again (<= 5) [default 1].")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def serve_command(log_level: str, **flags: object) -> None:
    """Run the reference status server (GET /api/dev/status) until SIGTERM or Ctrl-C.

    Settings come from the TES_* environment variables; a flag overrides its variable. A bad value exits 2
    naming the variable. Logs are JSON lines on stderr.
    """
    logs.configure(log_level)
    settings = Settings.from_env(os.environ, **flags)
    log_event("config", **settings.describe())
    asyncio.run(serve(settings))
