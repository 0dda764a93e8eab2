"""The dev profile's tmux group (managed mode): sessions made, refused, captured and killed on the real tmux.

The server runs on the private tmux socket the runner gives it (`TES_TMUX_SOCKET`) with
`TES_TMUX_STATUS_URL` unset, so its status counts its own real tmux. The harness reads tmux itself
(`tmux -L SOCKET list-sessions`), never through the server, and uses the token the server generated into
`TES_STATE_DIR/dev-token`. Shared helpers of the dev groups live here too (`dev_security.py` uses them).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tes_contract.conformance.checks.dev import (
    Effects,
    capture_is_last_lines,
    command_ran_as_argv,
    refusal_left_nothing,
    session_created,
    session_killed,
    tmux_answer_is,
)
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.model import Exchange
from tes_contract.errors import SetupError

SESSIONS = "/api/dev/tmux/sessions"
TMUX_STATUS = "/api/dev/tmux/status"
TOKEN_FILE = "dev-token"
#: Long enough for the whole group, short enough that nothing outlives a run that lost its tmux cleanup.
KEEP_ALIVE = ["sh", "-c", "echo conform-ready; exec sleep 600"]
#: Bodies a create must refuse with 400 (name, command and shape rules), none reaching tmux.
BAD_BODIES: tuple[tuple[str, Any], ...] = (
    ("a name with a space", {"name": "a b"}), ("a name with ';'", {"name": "x;y"}),
    ("a name of 65 characters", {"name": "n" * 65}), ("an empty name", {"name": ""}), ("no name", {}),
    ("a command string", {"name": "conf-bad", "command": "sleep 5"}),
    ("an empty command", {"name": "conf-bad", "command": []}),
    ("a command of numbers", {"name": "conf-bad", "command": ["sleep", 5]}),
    ("an unknown field", {"name": "conf-bad", "shell": True}), ("an array body", ["conf-bad"]),
)
TMUX_REQUIRED = "tmux is required for the dev groups (apt-get install tmux)"


def token_path(ctx: GroupContext) -> Path | None:
    """`TES_STATE_DIR/dev-token` of the group's server (managed mode), or None in live mode."""
    if ctx.server is None or not ctx.server.env.get("TES_STATE_DIR"):
        return None
    return Path(ctx.server.env["TES_STATE_DIR"]) / TOKEN_FILE


def read_token(ctx: GroupContext) -> str:
    """The dev token the server generated at its start ('' when it wrote none)."""
    path = token_path(ctx)
    try:
        return path.read_text(encoding="utf-8").strip() if path is not None else ""
    except OSError:
        return ""


def auth(token: str, scheme: str = "Bearer") -> dict[str, str]:
    """The Authorization header of a guarded request."""
    return {"Authorization": f"{scheme} {token}"}


def own_origin(ctx: GroupContext) -> str:
    """The server's own origin, in the default allow-list of DEV-ORIGIN."""
    assert ctx.server is not None
    return f"http://127.0.0.1:{ctx.server.port}"


async def real_sessions(ctx: GroupContext) -> tuple[str, ...]:
    """The session names tmux itself lists on the group's private socket (no server: none)."""
    socket_name = ctx.server.env.get("TES_TMUX_SOCKET") if ctx.server is not None else None
    if shutil.which("tmux") is None:
        raise SetupError(TMUX_REQUIRED)
    argv = ["tmux", *(["-L", socket_name] if socket_name else []), "list-sessions", "-F", "#{session_name}"]
    process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(process.communicate(), 10.0)
    return tuple(sorted(out.decode(errors="replace").split())) if process.returncode == 0 else ()


async def effects(ctx: GroupContext) -> Effects:
    """What a refused request must leave as it was: tmux's sessions and the worker mock's snapshot calls."""
    calls = 0
    if ctx.mocks is not None:
        calls = sum(1 for e in await ctx.mocks.journal("worker") if e["path"].split("?")[0].endswith("/snapshot"))
    return await real_sessions(ctx), calls


