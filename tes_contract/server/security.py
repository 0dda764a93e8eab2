"""Who may talk to the server: the Origin and Host allow-lists of PROFILES.md (DEV-ORIGIN, DEV-HOST).

Pure functions over the settings and the port the server is bound to (known only once it listens, as
`TES_PORT=0` picks one), and `Guard`, which the server builds once at start from them and the dev token
(DEV-AUTH). The HTTP side is in `http.py`: `accounted` checks the Host of every request, `guarded` wraps
a handler of a state-changing or sensitive route (Origin -> token -> body size). docs/server.md, "Security".
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from tes_contract.contract.formats import url_host
from tes_contract.errors import ConfigError
from tes_contract.server.settings import Settings

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def allowed_origins(settings: Settings, port: int) -> frozenset[str]:
    """`TES_ALLOWED_ORIGINS`, else the server's own `http://localhost:PORT`, `http://127.0.0.1:PORT`, `http://[::1]:PORT`."""
    if settings.allowed_origins is not None:
        return frozenset(origin.lower() for origin in settings.allowed_origins)
    return frozenset(f"http://{host}:{port}" for host in LOOPBACK_HOSTS)


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    """True when a request may proceed: no Origin (not a browser's), or one in the list compared whole.

    `Origin: null` (a sandboxed frame, a file page) is foreign; so is a look-alike such as
    `http://127.0.0.1.evil.example` or one on another port.
    """
    if origin is None:
        return True
    return origin.strip().lower() in allowed


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """`TES_ALLOWED_HOSTS` (ports dropped), else loopback names and the bind host."""
    if settings.allowed_hosts is not None:
        return frozenset(host_name(host) for host in settings.allowed_hosts)
    return frozenset({*LOOPBACK_HOSTS, host_name(url_host(settings.host))})


def host_name(host: str) -> str:
    """A Host header or allow-list entry without its port, lower case (`[::1]:3002` -> `[::1]`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    """True when the request's Host (without port) is in the list (DNS rebinding: a foreign name is refused)."""
    return host_header is not None and host_name(host_header) in allowed


#: DEV-NOSIDE: request bodies past this many bytes are refused with 413.
MAX_BODY_BYTES = 64 * 1024
TOKEN_FILE = "dev-token"


class Refusal(NamedTuple):
    """Why a request is refused: status, error, resolution and extra headers of the JSON error."""

    status: int
    error: str
    resolution: str
    headers: dict[str, str] | None = None


class Guard:
    """The server's Host and Origin allow-lists and its dev token (DEV-HOST, DEV-ORIGIN, DEV-AUTH).

    Built once per application at start (`load_token` makes the token); `host_ok` is on every request's
    path, so its answers are cached per distinct Host header (bounded).
    """

    __slots__ = ("_hosts", "_host_cache", "_origins", "_settings", "token", "token_file")

    def __init__(self, settings: Settings, token: str, token_file: Path | None = None) -> None:
        self._settings = settings
        self._hosts = allowed_hosts(settings)
        self._host_cache: dict[str | None, bool] = {}
        self._origins: dict[int, frozenset[str]] = {}
        self.token = token
        self.token_file = token_file

    def host_ok(self, host_header: str | None) -> bool:
        """DEV-HOST: the request's Host (without port) is in `TES_ALLOWED_HOSTS`."""
        known = self._host_cache.get(host_header)
        if known is None:
            known = host_allowed(host_header, self._hosts)
            if len(self._host_cache) < 256:
                self._host_cache[host_header] = known
        return known

    def origin_ok(self, origin: str | None, port: int) -> bool:
        """DEV-ORIGIN: no Origin, or one in `TES_ALLOWED_ORIGINS` (default: this server's own) compared whole."""
        allowed = self._origins.get(port)
        if allowed is None:
            allowed = self._origins[port] = allowed_origins(self._settings, port)
        return origin_allowed(origin, allowed)

    def token_ok(self, authorization: str | None) -> bool:
        """DEV-AUTH: `Authorization: Bearer TOKEN`, the scheme in any case, the token exact (constant time)."""
        if authorization is None:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode(), self.token.encode())

    def refusal(self, headers: Mapping[str, str], port: int, *, auth: bool = True) -> Refusal | None:
        """Origin (403), then token (401) of a guarded request; None when it may proceed to its body."""
        if not self.origin_ok(headers.get("Origin"), port):
            return Refusal(403, "origin not allowed",
                           "open the dashboard from an origin in TES_ALLOWED_ORIGINS")
        if auth and not self.token_ok(headers.get("Authorization")):
            return Refusal(401, "missing or wrong dev token",
                           "send Authorization: Bearer TOKEN (TES_DEV_TOKEN, or the file TES_STATE_DIR/dev-token)",
                           {"WWW-Authenticate": "Bearer"})
        return None


def load_token(settings: Settings) -> tuple[str, Path | None]:
    """`TES_DEV_TOKEN`, else 32 random bytes made now and written to `TES_STATE_DIR/dev-token` (mode 0600).

    Returns the token and the file it was written to (None for `TES_DEV_TOKEN`). Every start makes a new
    one: a token of an earlier start stops working.
    """
    if settings.dev_token is not None:
        return settings.dev_token, None
    token = secrets.token_urlsafe(32)
    path = Path(settings.state_dir) / TOKEN_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an older file of another mode keeps its mode through O_CREAT
            os.write(fd, (token + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise ConfigError(f"TES_STATE_DIR={settings.state_dir!r}: cannot write the dev token to {path} "
                          f"({exc.strerror or exc})") from None
    return token, path


def loopback_bind(host: str) -> bool:
    """True when `host` (TES_HOST) listens on loopback only."""
    return host_name(url_host(host)) in LOOPBACK_HOSTS or host.startswith("127.")
