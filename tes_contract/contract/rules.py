"""The contract's functions: what a status field must be, given its inputs (the oracle of the checks)."""

from __future__ import annotations

from typing import Any, Literal

TrafficMode = Literal["normal", "degraded", "isolated"]
TelemetryStatus = Literal["healthy", "degraded", "offline"]

STATUS_VERSION = "2.0"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3002
DEFAULT_TMUX_PATH = "/api/dev/tmux/status"
DEFAULT_WORKER_API_URL = "http://127.0.0.1:3003"
DEFAULT_REGION = "us-east-1"
DEFAULT_TIMEOUT_MS = 5000
RECOVERY_S = 5.0
DEFAULT_PUSH_INTERVAL_MS = 1000
DEFAULT_HISTORY_INTERVAL_MS = 10_000
DEFAULT_HISTORY_RETENTION_S = 7 * 24 * 3600

#: CONFIG-ENV and PROFILES.md: what a server under test reads from its environment, as (variable, default,
#: meaning). A bad value exits 2 naming the variable; an empty value counts as unset.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("TES_HOST", DEFAULT_HOST, "address the server listens on"),
    ("TES_PORT", str(DEFAULT_PORT), "port the server listens on"),
    ("TES_TMUX_STATUS_URL", f"the server's own `{DEFAULT_TMUX_PATH}`", "full URL of the tmux-status upstream"),
    ("TES_WORKER_API_URL", DEFAULT_WORKER_API_URL, "base URL of the worker API (`/workers/status` is appended)"),
    ("TES_UPSTREAM_TIMEOUT_MS", str(DEFAULT_TIMEOUT_MS), "bound of each upstream call: connect, headers and body"),
    ("TES_PRIMARY_REGION", DEFAULT_REGION, "`directions.primaryRegion` (an empty value means the default)"),
    ("TES_TMUX_SOCKET", "tmux's default", "tmux socket name (`tmux -L NAME`) for tmux status and control"),
    ("TES_PUSH_INTERVAL_MS", str(DEFAULT_PUSH_INTERVAL_MS), "live: interval between status pushes (100..60000)"),
    ("TES_STATE_DIR", "`.tes` (in the working directory)", "history database, generated dev token"),
    ("TES_HISTORY_INTERVAL_MS", str(DEFAULT_HISTORY_INTERVAL_MS), "history: sampling interval (100..3600000)"),
    ("TES_HISTORY_RETENTION_S", str(DEFAULT_HISTORY_RETENTION_S), "history: how long points and events are kept "
     "(7 days)"),
    ("TES_EVENT_LOG", "`logs/worker-events.log`", "history: JSON Lines event log, append-only"),
    ("TES_ALERT_WEBHOOK_URL", "unset (no alerts sent)", "history: where alerts are POSTed"),
    ("TES_DEV_TOKEN", "unset: generated at each start into `TES_STATE_DIR/dev-token`", "dev: the bearer token "
     "of state-changing requests (DEV-AUTH)"),
    ("TES_ALLOWED_ORIGINS", "the server's own `http://localhost:PORT`, `http://127.0.0.1:PORT`, "
     "`http://[::1]:PORT`", "dev: Origin allow-list, comma-separated (DEV-ORIGIN)"),
    ("TES_ALLOWED_HOSTS", "`localhost`, `127.0.0.1`, `[::1]`, the bind host", "dev: Host allow-list, "
     "comma-separated, ports ignored (DEV-HOST)"),
)
#: What every server under test reads, whatever profiles it implements (the rows above these are core's).
CORE_ENVIRONMENT = ENVIRONMENT[:6]


def traffic_mode_for(error_rate: float) -> TrafficMode:
    """STATUS-FIELD-TRAFFICMODE: normal < 0.10 <= degraded <= 0.50 < isolated."""
    if error_rate < 0.10:
        return "normal"
    if error_rate <= 0.50:
        return "degraded"
    return "isolated"


def region_for(env_value: str | None) -> str:
    """STATUS-FIELD-REGION: the variable when set and non-empty, else us-east-1."""
    return env_value if env_value else DEFAULT_REGION


def worker_connected(body: Any) -> int | None:
    """UPSTREAM-WORKER-VALID: `connected` of a valid worker-status body, or None when the body is invalid."""
    # JSON booleans arrive as Python bool, a subclass of int: the contract says they are not integers.
    # `2.0` arrives as float and is refused here; the clause leaves such values outside v2.0 and the
    # harness never sends them, so this choice cannot fail a server either way.
    if isinstance(body, dict):
        connected = body.get("connected")
        if isinstance(connected, int) and not isinstance(connected, bool) and connected >= 0:
            return connected
    return None


def tmux_sessions(body: Any) -> int | None:
    """UPSTREAM-TMUX-VALID: the tmux count of a valid tmux-status body, or None when the body is invalid."""
    if isinstance(body, dict) and isinstance(body.get("online"), bool) and isinstance(body.get("sessions"), list):
        return len(body["sessions"]) if body["online"] else 0
    return None


def worker_fields(answered: bool, status: int | None = None, body: Any = None) -> tuple[int, TelemetryStatus]:
    """STATUS-FIELD-WORKERS and STATUS-FIELD-TELEMETRY from one worker-status call.

    `answered` is False when no answer came (refused, reset, closed, timeout). `body` is the parsed JSON,
    or None when it was not JSON.
    """
    if not answered:
        return 0, "offline"
    connected = worker_connected(body) if status is not None and 200 <= status < 300 else None
    if connected is None or connected == 0:
        return 0, "degraded"
    return connected, "healthy"


def tmux_field(answered: bool, status: int | None = None, body: Any = None) -> int:
    """STATUS-FIELD-TMUX from one tmux-status call: 0 whenever the upstream fails."""
    if not answered or status is None or not 200 <= status < 300:
        return 0
    return tmux_sessions(body) or 0
