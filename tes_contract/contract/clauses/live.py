"""The clauses of the `live` profile: WebSocket push of the status at `/api/dev/status/ws`."""

from __future__ import annotations

from tes_contract.contract.clauses.base import Clause

_c = Clause

CLAUSES: tuple[Clause, ...] = (
    _c("LIVE-UPGRADE", "live", "Upgrade required",
       "A GET of `/api/dev/status/ws` without a WebSocket upgrade answers 400 or 426 with a JSON error body "
       "(404 would mean \"not implemented\").",
       "Plain GET of the path; status 400 or 426 and a body valid per `schemas/error.json`."),
    _c("LIVE-CONNECT", "live", "Status pushed on connect",
       "The first frame, sent on connect, is a status message `{\"type\": \"status\", \"data\": "
       "EnhancedStatusData}`, within 1 s "
       "of the handshake when the upstreams are healthy (within the upstream timeout + 1 s when they hang).",
       "Connect; time the first text frame with the harness's clock (tolerance stated in the report)."),
    _c("LIVE-INTERVAL", "live", "Status pushed every push interval",
       "With nothing changing, a client receives between 0.8 and 1.25 status messages per push interval "
       "(`TES_PUSH_INTERVAL_MS`), counting the frames after the first over at least 4 intervals, and no gap "
       "between two frames after the first exceeds 1.5 x the interval.",
       "Run the server with a short `TES_PUSH_INTERVAL_MS`; count frames and gaps over at least 4 intervals."),
    _c("LIVE-CHANGE", "live", "Change pushed within 100 ms",
       "When the server observes a new `trafficMode` or `telemetryStatus`, every subscriber receives a status "
       "message showing it within 100 ms: after the worker mock flips, no later than 100 ms after the first "
       "HTTP status answer that shows it; after a response that moves errorRate across a boundary (a 503 of "
       "`GET /api/dev/workers` with the worker API down), no later than 100 ms after that response.",
       "Flip the worker mock, poll the status until it shows the change, and time the push; then make "
       "`GET /api/dev/workers` answer 503 and time the trafficMode push."),
    _c("LIVE-DATA", "live", "Every pushed document is a valid status",
       "Every frame validates against `schemas/status-push.json`; every pushed `data` satisfies every status "
       "clause (schema, invariants), and on one connection `timestamp`, `uptime` and `cpu` never decrease. "
       "Clients ignore message types they do not know (`event` is reserved for the history profile).",
       "Validate every frame the harness receives; compare consecutive frames of each connection."),
    _c("LIVE-ONCE", "live", "One snapshot per tick, not per subscriber",
       "Pushes cost one snapshot per tick: with 20 subscribers the upstream calls per interval are no more "
       "than with 1.",
       "Count upstream calls in the mock journal over the same intervals with 1 and with 20 subscribers."),
    _c("LIVE-COUNT", "live", "websocketConnections counts open sockets",
       "`websocketConnections` equals the open WebSocket connections: a client that opens n sees n; after it "
       "closes them, 0 within 1 s.",
       "Open n sockets as the only client, read the status; close them and poll for 0."),
    _c("LIVE-PING", "live", "Pings answered",
       "A ping from the client gets a pong within 1 s.",
       "Send a ping with a payload; expect the pong carrying it."),
    _c("LIVE-CLOSE", "live", "Close 1001 on SIGTERM",
       "On SIGTERM the server closes every WebSocket with code 1001 before it exits.",
       "Managed mode: the harness sends SIGTERM and reads the close frame of each open socket."),
)
