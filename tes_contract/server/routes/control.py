"""tmux control endpoints (DEV-TMUX-CONTROL), behind the guard (DEV-ORIGIN, DEV-AUTH, 413), on the real tmux.

    POST   /api/dev/tmux/sessions                              {"name", "command"?} -> 201 session | 409 | 400
    DELETE /api/dev/tmux/sessions/{name}                        -> 204 | 404 | 400
    GET    /api/dev/tmux/sessions/{name}/panes/{index}/capture  ?lines=N -> {"text"} | 404 | 400

Each handler validates everything before tmux sees anything (DEV-NOSIDE); the answers come from tmux's own
state (tmux says "duplicate session" or "can't find session"), never from a guess. Engine: tmux_control.py.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tes_contract.errors import TmuxError
from tes_contract.server.http import add_guarded, error_response, json_response
from tes_contract.server.routes.dev import TMUX_TIMEOUT_S
from tes_contract.server.state import SETTINGS
from tes_contract.server.tmux_control import (
    DEFAULT_CAPTURE_LINES,
    MAX_CAPTURE_LINES,
    MAX_PANE_INDEX,
    NoSuchTarget,
    SessionEnded,
    SessionExists,
    TmuxControl,
    command_problem,
    name_problem,
)

SESSIONS_PATH = "/api/dev/tmux/sessions"
SESSION_PATH = SESSIONS_PATH + "/{name}"
CAPTURE_PATH = SESSION_PATH + "/panes/{index}/capture"
CONTROL = web.AppKey("tmux_control", TmuxControl)
_FIELDS = frozenset({"name", "command"})


def _bad(problem: str) -> web.Response:
    return error_response(400, problem, "see POST /api/dev/tmux/sessions in openapi.yaml")


def _tmux_failed(exc: TmuxError) -> web.Response:
    if isinstance(exc, SessionExists):
        return error_response(409, str(exc), "pick another name, or DELETE the session first")
    if isinstance(exc, NoSuchTarget):
        return error_response(404, str(exc), "GET /api/dev/tmux/status lists the sessions and their panes")
    if isinstance(exc, SessionEnded):
        return error_response(422, str(exc), "run a command that keeps running (a server, a shell, tail -f)")
    return error_response(503, f"tmux failed: {exc}", "check that tmux is installed and TES_TMUX_SOCKET")


def _parse_create(body: bytes) -> tuple[str, list[str] | None] | str:
    """The name and argv of a create request, or the problem with it."""
    try:
        document: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"body is not JSON: {exc}"
    if not isinstance(document, dict):
        return "body must be a JSON object {\"name\", \"command\"?}"
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        return f"unknown field {unknown[0]!r}: the fields are name and command"
    if "name" not in document:
        return "name is required"
    problem = name_problem(document["name"])
    if problem is None and "command" in document:
        problem = command_problem(document["command"])
    return problem if problem is not None else (document["name"], document.get("command"))


async def create_session(request: web.Request, body: bytes) -> web.StreamResponse:
    """POST /api/dev/tmux/sessions: 201 with the session once tmux lists it; 409 when the name exists."""
    parsed = _parse_create(body)
    if isinstance(parsed, str):
        return _bad(parsed)
    name, command = parsed
    try:
        session = await request.app[CONTROL].create(name, command)
    except TmuxError as exc:
        return _tmux_failed(exc)
    return json_response(session, 201, {"Location": f"{SESSIONS_PATH}/{name}"})


async def kill_session(request: web.Request, body: bytes) -> web.StreamResponse:
    """DELETE /api/dev/tmux/sessions/{name}: 204, or 404 when tmux has no such session."""
    name = request.match_info["name"]
    problem = name_problem(name)
    if problem is not None:
        return _bad(problem)
    try:
        await request.app[CONTROL].kill(name)
    except TmuxError as exc:
        return _tmux_failed(exc)
    return web.Response(status=204)


def _capture_args(request: web.Request) -> tuple[str, int, int] | str:
    name, index, lines = request.match_info["name"], request.match_info["index"], request.query.get("lines")
    problem = name_problem(name)
    if problem is not None:
        return problem
    if not index.isdecimal() or not index.isascii() or int(index) > MAX_PANE_INDEX:
        return f"pane index {index!r} must be an integer 0..{MAX_PANE_INDEX}"
    if lines is None:
        return name, int(index), DEFAULT_CAPTURE_LINES
    if not lines.isdecimal() or not lines.isascii() or not 1 <= int(lines) <= MAX_CAPTURE_LINES:
        return f"lines {lines!r} must be an integer 1..{MAX_CAPTURE_LINES}"
    return name, int(index), int(lines)


async def capture_pane(request: web.Request, body: bytes) -> web.StreamResponse:
    """GET .../panes/{index}/capture?lines=N: `{"text"}`, the pane's last N lines (default 200, max 5000)."""
    args = _capture_args(request)
    if isinstance(args, str):
        return _bad(args)
    try:
        text = await request.app[CONTROL].capture(*args)
    except TmuxError as exc:
        return _tmux_failed(exc)
    return json_response({"text": text})


def setup(app: web.Application) -> None:
    """Register the three tmux control routes, every one guarded (Origin -> token -> body size)."""
    settings = app[SETTINGS]
    app[CONTROL] = TmuxControl(settings.tmux_socket, TMUX_TIMEOUT_S)
    add_guarded(app, SESSIONS_PATH, "POST", create_session)
    add_guarded(app, SESSION_PATH, "DELETE", kill_session)
    add_guarded(app, CAPTURE_PATH, "GET", capture_pane)
