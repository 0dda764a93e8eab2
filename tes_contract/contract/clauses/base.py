"""What a clause is, the profiles and the families of clause ids."""

from __future__ import annotations

from dataclasses import dataclass

PROFILES = ("core", "live", "dev", "metrics", "history")

#: What a server claims when it claims a profile (conformance is reported per profile).
PROFILE_DESCRIPTIONS: dict[str, str] = {
    "core": "the status endpoint `GET /api/dev/status`: headers, schema, invariants, upstream scenarios, "
            "timeouts, traffic accounting. A small server can claim `core` alone.",
    "live": "WebSocket push at `/api/dev/status/ws`: `{\"type\": \"status\", \"data\": EnhancedStatusData}` on "
            "connect, then every push interval and within 100 ms of a trafficMode or telemetryStatus change.",
    "dev": "tmux control and the worker proxy (`GET /api/dev/workers`, snapshots): auth, validation, rate "
           "limits; 503 when the worker API cannot be reached.",
    "metrics": "Prometheus text exposition at `/api/dev/metrics`.",
    "history": "status history in `GET /api/dev/status/history`, events of every trafficMode and "
               "telemetryStatus change (`GET /api/dev/events`, an append-only JSON Lines log), webhook alerts.",
}

#: Families of clause ids, as (id prefix, title); a clause belongs to the longest prefix it starts with.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("STATUS-HTTP", "HTTP surface of GET /api/dev/status"),
    ("STATUS-HDR", "Response headers"),
    ("STATUS-SCHEMA", "Body schema"),
    ("STATUS-FIELD", "Fields"),
    ("STATUS-INV", "Invariants within one answer"),
    ("STATUS-MONO", "Across answers"),
    ("UPSTREAM", "Upstream calls and upstream APIs"),
    ("TIMEOUT", "Timeouts"),
    ("CONFIG", "Configuration"),
    ("ERROR", "Error answers"),
    ("SERVER", "The server process"),
    ("LIVE", "WebSocket push"),
    ("DEV", "Dev endpoints"),
    ("METRICS", "Metrics"),
    ("HISTORY", "Status history"),
    ("EVENTS", "Events and the event log"),
    ("ALERT", "Webhook alerts"),
)


@dataclass(frozen=True)
class Clause:
    """One testable statement of the contract."""

    id: str
    profile: str
    title: str
    must: str
    observed: str
