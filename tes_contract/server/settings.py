"""Settings of the reference server: one frozen dataclass, read from the environment and validated once.

Every `TES_*` variable of BRIEF.md and PROFILES.md is here, so each feature reads its own fields from one
place; a bad value exits 2 naming the variable, and an empty value counts as unset.
"""

from __future__ import annotations

import os
import re
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
DEFAULT_PUSH_INTERVAL_MS = 1000
DEFAULT_STATE_DIR = ".tes"
DEFAULT_HISTORY_INTERVAL_MS = 10_000
DEFAULT_HISTORY_RETENTION_S = 7 * 24 * 3600
DEFAULT_EVENT_LOG = "logs/worker-events.log"

#: Environment variable of each field read from the environment.
ENV_NAMES: dict[str, str] = {
    "host": "TES_HOST",
    "port": "TES_PORT",
    "tmux_status_url": "TES_TMUX_STATUS_URL",
    "worker_api_url": "TES_WORKER_API_URL",
    "upstream_timeout_ms": "TES_UPSTREAM_TIMEOUT_MS",
    "primary_region": "TES_PRIMARY_REGION",
    "tmux_socket": "TES_TMUX_SOCKET",
    "push_interval_ms": "TES_PUSH_INTERVAL_MS",
    "state_dir": "TES_STATE_DIR",
    "history_interval_ms": "TES_HISTORY_INTERVAL_MS",
    "history_retention_s": "TES_HISTORY_RETENTION_S",
    "event_log": "TES_EVENT_LOG",
    "alert_webhook_url": "TES_ALERT_WEBHOOK_URL",
    "dev_token": "TES_DEV_TOKEN",
    "allowed_origins": "TES_ALLOWED_ORIGINS",
    "allowed_hosts": "TES_ALLOWED_HOSTS",
}
_INTEGERS = frozenset({"port", "upstream_timeout_ms", "push_interval_ms", "history_interval_ms",
                       "history_retention_s"})
_LISTS = frozenset({"allowed_origins", "allowed_hosts"})
#: Core variables that keep their own rule for an empty value (an error, as before the profiles existed).
_EMPTY_IS_A_VALUE = frozenset({"host", "port", "worker_api_url", "upstream_timeout_ms"})
#: Inclusive bounds of the integer settings (port and timeout are checked on their own).
_BOUNDS: dict[str, tuple[int, int, str]] = {
    "push_interval_ms": (100, 60_000, "milliseconds"),
    "history_interval_ms": (100, 3_600_000, "milliseconds"),
    "history_retention_s": (1, 10 * 365 * 24 * 3600, "seconds"),
}
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: it travels in an Authorization header
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$")


