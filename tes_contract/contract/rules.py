"""The contract's functions: what a status field must be, given its inputs (the oracle of the checks)."""

from __future__ import annotations

from typing import Any, Literal

TrafficMode = Literal["normal", "degraded", "isolated"]
TelemetryStatus = Literal["healthy", "degraded", "offline"]

STATUS_VERSION = "2.0"
DEFAULT_REGION = "us-east-1"
DEFAULT_TIMEOUT_MS = 5000
RECOVERY_S = 5.0


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
