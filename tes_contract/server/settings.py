"""Settings of the reference server: one frozen dataclass, read from the environment and validated once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from yarl import URL

from tes_contract.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3002
DEFAULT_WORKER_API_URL = "http://127.0.0.1:3003"
DEFAULT_TIMEOUT_MS = 5000
DEFAULT_REGION = "us-east-1"
#: How long a circuit breaker stays open before it probes again; the contract allows at most 5 s.
DEFAULT_PROBE_INTERVAL_S = 1.0
MAX_PROBE_INTERVAL_S = 5.0
MAX_TIMEOUT_MS = 600_000

#: Environment variable of each field read from the environment (the brief's names, plus our TES_TMUX_SOCKET).
ENV_NAMES: dict[str, str] = {
    "host": "TES_HOST",
    "port": "TES_PORT",
    "tmux_status_url": "TES_TMUX_STATUS_URL",
    "worker_api_url": "TES_WORKER_API_URL",
    "upstream_timeout_ms": "TES_UPSTREAM_TIMEOUT_MS",
    "primary_region": "TES_PRIMARY_REGION",
    "tmux_socket": "TES_TMUX_SOCKET",
}


@dataclass(frozen=True)
class Settings:
    """Everything the server reads at start; build it with `Settings.from_env()` or directly in tests.

    Args:
        host: interface to bind (`TES_HOST`).
        port: TCP port, 0 for any free port (`TES_PORT`).
        tmux_status_url: the tmux-status upstream (`TES_TMUX_STATUS_URL`); None means the server's own
            `/api/dev/tmux/status`, resolved from the address a request arrived on.
        worker_api_url: base URL of the worker API (`TES_WORKER_API_URL`).
        upstream_timeout_ms: bound of each upstream call over connect, headers and body.
        primary_region: echoed as `directions.primaryRegion`.
        tmux_socket: tmux socket name (`tmux -L NAME`) for `/api/dev/tmux/status`; None for tmux's default.
        naive: switch single-flight and circuit breakers off (every request calls every upstream and waits),
            the behaviour of the original system, kept for the benchmark's comparison.
        probe_interval_s: how long an open circuit breaker answers at once before probing again.

    Example:
        settings = Settings.from_env(os.environ, port=0)
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tmux_status_url: str | None = None
    worker_api_url: str = DEFAULT_WORKER_API_URL
    upstream_timeout_ms: int = DEFAULT_TIMEOUT_MS
    primary_region: str = DEFAULT_REGION
    tmux_socket: str | None = None
    naive: bool = False
    probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S

    def __post_init__(self) -> None:
        _check_port("port", self.port)
        _check_url("tmux_status_url", self.tmux_status_url, allow_none=True)
        _check_url("worker_api_url", self.worker_api_url)
        _check_timeout("upstream_timeout_ms", self.upstream_timeout_ms)
        if not self.host:
            raise _bad("host", self.host, "must not be empty")
        if not self.primary_region:
            raise _bad("primary_region", self.primary_region, "must not be empty")
        if self.tmux_socket is not None and (not self.tmux_socket or "/" in self.tmux_socket):
            raise _bad("tmux_socket", self.tmux_socket, "a socket name (tmux -L NAME), without '/'")
        if not 0 < self.probe_interval_s <= MAX_PROBE_INTERVAL_S:
            raise _bad("probe_interval_s", self.probe_interval_s, f"seconds, > 0 and <= {MAX_PROBE_INTERVAL_S}")

    @property
    def upstream_timeout_s(self) -> float:
        """The upstream timeout in seconds."""
        return self.upstream_timeout_ms / 1000

    @property
    def worker_status_url(self) -> str:
        """`GET {TES_WORKER_API_URL}/workers/status`."""
        return self.worker_api_url.rstrip("/") + "/workers/status"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the TES_* variables of `environ` (default `os.environ`); keyword overrides (flags) win.

        Raises:
            ConfigError: naming the variable and its value, when a value is malformed.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for attr, var in ENV_NAMES.items():
            raw = env.get(var)
            if raw is None or (raw == "" and attr in ("primary_region", "tmux_status_url", "tmux_socket")):
                continue  # unset or empty: the default (an empty TES_PRIMARY_REGION means us-east-1)
            values[attr] = _parse(attr, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def describe(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict, for the `config` log line."""
        data = asdict(self)
        data["tmux_status_url"] = self.tmux_status_url or "(self) /api/dev/tmux/status"
        return data


def _name(attr: str) -> str:
    return ENV_NAMES.get(attr, attr)


def _bad(attr: str, value: object, why: str) -> ConfigError:
    """`TES_PORT='99999': why` — the variable, and the value as it was given."""
    return ConfigError(f"{_name(attr)}={str(value)!r}: {why}")


def _parse(attr: str, raw: str) -> Any:
    """Turn one environment string into the field's type, naming the variable when it cannot."""
    if attr in ("port", "upstream_timeout_ms"):
        text = raw.strip()
        if not text.lstrip("-").isdigit():
            raise _bad(attr, raw, "not an integer")
        return int(text)
    return raw.strip()


def _check_port(attr: str, port: Any) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise _bad(attr, port, "a TCP port is an integer from 0 (any free port) to 65535")


def _check_timeout(attr: str, timeout_ms: Any) -> None:
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        raise _bad(attr, timeout_ms, f"milliseconds, an integer from 1 to {MAX_TIMEOUT_MS}")


def _check_url(attr: str, value: str | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    try:
        url = URL(str(value))
    except (TypeError, ValueError) as exc:
        raise _bad(attr, value, f"not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _bad(attr, value, "not an http(s) URL with a host")