async def refused(ctx: GroupContext, scenario: str, method: str, path: str, headers: dict[str, str],
                  data: bytes | None = None, raw: bool = False) -> Exchange:
    """Send a request that must be refused; judge DEV-NOSIDE on tmux and the mock journal around it."""
    before = await effects(ctx)
    exchange = await ctx.client.request(method, path, headers=headers, data=data, raw=raw)
    ctx.check(refusal_left_nothing, scenario, exchange, before, await effects(ctx))
    return exchange


async def _listed(ctx: GroupContext) -> list[str]:
    exchange = await ctx.client.request("GET", TMUX_STATUS)
    body: Any = exchange.body if isinstance(exchange.body, dict) else {}
    sessions: Any = body.get("sessions")
    return [str(s.get("name")) for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []


async def _truth(ctx: GroupContext) -> tuple[tuple[str, ...], list[str], Any]:
    """tmux's own sessions, the server's tmux listing and its status's `tmux` count, read now."""
    status = await ctx.status(ctx.scenario("status"))
    count = status.body.get("vector", {}).get("sessions", {}).get("tmux") if isinstance(status.body, dict) else None
    return await real_sessions(ctx), await _listed(ctx), count


async def create(ctx: GroupContext, token: str, name: str, command: list[str] | None = None) -> Exchange:
    """POST a session with the token (and the server's own Origin, as the dashboard sends it)."""
    document: dict[str, Any] = {"name": name, **({"command": command} if command is not None else {})}
    return await ctx.client.request("POST", SESSIONS, data=json.dumps(document).encode(),
                                    headers={**auth(token), "Origin": own_origin(ctx),
                                             "Content-Type": "application/json"})


async def _capture(ctx: GroupContext, token: str, name: str, lines: int | str, wanted: str,
                   index: int = 0) -> Exchange:
    """Capture until `wanted` shows on the last line (the command prints within milliseconds; a busy CI
    machine gets 5 s)."""
    path = f"{SESSIONS}/{name}/panes/{index}/capture?lines={lines}"
    exchange = await ctx.client.request("GET", path, headers=auth(token))
    for _ in range(50):
        text = exchange.body.get("text") if isinstance(exchange.body, dict) else None
        if exchange.status != 200 or not isinstance(text, str) or text.rstrip().endswith(wanted):
            break
        await asyncio.sleep(0.1)
        exchange = await ctx.client.request("GET", path, headers=auth(token))
    return exchange


async def _lifecycle(ctx: GroupContext, token: str) -> None:
    """Create, duplicate, a prefix kill, kill, kill again; tmux's truth after each."""
    made = await create(ctx, token, "conf-a", KEEP_ALIVE)
    ctx.check(session_created, ctx.scenario("create"), made, "conf-a", *await _truth(ctx))
    before = await effects(ctx)
    duplicate = await create(ctx, token, "conf-a", KEEP_ALIVE)
    ctx.check(tmux_answer_is, ctx.scenario("duplicate"), duplicate, 409, "a name that exists")
    ctx.check(refusal_left_nothing, ctx.scenario("duplicate"), duplicate, before, await effects(ctx))
    prefix = await ctx.client.request("DELETE", f"{SESSIONS}/conf", headers=auth(token))
    ctx.check(tmux_answer_is, ctx.scenario("kill-prefix"), prefix, 404, "a prefix of a session's name")
    shown = await _capture(ctx, token, "conf-a", 5, "conform-ready")
    ctx.check(capture_is_last_lines, ctx.scenario("capture"), shown, 5, "conform-ready")
    for lines in ("0", "5001", "ten"):
        answer = await ctx.client.request("GET", f"{SESSIONS}/conf-a/panes/0/capture?lines={lines}",
                                          headers=auth(token))
        ctx.check(tmux_answer_is, ctx.scenario("capture-bad"), answer, 400, f"lines={lines}")
    for what, path, status in (("a pane that does not exist", "conf-a/panes/7/capture", 404),
                               ("a session that does not exist", "conf-none/panes/0/capture", 404)):
        answer = await ctx.client.request("GET", f"{SESSIONS}/{path}", headers=auth(token))
        ctx.check(tmux_answer_is, ctx.scenario("capture-missing"), answer, status, what)
    killed = await ctx.client.request("DELETE", f"{SESSIONS}/conf-a",
                                      headers={**auth(token), "Origin": own_origin(ctx)})
    ctx.check(session_killed, ctx.scenario("kill"), killed, "conf-a", *await _truth(ctx))
    again = await ctx.client.request("DELETE", f"{SESSIONS}/conf-a", headers=auth(token))
    ctx.check(tmux_answer_is, ctx.scenario("kill-missing"), again, 404, "a session that does not exist")


async def _argv(ctx: GroupContext, token: str) -> None:
    """A command whose arguments a shell would expand and tmux would split: they must arrive verbatim."""
    with tempfile.TemporaryDirectory(prefix="tes-conform-argv-") as folder:
        marker = Path(folder) / "shell-ran"
        arguments = ["a b", f"$(touch {marker})", "x;", "new-session", "-d", "-s", "conf-pwned"]
        command = ["sh", "-c", 'printf "<%s>" "$@"; echo; echo argv-done; exec sleep 600', "sh", *arguments]
        made = await create(ctx, token, "conf-argv", command)
        ctx.check(tmux_answer_is, ctx.scenario("argv"), made, 201, "a new session with an argv command")
        shown = await _capture(ctx, token, "conf-argv", 20, "argv-done")
        text = shown.body.get("text", "") if isinstance(shown.body, dict) else ""
        expected = "".join(f"<{a}>" for a in arguments)
        extra = tuple(n for n in await real_sessions(ctx) if n == "conf-pwned")
        ctx.check(command_ran_as_argv, ctx.scenario("argv"), text if isinstance(text, str) else "", expected,
                  marker.exists(), extra)
    await ctx.client.request("DELETE", f"{SESSIONS}/conf-argv", headers=auth(token))


async def _tmux(ctx: GroupContext, *args: str) -> None:
    socket_name = ctx.server.env.get("TES_TMUX_SOCKET") if ctx.server is not None else None
    process = await asyncio.create_subprocess_exec(
        "tmux", *(["-L", socket_name] if socket_name else []), *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await asyncio.wait_for(process.wait(), 10.0)


async def _settle(ctx: GroupContext) -> None:
    """Start tmux on the socket and wait (<= 5 s + slack, UPSTREAM-RECOVERY) until the status counts it: a
    server whose first tmux read failed (no tmux server yet, or itself not yet listening) may hold that
    result through a breaker's cooldown, which the contract allows once; from then on the count is judged."""
    await _tmux(ctx, "new-session", "-d", "-s", "conf-settle", "sleep", "600")
    await ctx.observe(ctx.scenario("settle"), {"tmux": 1})
    await _tmux(ctx, "kill-session", "-t", "=conf-settle")
    await ctx.observe(ctx.scenario("settle"), {"tmux": 0})


async def run_dev_tmux(ctx: GroupContext) -> None:
    """tmux control against tmux's own state, and bad bodies refused before tmux sees them."""
    ctx.notes["upstreams_unset"] = ("tmux",)
    if (await ctx.client.request("GET", TMUX_STATUS)).status == 404:
        return  # no dev profile: the surface group reports it not implemented
    token = read_token(ctx)
    await _settle(ctx)
    await _lifecycle(ctx, token)
    await _argv(ctx, token)
    for what, document in BAD_BODIES:
        answer = await refused(ctx, ctx.scenario("bad-body"), "POST", SESSIONS,
                               {**auth(token), "Content-Type": "application/json"}, json.dumps(document).encode())
        ctx.check(tmux_answer_is, ctx.scenario("bad-body"), answer, 400, what)
