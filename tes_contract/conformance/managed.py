"""Start and stop a server under test: its own process group, free ports, TES_* environment, bounded wait.

Whatever happens (failure, Ctrl-C, SIGTERM), `stop()` kills the whole process group, so no process and no
listening port outlives the run. An `atexit` hook repeats the kill for anything still registered.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import random
import shlex
import shutil
import signal
import socket
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from tes_contract.errors import ConfigError, SetupError

#: Seconds a server has to exit after SIGTERM before SIGKILL (SERVER-STOP).
STOP_GRACE_S = 5.0
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


#: Ports `free_port` handed out in this process: never handed out twice, so parallel groups never collide.
_HANDED_OUT: set[int] = set()
_RANDOM = random.SystemRandom()  # not the `random` module's state: Hypothesis seeds that during a run


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server to bind: the one function every caller of the kit uses.

    Binding port 0 and closing it (the usual way) races: the kernel hands the same ephemeral port to the
    next `bind(0)` or outgoing connection of any process before the server binds it. So the port is picked
    at random *below* the kernel's ephemeral range, where neither ever lands, is never handed out twice by
    this process, and must bind now (a port in TIME_WAIT fails too, so a server without SO_REUSEADDR can
    bind it). What is left (another program choosing the same port by hand) `ManagedServer` retries.
    """
    low, _ = _ephemeral_range()
    first = 10_000 if low > 20_000 else 1024
    for _ in range(500):
        port = _RANDOM.randint(first, low - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise SetupError(f"no free port on {host} between {first} and {low - 1}")


def port_in_use(host: str, port: int) -> bool:
    """True when a socket holds `port` on `host` (connections in TIME_WAIT aside: they hold nobody off)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class OutputTail:
    """The last bytes a server printed: its stdout and stderr on one pipe, drained by the event loop as they
    come, so a server that prints without end never blocks on a full pipe and costs at most `limit` bytes."""

    def __init__(self, limit: int = 256 * 1024) -> None:
        self.limit = limit
        self.total = 0  # bytes printed in all
        self._tail = bytearray()
        self._read_fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> int:
        """A new pipe (the tail starts empty); returns the writing end for the child."""
        self.close()
        self._tail.clear()
        self.total = 0
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self._read_fd, self._loop = read_fd, asyncio.get_running_loop()
        self._loop.add_reader(read_fd, self._drain)
        return write_fd

    def _drain(self) -> None:
        if self._read_fd is None:
            return
        for _ in range(16):  # at most 1 MiB per turn of the loop: the harness's own work goes on meanwhile
            try:
                chunk = os.read(self._read_fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:  # every writer closed it
                self.close()
                return
            self.total += len(chunk)
            self._tail += chunk
            if len(self._tail) > 2 * self.limit:
                del self._tail[:-self.limit]

    def close(self) -> None:
        """Read what is waiting, stop watching the pipe and close it (a child left holding it gets EPIPE)."""
        fd, self._read_fd = self._read_fd, None
        if fd is None:
            return
        assert self._loop is not None
        self._loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                self.total += len(chunk)
                self._tail = (self._tail + chunk)[-self.limit:]
        os.close(fd)

    @property
    def kept(self) -> int:
        """Bytes held in memory now."""
        return len(self._tail)

    def lines(self, count: int = 15) -> str:
        """The last `count` lines (each cut at 1,000 characters), after a note of the size when it was cut."""
        self._drain()
        lines = bytes(self._tail[-self.limit:]).decode(errors="replace").splitlines()[-count:]
        shown = [line if len(line) <= 1000 else f"{line[:1000]} ... ({len(line)} characters)" for line in lines]
        if self.total > self.limit:
            shown.insert(0, f"({self.total} bytes printed in all; the last lines:)")
        return "\n".join(shown)


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
    # tmux 3.3 leaves its socket file behind after kill-server; a run leaves nothing, so it goes too.
    path = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket_name
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()


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
        self._fixed_port = bool(port)
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        self.cwd = cwd
        self.env = server_environment({**env, "TES_HOST": host, "TES_PORT": str(self.port)})
        self.process: asyncio.subprocess.Process | None = None
        self.output = OutputTail()
        self.ended_by: tuple[str, float] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the server printed (stdout and stderr)."""
        return self.output.lines(lines)

    async def __aenter__(self) -> ManagedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the process in its own group and wait (bounded) until it accepts TCP connections.

        When it exits before listening because another program took its port meanwhile (the port is busy
        once its group is gone), it is started again on another port, up to 3 times; a port taken before the
        start is changed at once (a group's restart keeps its port when it can)."""
        for attempt in range(3):
            if not self._fixed_port and port_in_use(self.host, self.port):
                self.port = free_port(self.host)
                self.env["TES_PORT"] = str(self.port)
            try:
                await self._start_once()
                return
            except SetupError:
                if self._fixed_port or attempt == 2 or not port_in_use(self.host, self.port):
                    raise

    async def _start_once(self) -> None:
        write_fd = self.output.open()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL, stdout=write_fd,
                stderr=write_fd, start_new_session=True)
        except OSError as exc:
            self.output.close()
            raise SetupError(f"cannot start the server {self.command!r}: {exc.strerror or exc}") from exc
        finally:
            os.close(write_fd)
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
        """SIGTERM the process group, SIGKILL it after STOP_GRACE_S, reap the process; safe to call twice.
        `ended_by` tells how the process ended: ("SIGTERM" | "SIGKILL" | "exited", seconds after SIGTERM).

        Cancelling the caller (a group stopped when its server exited, Ctrl-C) does not cut this short: the
        kill and the reaping run in a task of their own that is awaited to its end (at most ~13 s), and the
        cancellation is raised after. Cut short, the child was left unreaped: asyncio's watcher could not
        tell a closed loop, and the Popen warned "subprocess N is still running" at garbage collection.
        """
        process = self.process
        if process is None:
            return
        stopping = asyncio.ensure_future(self._stop_group(process))
        cancelled = False
        while not stopping.done():
            try:
                await asyncio.shield(stopping)
            except asyncio.CancelledError:
                if stopping.cancelled():
                    raise
                cancelled = True
        stopping.result()
        if cancelled:
            raise asyncio.CancelledError

    async def _stop_group(self, process: asyncio.subprocess.Process) -> None:
        pgid = process.pid
        began = time.monotonic()
        self.ended_by = None if process.returncode is None else ("exited", 0.0)
        for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                await asyncio.wait_for(process.wait(), grace)
                if self.ended_by is None:
                    self.ended_by = (sig.name, time.monotonic() - began)
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
        self.output.close()