@dataclass(frozen=True)
class Settings:
    """Everything the server reads at start; build it with `Settings.from_env()` or directly in tests.

    Args:
        host, port: where to listen (`TES_HOST`, `TES_PORT`; port 0 picks a free one).
        tmux_status_url: the tmux-status upstream (`TES_TMUX_STATUS_URL`); None means the server's own
            `/api/dev/tmux/status`, resolved from the address a request arrived on.
        worker_api_url: base URL of the worker API (`TES_WORKER_API_URL`).
        upstream_timeout_ms: bound of each upstream call over connect, headers and body.
        primary_region: echoed as `directions.primaryRegion`.
        tmux_socket: tmux socket name (`tmux -L NAME`) for status and control; None for tmux's default.
        naive: switch single-flight and circuit breakers off (the original's behaviour, for the benchmark).
        history: run the history profile (database, sampler, events); off only for in-process tests and
            benchmarks of the other features, which count upstream calls exactly (no variable: a server
            always keeps its history).
        probe_interval_s: how long an open circuit breaker answers at once before probing again.
        push_interval_ms: live: interval between status pushes (`TES_PUSH_INTERVAL_MS`, 100..60000).
        state_dir: history database and generated dev token (`TES_STATE_DIR`).
        history_interval_ms: history: sampling interval (`TES_HISTORY_INTERVAL_MS`, 100..3600000).
        history_retention_s: history: how long points and events are kept (`TES_HISTORY_RETENTION_S`).
        event_log: history: the JSON Lines event log, append-only (`TES_EVENT_LOG`).
        alert_webhook_url: history: where alerts are POSTed; None sends none (`TES_ALERT_WEBHOOK_URL`).
        dev_token: dev: the bearer token of state-changing requests; None generates one at start.
        allowed_origins: dev: the Origin allow-list; None means the server's own origins.
        allowed_hosts: dev: the Host allow-list (ports ignored); None means loopback names and the bind host.

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
    history: bool = True
    probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S
    push_interval_ms: int = DEFAULT_PUSH_INTERVAL_MS
    state_dir: str = DEFAULT_STATE_DIR
    history_interval_ms: int = DEFAULT_HISTORY_INTERVAL_MS
    history_retention_s: int = DEFAULT_HISTORY_RETENTION_S
    event_log: str = DEFAULT_EVENT_LOG
    alert_webhook_url: str | None = None
    dev_token: str | None = None
    allowed_origins: tuple[str, ...] | None = None
    allowed_hosts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_port("port", self.port)
        _check_url("tmux_status_url", self.tmux_status_url, allow_none=True)
        _check_url("worker_api_url", self.worker_api_url)
        _check_url("alert_webhook_url", self.alert_webhook_url, allow_none=True)
        _check_timeout("upstream_timeout_ms", self.upstream_timeout_ms)
        for attr, (low, high, unit) in _BOUNDS.items():
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise _bad(attr, value, f"{unit}, an integer from {low} to {high}")
        for attr in ("host", "primary_region", "state_dir", "event_log"):
            if not getattr(self, attr):
                raise _bad(attr, getattr(self, attr), "must not be empty")
        if self.tmux_socket is not None and (not self.tmux_socket or "/" in self.tmux_socket):
            raise _bad("tmux_socket", self.tmux_socket, "a socket name (tmux -L NAME), without '/'")
        if not 0 < self.probe_interval_s <= MAX_PROBE_INTERVAL_S:
            raise _bad("probe_interval_s", self.probe_interval_s, f"seconds, > 0 and <= {MAX_PROBE_INTERVAL_S}")
        if self.dev_token is not None and not _TOKEN.match(self.dev_token):
            raise _bad("dev_token", "(hidden)", "visible ASCII characters, no spaces (it travels in a header)")
        _check_list("allowed_origins", self.allowed_origins, _ORIGIN, "origins like http://localhost:3002")
        _check_list("allowed_hosts", self.allowed_hosts, _HOST, "host names, a port may follow (ignored)")

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
            if raw is None or (raw.strip() == "" and attr not in _EMPTY_IS_A_VALUE):
                continue  # unset or empty: the default (an empty TES_PRIMARY_REGION means us-east-1)
            values[attr] = _parse(attr, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def describe(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict, for the `config` log line (the dev token never shown)."""
        data = asdict(self)
        data["tmux_status_url"] = self.tmux_status_url or "(self) /api/dev/tmux/status"
        data["dev_token"] = "(set)" if self.dev_token else "(generated at start)"
        return data


def _name(attr: str) -> str:
    return ENV_NAMES.get(attr, attr)


def _bad(attr: str, value: object, why: str) -> ConfigError:
    """`TES_PORT='99999': why` — the variable, and the value as it was given."""
    return ConfigError(f"{_name(attr)}={str(value)!r}: {why}")


def _parse(attr: str, raw: str) -> Any:
    """Turn one environment string into the field's type, naming the variable when it cannot."""
    if attr in _INTEGERS:
        text = raw.strip()
        if not text.lstrip("-").isdigit():
            raise _bad(attr, raw, "not an integer")
        return int(text)
    if attr in _LISTS:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
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


def _check_list(attr: str, items: tuple[str, ...] | None, pattern: re.Pattern[str], what: str) -> None:
    if items is None:
        return
    if not items:
        raise _bad(attr, "", f"comma-separated {what}; empty means the default")
    for item in items:
        match = pattern.match(item)
        if match is None or (match.group(2) is not None and int(match.group(2)[1:]) > 65535):
            raise _bad(attr, ",".join(items), f"{item!r} is not one of the {what}")
