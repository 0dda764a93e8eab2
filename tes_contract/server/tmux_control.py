"""tmux control for the dev profile (DEV-TMUX-CONTROL): make and kill sessions, capture a pane.

Every call is one tmux process run as an argv list (`tmux.run_tmux`: never a shell, killed at its
timeout), on the private socket `TES_TMUX_SOCKET` when set. Three tmux habits shape this module:

- a target `-t NAME` matches a *prefix* of a session name (`-t web` kills `webapp`), so every target is
  written `=NAME`, tmux's exact match;
- tmux splits its own argv at an argument ending in `;` (so `["echo", "x;", "kill-server"]` would run
  `kill-server`), so such an argument is sent as `...\\;`, tmux's escape for a literal `;`;
- a `shell-command` of one argument goes through `sh -c`, so the command always runs as
  `env -- ARGV...` (two arguments or more: tmux `execvp`s it, no shell ever sees it).

tmux also replaces `.` and `:` in session names with `_`, so the name pattern leaves `.` out: a session
made as `a.b` could never be found under its name. docs/dev.md, "tmux control".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tes_contract.errors import TmuxError
from tes_contract.server.tmux import run_tmux, tmux_argv, tmux_status

#: Session names tmux keeps as given (PROFILES.md's pattern without `.`, which tmux turns into `_`).
SESSION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ARGS = 64
MAX_ARG_CHARS = 4096
DEFAULT_CAPTURE_LINES = 200
MAX_CAPTURE_LINES = 5000
MAX_PANE_INDEX = 9999
#: The size of a detached session's window (tmux's default of 80x24 cuts dev server output short).
WINDOW_SIZE = ("-x", "200", "-y", "50")

_MISSING = ("can't find session", "can't find pane", "can't find window", "no server running",
            "error connecting to")


class SessionExists(TmuxError):
    """tmux already has a session of that name (409)."""


class NoSuchTarget(TmuxError):
    """tmux has no such session or pane, or no server at all (404)."""


class SessionEnded(TmuxError):
    """tmux made the session but its command exited at once, so it is gone (422)."""


def name_problem(name: object) -> str | None:
    """Why `name` is not a session name, or None when it is one."""
    if not isinstance(name, str):
        return f"name must be a string, got {type(name).__name__}"
    if not SESSION_NAME.match(name):
        return f"name {name!r} must match {SESSION_NAME.pattern} (tmux turns '.' and ':' into '_')"
    return None


def command_problem(command: object) -> str | None:
    """Why `command` is not an argv list, or None when it is one."""
    if not isinstance(command, list) or not command:
        return "command must be a non-empty array of strings (an argv list, never run through a shell)"
    if len(command) > MAX_ARGS:
        return f"command has {len(command)} arguments, at most {MAX_ARGS}"
    for i, arg in enumerate(command):
        if not isinstance(arg, str):
            return f"command[{i}] must be a string, got {type(arg).__name__}"
        if len(arg) > MAX_ARG_CHARS or "\x00" in arg:
            return f"command[{i}] must be at most {MAX_ARG_CHARS} characters, without NUL"
    if not command[0] or "=" in command[0]:
        return "command[0] must name a program (not empty, no '=')"
    return None


def tmux_args(command: Sequence[str]) -> list[str]:
    """`command` as tmux's argv parser must see it: `env --` first, a trailing `;` escaped as `\\;`."""
    return ["env", "--", *(arg[:-1] + "\\;" if arg.endswith(";") else arg for arg in command)]


def _classify(exc: TmuxError) -> TmuxError:
    message = str(exc)
    lowered = message.lower()
    if lowered.startswith("duplicate session"):
        return SessionExists(message)
    if any(marker in lowered for marker in _MISSING):
        return NoSuchTarget(message)
    return exc


class TmuxControl:
    """Session control on one tmux server (`socket_name`, None: tmux's default), each call bounded."""

    def __init__(self, socket_name: str | None, timeout_s: float) -> None:
        self.socket_name = socket_name
        self.timeout_s = timeout_s

    async def _run(self, *args: str) -> str:
        try:
            return await run_tmux(tmux_argv(self.socket_name, *args), self.timeout_s)
        except TmuxError as exc:
            raise _classify(exc) from None

    async def session(self, name: str) -> dict[str, Any] | None:
        """The session `name` in the tmux-status session shape, as tmux lists it now; None when absent."""
        listing = await tmux_status(self.socket_name, self.timeout_s)
        return next((s for s in listing["sessions"] if s["name"] == name), None)

    async def create(self, name: str, command: Sequence[str] | None) -> dict[str, Any]:
        """Make a detached session; its listing once tmux shows it (SessionExists, SessionEnded otherwise)."""
        argv = ["new-session", "-d", "-s", name, *WINDOW_SIZE]
        if command:
            argv += ["--", *tmux_args(command)]
        await self._run(*argv)
        session = await self.session(name)
        if session is None:
            raise SessionEnded(f"tmux made session {name!r} but it ended at once (its command exited)")
        return session

    async def kill(self, name: str) -> None:
        """Kill the session `name` exactly (NoSuchTarget when there is none)."""
        await self._run("kill-session", "-t", f"={name}")

    async def capture(self, name: str, index: int, lines: int) -> str:
        """The last `lines` lines of pane `index` of the session's current window (NoSuchTarget if absent)."""
        # -J joins wrapped lines; -S -N starts N lines up in the history, the visible screen follows.
        out = await self._run("capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", f"={name}:.{index}")
        text_lines = out.rstrip("\n").split("\n")
        while text_lines and not text_lines[-1].strip():
            text_lines.pop()  # the blank rows below the cursor are screen, not output
        return "\n".join(text_lines[-lines:])
