"""Who may talk to the server: the Origin and Host allow-lists of PROFILES.md (DEV-ORIGIN, DEV-HOST).

Pure functions over the settings and the port the server is bound to (known only once it listens, as
`TES_PORT=0` picks one); the routes that guard themselves call them.
"""

from __future__ import annotations

from tes_contract.contract.formats import url_host
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
