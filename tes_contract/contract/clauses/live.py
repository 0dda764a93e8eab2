"""The clauses of the `live` profile: WebSocket push of the status."""

from __future__ import annotations

from tes_contract.contract.clauses.base import Clause

_c = Clause

CLAUSES: tuple[Clause, ...] = (
    _c("LIVE-CONNECT", "live", "Status pushed on connect",
       "A WebSocket client of `/api/dev/status/ws` receives `{\"type\": \"status\", \"data\": "
       "EnhancedStatusData}` on connect.",
       "Connect; the first text frame validates against `schemas/status-push.json`."),
    _c("LIVE-INTERVAL", "live", "Status pushed every interval",
       "After the first message, a status message is pushed at least every push interval (at most 5 s).",
       "Keep a client open for two intervals; count messages."),
    _c("LIVE-CHANGE", "live", "Change pushed within 100 ms",
       "A change of `trafficMode` or `telemetryStatus` is pushed within 100 ms of the server observing it.",
       "Flip the worker upstream; the push carrying the new telemetryStatus arrives within 100 ms of the "
       "status answer that first shows it."),
    _c("LIVE-MSG", "live", "Push message shape",
       "Every pushed frame validates against `schemas/status-push.json` and the status invariants.",
       "Validate every frame."),
)
