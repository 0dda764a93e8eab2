"""A real stack for the dashboard's browser tests and benchmark: mock upstreams, the reference server, tmux.

Each part is its own process on loopback (`tes-contract mock`, `tes-contract serve`) and tmux runs on a
private socket (`TES_TMUX_SOCKET`), so nothing touches a user's sessions. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extra is not installed: the fixtures skip (fail under CI=true)
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
#: Markup in API text: rendered as text, it does nothing; parsed as HTML, it sets window.__xss and alerts.
XSS = "<img src=x onerror=\"window.__xss=1;alert(1)\"></script>"
START_TIMEOUT_S = 20.0


def _read_line(stream: IO[str], prefix: str, deadline: float) -> str:
    """The rest of the first line of `stream` starting with `prefix` (blocking reads, bounded by the deadline)."""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise RuntimeError(f"process ended before printing {prefix!r}")
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise RuntimeError(f"no {prefix!r} line within {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen[str] | None) -> None:
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process.stdout is not None:
        process.stdout.close()


class Stack:
    """Mocks + server + private tmux; `start()` / `close()`, or use it as a context manager."""

    def __init__(self, **env: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tes-dashboard-"))
        self.socket = f"tes-dash-{os.getpid()}"
        self.extra_env = env
        self.mocks: subprocess.Popen[str] | None = None
        self.server: subprocess.Popen[str] | None = None
        self.control = self.worker_url = self.webhook_url = self.url = self.token = ""

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        ports = ["--tmux-port", "0", "--worker-port", "0", "--control-port", "0", "--webhook-port", "0"]
        self.mocks = subprocess.Popen([sys.executable, "-m", "tes_contract", "mock", *ports], cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.mocks.stdout is not None
        _read_line(self.mocks.stdout, "tmux: ", deadline)
        self.worker_url = _read_line(self.mocks.stdout, "worker: ", deadline)
        self.webhook_url = _read_line(self.mocks.stdout, "webhook: ", deadline)
        self.control = _read_line(self.mocks.stdout, "control: ", deadline)
        self.start_server()

    def start_server(self) -> None:
        """(Re)start the reference server on a free port; `url` and `token` from its `dashboard:` line."""
        env = {**os.environ, "TES_PORT": "0", "TES_WORKER_API_URL": self.worker_url, "TES_TMUX_SOCKET": self.socket,
               "TES_STATE_DIR": str(self.dir / "state"), "TES_EVENT_LOG": str(self.dir / "events.log"),
               "TES_UPSTREAM_TIMEOUT_MS": "1000", "TES_PUSH_INTERVAL_MS": "500", "TES_HISTORY_INTERVAL_MS": "1000",
               **self.extra_env}
        env.pop("TES_TMUX_STATUS_URL", None)  # the server's own, real tmux
        self.server = subprocess.Popen([sys.executable, "-m", "tes_contract", "serve"], cwd=ROOT, env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.server.stdout is not None
        link = _read_line(self.server.stdout, "dashboard: ", time.monotonic() + START_TIMEOUT_S)
        self.url, _, self.token = link.partition("/#token=")

    def restart_server(self, **env: str) -> None:
        """Stop the server and start it again on the same port with `env` added (a new token, as at any start)."""
        port = self.url.rsplit(":", 1)[1]
        self.stop_server()
        self.extra_env.update(env, TES_PORT=port)
        self.start_server()

    def stop_server(self) -> None:
        _stop(self.server)
        self.server = None

    def close(self) -> None:
        self.stop_server()
        _stop(self.mocks)
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def set_worker(self, scenario: str, **params: Any) -> None:
        """Switch the worker mock (control API), e.g. `set_worker("down")`."""
        response = httpx.put(f"{self.control}/upstreams/worker/scenario", json={"scenario": scenario, **params},
                             timeout=10)
        response.raise_for_status()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10, **kwargs)

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run tmux on the stack's private socket."""
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)

    def tmux_sessions(self) -> list[str]:
        listed = self.tmux("list-sessions", "-F", "#{session_name}")
        return listed.stdout.splitlines() if listed.returncode == 0 else []


# Fixtures of the browser tests (imported by each module: module-scoped, one stack and one browser each).

def _need(tool: str, path: str | None) -> None:
    if path is None or not Path(path).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is required in CI (.ci/run installs it)")
        pytest.skip(f"{tool} not installed")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    _need("playwright", None if sync_playwright is None else CHROMIUM)
    _need("chromium", CHROMIUM)
    _need("tmux", shutil.which("tmux"))
    with Stack() as running:
        yield running


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any, stack: Stack) -> Iterator[Any]:
    """`open_page(token=True, **context options)`: a fresh context on the dashboard, waiting for its first status."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(token: bool = True, wait: bool = True, **options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))  # an uncaught exception
        page.goto(f"{stack.url}/#token={stack.token}" if token else f"{stack.url}/")
        if wait:
            page.wait_for_function("() => document.querySelector('system-status')?.dataset.timestamp", timeout=5000)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], "the page threw"


