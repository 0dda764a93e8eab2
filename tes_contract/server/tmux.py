"""`GET /api/dev/tmux/status` from the real tmux: `list-sessions` and `list-panes` with format strings.

tmux is run as an argv list (never through a shell), both commands concurrently, each with a timeout after
which the process is killed. tmux missing, no tmux server, or a tmux error give
`{"online": false, "sessions": [], "error": ...}` (schemas/tmux-status.json).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tes_contract.contract.formats import rfc3339_s
from tes_contract.errors import TmuxError

# Fields separated by tabs; the free-text field (name, title) comes last so a tab inside it survives.
SESSION_FORMAT = "#{session_id}\t#{session_windows}\t#{session_attached}\t#{session_created}\t#{session_name}"
PANE_FORMAT = "#{session_id}\t#{pane_index}\t#{pane_current_command}\t#{pane_title}"


def tmux_argv(socket_name: str | None, *args: str) -> list[str]:
    """The argv of one tmux command, on the private socket `socket_name` (`tmux -L NAME`) when given."""
    return ["tmux", *(["-L", socket_name] if socket_name else []), *args]


async def run_tmux(argv: list[str], timeout_s: float) -> str:
    """Run one tmux command; its stdout, or TmuxError with tmux's own message."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        raise TmuxError("tmux is not installed (not found on PATH)") from None
    except OSError as exc:
        raise TmuxError(f"cannot run tmux: {exc.strerror or exc}") from None
    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        await _kill(process)
        raise TmuxError(f"tmux did not answer within {timeout_s * 1000:.0f} ms") from None
    except asyncio.CancelledError:
        await _kill(process)  # shutdown: leave no tmux client process behind
        raise
    if process.returncode != 0:
        message = stderr.decode("utf-8", "replace").strip() or f"tmux exited with {process.returncode}"
        raise TmuxError(message)
    return stdout.decode("utf-8", "replace")


async def tmux_status(socket_name: str | None, timeout_s: float = 2.0) -> dict[str, Any]:
    """The tmux-status document of the tmux server on `socket_name` (None: tmux's default socket)."""
    # return_exceptions: when one command fails, the other still runs to its end (no orphan process).
    sessions_out, panes_out = await asyncio.gather(
        run_tmux(tmux_argv(socket_name, "list-sessions", "-F", SESSION_FORMAT), timeout_s),
        run_tmux(tmux_argv(socket_name, "list-panes", "-a", "-F", PANE_FORMAT), timeout_s),
        return_exceptions=True,
    )
    for outcome in (sessions_out, panes_out):
        if isinstance(outcome, TmuxError):
            return {"online": False, "sessions": [], "error": str(outcome)}
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(sessions_out, str) and isinstance(panes_out, str)
    return {"online": True, "sessions": parse_sessions(sessions_out, panes_out)}


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


def parse_sessions(sessions_out: str, panes_out: str) -> list[dict[str, Any]]:
    """Build the `sessions` array from the two commands' outputs; malformed lines are skipped."""
    panes: dict[str, list[dict[str, Any]]] = {}
    for line in panes_out.splitlines():
        parts = line.split("\t", 3)
        if len(parts) != 4 or not parts[1].isdigit():
            continue
        session_id, index, command, title = parts
        panes.setdefault(session_id, []).append({"index": int(index), "title": title, "command": command})
    sessions: list[dict[str, Any]] = []
    for line in sessions_out.splitlines():
        parts = line.split("\t", 4)
        if len(parts) != 5 or not (parts[1].isdigit() and parts[2].isdigit() and parts[3].isdigit()):
            continue
        session_id, windows, attached, created, name = parts
        if not name:
            continue
        sessions.append({
            "name": name,
            "windows": int(windows),
            "attached": int(attached) > 0,  # session_attached counts the clients attached
            "created": rfc3339_s(int(created)),
            "panes": sorted(panes.get(session_id, []), key=lambda pane: pane["index"]),
        })
    return sessions
