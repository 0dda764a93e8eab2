"""Hypothesis strategies for EnhancedStatusData, built by hand from the clauses (the validator is the oracle).

Written independently of `tes_contract.contract.rules`: trafficMode is drawn first and errorRate from its
interval, so a wrong boundary in the oracle shows up as a rejected valid document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

MAX_COUNT = 10**9

# errorRate intervals per trafficMode, with the exact boundaries the contract pins.
TRAFFIC_RATES: dict[str, st.SearchStrategy[float]] = {
    "normal": st.one_of(st.floats(0, 0.1, exclude_max=True), st.sampled_from([0, 0.0, 0.0999, 0.09999999])),
    "degraded": st.one_of(st.floats(0.1, 0.5), st.sampled_from([0.1, 0.5, 0.25])),
    "isolated": st.one_of(st.floats(0.5, 1, exclude_min=True), st.sampled_from([0.5000001, 1, 1.0])),
}

counts = st.integers(0, MAX_COUNT)
# Non-negative measures: integers or finite floats, as a JSON number may be either.
measures = st.one_of(st.integers(0, MAX_COUNT), st.floats(0, 1e9, allow_nan=False, allow_infinity=False))


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339 UTC with exactly three fractional digits and Z."""
    m = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
    # Formatted by hand: strftime("%Y") does not pad years before 1000 on every platform.
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
            f".{m.microsecond // 1000:03d}Z")


@st.composite
def status_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid EnhancedStatusData: schema and every invariant of the clauses."""
    mode = draw(st.sampled_from(sorted(TRAFFIC_RATES)))
    workers = draw(st.one_of(st.just(0), st.integers(1, 1000), counts))
    telemetry = "healthy" if workers > 0 else draw(st.sampled_from(["degraded", "offline"]))
    total = draw(st.integers(0, 10_000))
    active = draw(st.integers(0, total))
    sessions: dict[str, Any] = {
        "tmux": draw(counts),
        "activeWorkers": workers,
        "apiSessions": draw(st.integers(1, MAX_COUNT)),
        "websocketConnections": draw(counts),
    }
    if draw(st.booleans()):
        sessions["websocketSubscribers"] = draw(counts)
    return {
        "timestamp": draw(timestamps()),
        "vector": {
            "sessions": sessions,
            "directions": {
                "primaryRegion": draw(st.one_of(st.sampled_from(["us-east-1", "eu-west-1"]), st.text(min_size=1))),
                "trafficMode": mode,
                "requestFlow": {
                    "totalRoutes": total,
                    "activeRoutes": active,
                    "avgLatency": draw(measures),
                    "requestsPerSecond": draw(measures),
                },
                "activeRoutes": active,
            },
            "others": {
                "memory": draw(st.integers(1, 2**48)),
                "cpu": draw(st.integers(0, 2**48)),
                "errorRate": draw(TRAFFIC_RATES[mode]),
                "uptime": draw(measures),
            },
        },
        "meta": {
            "totalEndpoints": draw(st.integers(1, 10_000)),
            "telemetryStatus": telemetry,
            "statusVersion": "2.0",
        },
    }
