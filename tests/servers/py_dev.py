"""The dev profile of the independent Python server (asyncio subprocesses and aiohttp only, no tes_contract).

Hooked into py_status_server.py: `DevPart(env, breaks, port)` at start; `refusal(request)` first on every
request (the Host allow-list); `handles(path)` / `dispatch(request)` for its routes:

    GET    /api/dev/tmux/status                                 tmux's sessions (tmux -L TES_TMUX_SOCKET)
    POST   /api/dev/tmux/sessions                               {"name", "command"?} -> 201 | 409 | 400
    DELETE /api/dev/tmux/sessions/{name}                        -> 204 | 404
    GET    /api/dev/tmux/sessions/{name}/panes/{index}/capture  ?lines=N -> {"text"}
    GET    /api/dev/workers/{id}/snapshot                       streamed, one per worker per 10 s

Break modes (TES_BREAK): see BREAKS and tests/servers/README.md, "Dev breaks".
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

BREAKS = frozenset({
    "dev_start_unchecked", "dev_stop_nothing", "dev_fixed_token", "dev_token_prefix", "dev_no_origin_check",
    "dev_origin_startswith", "dev_no_host_check", "dev_snapshot_cut_500ms", "dev_snapshot_buffered",
    "dev_no_rate_limit", "dev_no_retry_after", "dev_shell_command",
})
TMUX_PATH = "/api/dev/tmux/status"
SESSIONS = "/api/dev/tmux/sessions"
ROUTES = (("GET", TMUX_PATH), ("HEAD", TMUX_PATH), ("POST", SESSIONS), ("DELETE", SESSIONS + "/{name}"),
          ("GET", SESSIONS + "/{name}/panes/{index}/capture"), ("GET", "/api/dev/workers/{id}/snapshot"))
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WORKER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
CAPTURE = re.compile(r"^/api/dev/tmux/sessions/([^/]+)/panes/([^/]+)/capture$")
SNAPSHOT = re.compile(r"^/api/dev/workers/([^/]+)/snapshot$")
MAX_BODY = 64 * 1024
FIXED_TOKEN = "tes-dev-token"  # what the original shipped as its default


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return _json(status, {"error": message, "resolution": "see openapi.yaml"}, headers)


class DevPart:
    """tmux control, the snapshot proxy and the guard of the whole server."""

    def __init__(self, env: dict[str, str], breaks: frozenset[str], timeout_s: float | None) -> None:
        self.breaks = breaks
        self.socket = env.get("TES_TMUX_SOCKET") or None
        self.worker_base = (env.get("TES_WORKER_API_URL") or "http://127.0.0.1:3003").rstrip("/")
        self.timeout_s = timeout_s or 5.0
        self.port = 0
        hosts = env.get("TES_ALLOWED_HOSTS")
        self.hosts = {h.strip().lower().rsplit(":", 1)[0] for h in hosts.split(",")} if hosts else None
        origins = env.get("TES_ALLOWED_ORIGINS")
        self.origins = {o.strip().lower() for o in origins.split(",")} if origins else None
        self.token = env.get("TES_DEV_TOKEN") or self._generate(env.get("TES_STATE_DIR") or ".tes")
        self.slots: dict[str, float] = {}
        self.client: ClientSession | None = None

    def _generate(self, state_dir: str) -> str:
        token = FIXED_TOKEN if "dev_fixed_token" in self.breaks else secrets.token_urlsafe(32)
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        path = Path(state_dir) / "dev-token"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode() + b"\n")
        os.close(fd)
        return token

    # ------------------------------------------------------------ the guard
    def refusal(self, request: web.Request) -> web.Response | None:
        """DEV-HOST, on every route."""
        if "dev_no_host_check" in self.breaks:
            return None
        host = (request.headers.get("Host") or "").lower()
        name = host[: host.find("]") + 1] if host.startswith("[") else host.rsplit(":", 1)[0]
        allowed = self.hosts or {"localhost", "127.0.0.1", "[::1]"}
        return None if name in allowed else _error(403, "host not allowed")

    def _origin_ok(self, origin: str | None) -> bool:
        if origin is None or "dev_no_origin_check" in self.breaks:
            return True
        allowed = self.origins or {f"http://{h}:{self.port}" for h in ("localhost", "127.0.0.1", "[::1]")}
        if "dev_origin_startswith" in self.breaks:
            return any(origin.lower().startswith(a) for a in allowed)
        return origin.strip().lower() in allowed

    def _token_ok(self, authorization: str | None) -> bool:
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given:
            return False
        if "dev_token_prefix" in self.breaks:
            return self.token.startswith(given.strip())
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    async def _guard(self, request: web.Request) -> web.Response | bytes:
        """Origin (403) -> token (401) -> body size (413); the body when the request may proceed."""
        if not self._origin_ok(request.headers.get("Origin")):
            return _error(403, "origin not allowed")
        if not self._token_ok(request.headers.get("Authorization")):
            return _error(401, "missing or wrong token", {"WWW-Authenticate": "Bearer"})
        body = await request.content.read(MAX_BODY + 1)
        return _error(413, "body too large") if len(body) > MAX_BODY else body

    # ------------------------------------------------------------ routing
    def handles(self, path: str) -> bool:
        return path in (TMUX_PATH, SESSIONS) or path.startswith(SESSIONS + "/") or bool(SNAPSHOT.match(path))

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if path == TMUX_PATH:
            if method not in ("GET", "HEAD"):
                return _error(405, "use GET", {"Allow": "GET, HEAD"})
            return _json(200, await self.listing())
        allow, handler = self._route(path)
        if allow is None or handler is None:
            return _error(404, f"no route for {path}")
        if method != allow:
            return _error(405, f"use {allow}", {"Allow": allow})
        guarded = await self._guard(request)
        if isinstance(guarded, web.Response):
            return guarded
        return await handler(request, guarded)

    def _route(self, path: str) -> tuple[str | None, Any]:
        if path == SESSIONS:
            return "POST", self.create
        if CAPTURE.match(path):
            return "GET", self.capture
        if SNAPSHOT.match(path):
            return "GET", self.snapshot
        if path.count("/") == 5:
            return "DELETE", self.kill
        return None, None

    # ------------------------------------------------------------ tmux
    async def tmux(self, *args: str) -> tuple[int, str, str]:
        argv = ["tmux", *(["-L", self.socket] if self.socket else []), *args]
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(), 3.0)
        except TimeoutError:
            process.kill()
            await process.wait()
            return 1, "", "tmux timed out"
        return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace").strip()

    async def listing(self) -> dict[str, Any]:
        code, out, err = await self.tmux("list-sessions", "-F", "#{session_name}\t#{session_windows}\t"
                                         "#{session_attached}\t#{session_created}")
        if code != 0:
            return {"online": False, "sessions": [], "error": err or "tmux failed"}
        _, panes_out, _ = await self.tmux("list-panes", "-a", "-F", "#{session_name}\t#{pane_index}\t"
                                          "#{pane_current_command}\t#{pane_title}")
        panes: dict[str, list[dict[str, Any]]] = {}
        for line in panes_out.splitlines():
            parts = line.split("\t")
            if len(parts) == 4 and parts[1].isdigit():
                panes.setdefault(parts[0], []).append({"index": int(parts[1]), "command": parts[2], "title": parts[3]})
        sessions = []
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit() and parts[3].isdigit():
                created = datetime.fromtimestamp(int(parts[3]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                sessions.append({"name": parts[0], "windows": int(parts[1]), "attached": int(parts[2]) > 0,
                                 "created": created, "panes": panes.get(parts[0], [])})
        return {"online": True, "sessions": sessions}

    async def create(self, request: web.Request, body: bytes) -> web.Response:
        try:
            document = json.loads(body)
        except ValueError:
            return _error(400, "body is not JSON")
        if not isinstance(document, dict) or set(document) - {"name", "command"}:
            return _error(400, "body must be an object with name and command only")
        name, command = document.get("name"), document.get("command")
        if not isinstance(name, str) or not NAME.match(name):
            return _error(400, "name must match ^[A-Za-z0-9_-]{1,64}$")
        if command is not None and (not isinstance(command, list) or not command
                                    or not all(isinstance(a, str) for a in command) or "=" in command[0]):
            return _error(400, "command must be a non-empty array of strings")
        args = ["new-session", "-d", "-s", name, "-x", "200", "-y", "50"]
        if command:
            args += ["--", "env", "--", *(a[:-1] + "\\;" if a.endswith(";") else a for a in command)]
        if "dev_shell_command" in self.breaks:  # the whole line through sh -c: `;` and `$(...)` run
            line = " ".join(["tmux", *(["-L", self.socket] if self.socket else []), *args[:8],
                             *(command or [])])
            process = await asyncio.create_subprocess_exec("sh", "-c", line, stdin=asyncio.subprocess.DEVNULL)
            try:
                code, err = await asyncio.wait_for(process.wait(), 3.0), ""
            except TimeoutError:  # `; exec sleep 600` ran here, not in tmux
                process.kill()
                code, err = await process.wait(), ""
        else:
            code, _, err = await self.tmux(*args)
        if "dev_start_unchecked" in self.breaks:
            await asyncio.sleep(0.2)  # the original waited, then said yes
            return _json(201, {"name": name, "windows": 1, "attached": False,
                               "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "panes": []})
        if code != 0:
            return _error(409 if "duplicate session" in err else 503, err or "tmux failed")
        found = [s for s in (await self.listing())["sessions"] if s["name"] == name]
        return _json(201, found[0]) if found else _error(422, "the session ended at once")

    async def kill(self, request: web.Request, body: bytes) -> web.Response:
        name = request.path.rsplit("/", 1)[1]
        if not NAME.match(name):
            return _error(400, "bad session name")
        code, _, err = await self.tmux("kill-session", "-t", f"={name}")
        if code != 0 and "dev_stop_nothing" not in self.breaks:
            return _error(404, err or "no such session")
        return web.Response(status=204)

    async def capture(self, request: web.Request, body: bytes) -> web.Response:
        match = CAPTURE.match(request.path)
        assert match is not None
        name, index = match.groups()
        lines = request.query.get("lines", "200")
        if not NAME.match(name) or not index.isdigit() or not lines.isdigit() or not 1 <= int(lines) <= 5000:
            return _error(400, "bad name, pane index or lines (1..5000)")
        code, out, err = await self.tmux("capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", f"={name}:.{index}")
        if code != 0:
            return _error(404, err or "no such pane")
        rows = out.rstrip("\n").split("\n")
        while rows and not rows[-1].strip():
            rows.pop()
        return _json(200, {"text": "\n".join(rows[-int(lines):])})

    # ------------------------------------------------------------ snapshots
    def _slot(self, worker: str) -> int | None:
        now = time.monotonic()
        taken = self.slots.get(worker)
        if taken is not None and now - taken < 10.0 and "dev_no_rate_limit" not in self.breaks:
            return max(1, math.ceil(10.0 - (now - taken)))
        self.slots[worker] = now
        return None

    async def snapshot(self, request: web.Request, body: bytes) -> web.StreamResponse:
        match = SNAPSHOT.match(request.path)
        assert match is not None
        worker = match.group(1)
        if not WORKER_ID.match(worker) or worker in (".", ".."):
            return _error(400, "bad worker id")
        retry = self._slot(worker)
        if retry is not None:
            headers = {} if "dev_no_retry_after" in self.breaks else {"Retry-After": str(retry)}
            return _error(429, "one snapshot per worker per 10 s", headers)
        if self.client is None:
            self.client = ClientSession(timeout=ClientTimeout(total=None))
        if "dev_snapshot_buffered" in self.breaks:
            return await self._buffered(worker)
        deadline = 0.5 if "dev_snapshot_cut_500ms" in self.breaks else self.timeout_s
        return await self._stream(request, worker, deadline)

    async def _buffered(self, worker: str) -> web.Response:
        """The whole body read first (no deadline of its own but 3 timeouts), then sent: late and all in memory."""
        assert self.client is not None
        try:
            async with asyncio.timeout(3 * self.timeout_s):
                async with self.client.get(f"{self.worker_base}/workers/{worker}/snapshot") as upstream:
                    raw = await upstream.read()
        except TimeoutError:
            return _error(504, "worker snapshot too slow")
        except (ClientError, OSError):
            return _error(503, "worker API unreachable")
        return web.Response(status=upstream.status, body=raw, content_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="worker-{worker}-snapshot.json"'})

    async def _stream(self, request: web.Request, worker: str, deadline_s: float) -> web.StreamResponse:
        assert self.client is not None
        response: web.StreamResponse | None = None
        try:
            async with asyncio.timeout(deadline_s):
                async with self.client.get(f"{self.worker_base}/workers/{worker}/snapshot") as upstream:
                    if upstream.status != 200:
                        status = upstream.status if upstream.status in (400, 404) else 502
                        return _error(status, f"worker answered {upstream.status}")
                    response = web.StreamResponse(headers={
                        "Content-Type": "application/json",
                        "Content-Disposition": f'attachment; filename="worker-{worker}-snapshot.json"'})
                    if upstream.content_length is not None and "dev_snapshot_cut_500ms" not in self.breaks:
                        response.content_length = upstream.content_length
                    await response.prepare(request)
                    async for chunk in upstream.content.iter_chunked(65536):
                        await response.write(chunk)
            return response
        except TimeoutError:
            if response is None:
                return _error(504, "worker snapshot too slow")
            if "dev_snapshot_cut_500ms" in self.breaks:
                return response  # ends the chunked body cleanly: a short body that looks complete
        except (ClientError, OSError):
            if response is None:
                return _error(503, "worker API unreachable")
        if request.transport is not None:
            request.transport.abort()
        return response

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
