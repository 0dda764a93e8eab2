"""Start and stop a server under test: its own process group, free ports, TES_* environment, bounded wait.

Whatever happens (failure, Ctrl-C, SIGTERM), `stop()` kills the whole process group, so no process and no
listening port outlives the run. An `atexit` hook repeats the kill for anything still registered.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shlex
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from tes_contract.errors import ConfigError, SetupError

#: Process groups started and not yet reaped, for the atexit safety net.
_LIVE_GROUPS: set[int] = set()


def _kill_leftovers() -> None:
    for pgid in list(_LIVE_GROUPS):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
        _LIVE_GROUPS.discard(pgid)


atexit.register(_kill_leftovers)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _require_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise SetupError(f"port {port} on {host} is busy ({exc.strerror}): stop what listens there or choose "
                             "another port") from exc


def split_command(command: str) -> list[str]:
    """Split the server command the way a POSIX shell would, or fail with a clear message."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"--server {command!r}: cannot split into arguments: {exc}") from exc
    if not argv:
        raise ConfigError("--server: the command is empty")
    return argv


@contextlib.asynccontextmanager
async def private_state(name: str) -> AsyncIterator[dict[str, str]]:
    """`TES_STATE_DIR`, `TES_EVENT_LOG` and `TES_TMUX_SOCKET` of a server under test, private to it.

    A conformance run never touches a user's state or tmux sessions (PROFILES.md): a fresh temporary folder
    and a tmux socket of its own, whose tmux server is killed (with any session left on it) afterwards.
    """
    socket_name = f"tes-conform-{os.getpid()}-{name}"
    with tempfile.TemporaryDirectory(prefix=f"tes-conform-{name}-") as folder:
        try:
            yield {"TES_STATE_DIR": str(Path(folder) / "state"),
                   "TES_EVENT_LOG": str(Path(folder) / "logs" / "worker-events.log"),
                   "TES_TMUX_SOCKET": socket_name}
        finally:
            await kill_tmux_server(socket_name)


async def kill_tmux_server(socket_name: str) -> None:
    """Kill the tmux server on a private socket, if tmux is installed and a server runs there."""
    if shutil.which("tmux") is None:
        return
    process = await asyncio.create_subprocess_exec("tmux", "-L", socket_name, "kill-server",
                                                   stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.wait_for(process.wait(), 5.0)
    except TimeoutError:
        process.kill()
        await process.wait()


def server_environment(overrides: Mapping[str, str | None], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a server under test: ours, without any TES_* inherited, plus `overrides` (None unsets)."""
    env = {k: v for k, v in (base if base is not None else os.environ).items() if not k.startswith("TES_")}
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


class ManagedServer:
    """One server process under test; `async with` starts it, waits until it accepts, and kills its group."""

    def __init__(self, command: str, env: Mapping[str, str | None], *, name: str = "server",
                 host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 30.0,
                 cwd: str | None = None) -> None:
        self.argv = split_command(command)
        self.command = command
        self.name = name
        self.host = host
        if port:
            _require_free(host, port)
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        self.cwd = cwd
        self.env = server_environment({**env, "TES_HOST": host, "TES_PORT": str(self.port)})
        self.process: asyncio.subprocess.Process | None = None
        self._log = Path(tempfile.mkstemp(prefix=f"tes-conform-{name}-", suffix=".log")[1])

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the server printed (stdout and stderr)."""
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def __aenter__(self) -> ManagedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the process in its own group and wait (bounded) until it accepts TCP connections."""
        with self._log.open("wb") as log:
            try:
                self.process = await asyncio.create_subprocess_exec(
                    *self.argv, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL, stdout=log,
                    stderr=asyncio.subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise SetupError(f"cannot start the server {self.command!r}: {exc.strerror or exc}") from exc
        _LIVE_GROUPS.add(self.process.pid)
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self.process.returncode is not None:
                raise SetupError(f"group {self.name}: the server {self.command!r} exited with code "
                                 f"{self.process.returncode} before "
                                 f"listening on {self.host}:{self.port} (TES_PORT); its last output:\n"
                                 f"{self.log_tail() or '(nothing)'}")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 1.0)
                writer.close()
                await writer.wait_closed()
                await asyncio.sleep(0.05)
                if self.process.returncode is None:
                    return  # (an exited process is reported above on the next turn)
                continue
            except (OSError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"group {self.name}: the server {self.command!r} did not listen on "
                                 f"{self.host}:{self.port} (TES_HOST, "
                                 f"TES_PORT) within {self.startup_timeout_s:.0f} s; its last output:\n"
                                 f"{self.log_tail() or '(nothing)'}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 3 s, reap the process; safe to call twice."""
        process = self.process
        if process is None:
            return
        pgid = process.pid
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                await asyncio.shield(asyncio.wait_for(process.wait(), grace))
                # The leader is gone; children that ignored SIGTERM must go too.
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            except TimeoutError:
                continue
        if process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                pass
        _LIVE_GROUPS.discard(pgid)
        self.process = None
        try:
            self._log.unlink()
        except OSError:
            pass
