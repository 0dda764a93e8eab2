"""The clauses of the `core` profile: the status endpoint."""

from __future__ import annotations

from tes_contract.contract.clauses.base import Clause

_c = Clause

CLAUSES: tuple[Clause, ...] = (
    # --- HTTP surface of GET /api/dev/status -------------------------------------------------------
    _c("STATUS-HTTP-1", "core", "GET answers 200",
       "`GET /api/dev/status` answers status 200 with a JSON body, whatever the state of the upstreams.",
       "Send GET in every upstream scenario; the status code is 200."),
    _c("STATUS-HTTP-2", "core", "Other methods answer 405 with Allow",
       "Any method other than GET (and HEAD, where the server supports it) on `/api/dev/status` answers 405 "
       "with an `Allow` header whose comma-separated list contains `GET`.",
       "Send PUT, POST, DELETE, PATCH; each answers 405 and `Allow` lists GET."),
    _c("STATUS-HTTP-3", "core", "Query parameters are ignored",
       "Query parameters never change the answer's status, headers or shape.",
       "GET with random query strings answers 200 with a body that validates."),
    _c("STATUS-HTTP-4", "core", "No 5xx from upstream faults",
       "No upstream fault (refused, reset, timeout, error status, garbage body) causes a 5xx on the status "
       "endpoint.",
       "Drive every upstream scenario; no answer has status >= 500."),
    _c("STATUS-HDR-1", "core", "Content-Type is JSON",
       "`Content-Type` is `application/json`, optionally followed by parameters such as `; charset=utf-8`.",
       "Read the header of every 200 answer."),
    _c("STATUS-HDR-2", "core", "Cache-Control no-cache",
       "`Cache-Control` contains the directive `no-cache` (other directives may be present).",
       "Split the header on commas; one directive equals `no-cache`, case-insensitively."),
    _c("STATUS-HDR-3", "core", "Version header",
       "`X-TES-Status-Version` is exactly `2.0`.",
       "Read the header of every 200 answer."),
    _c("STATUS-SCHEMA-1", "core", "Body matches EnhancedStatusData",
       "The body validates against `schemas/enhanced-status.json`: every object closed (no unknown keys) "
       "except the optional `vector.sessions.websocketSubscribers`; integers where integers are required "
       "(a JSON boolean is not an integer).",
       "Validate every body the harness receives with the JSON Schema 2020-12 validator, formats checked."),
    # --- fields --------------------------------------------------------------------------------------
    _c("STATUS-FIELD-TIMESTAMP", "core", "timestamp format",
       "`timestamp` is RFC 3339 UTC with exactly three fractional digits and `Z` (no offset, no leap second "
       "`:60`), taken when the snapshot is assembled.",
       "Pattern `YYYY-MM-DDTHH:MM:SS.sssZ`; within a few seconds of the harness's clock."),
    _c("STATUS-FIELD-TMUX", "core", "tmux counts sessions",
       "`sessions.tmux` is the number of tmux sessions (not panes) the tmux-status upstream reports; 0 when "
       "that upstream fails.",
       "Serve k sessions with several panes each; `tmux == k`."),
    _c("STATUS-FIELD-WORKERS", "core", "activeWorkers is connected",
       "`sessions.activeWorkers` is `connected` from the worker-status upstream; 0 when it fails.",
       "Serve `connected: n`; `activeWorkers == n`."),
    _c("STATUS-FIELD-APISESSIONS", "core", "apiSessions counts requests in flight",
       "`sessions.apiSessions` is the number of HTTP requests in flight, counting the one being answered "
       "(so >= 1).",
       "A lone request sees 1; requests held open by a hanging upstream raise it."),
    _c("STATUS-FIELD-WS", "core", "websocketConnections counts open WebSockets",
       "`sessions.websocketConnections` is the number of open WebSocket connections to the server.",
       "0 on a fresh server with no WebSocket client; +1 per open client (live profile)."),
    _c("STATUS-FIELD-REGION", "core", "primaryRegion from TES_PRIMARY_REGION",
       "`directions.primaryRegion` is `TES_PRIMARY_REGION` when set and non-empty, else `us-east-1`.",
       "Start the server with the variable set, empty and unset."),
    _c("STATUS-FIELD-TRAFFICMODE", "core", "trafficMode from errorRate",
       "`directions.trafficMode` is `normal` if errorRate < 0.10, `degraded` if 0.10 <= errorRate <= 0.50, "
       "`isolated` if errorRate > 0.50 (boundaries inclusive as written).",
       "Compare with the errorRate of the same body; drive exactly 0.10 and 0.50."),
    _c("STATUS-FIELD-ROUTES", "core", "routes from the router",
       "`requestFlow.totalRoutes` is the number of (method, path) routes the server registers; "
       "`activeRoutes` <= `totalRoutes`.",
       "Non-negative integers; see STATUS-INV-ROUTES."),
    _c("STATUS-FIELD-LATENCY", "core", "avgLatency in milliseconds",
       "`requestFlow.avgLatency` is the mean latency in milliseconds of HTTP requests completed in the last "
       "60 s (0 when none).",
       "Compare with the latencies the harness measured, one request deliberately slow so a unit error "
       "shows."),
    _c("STATUS-FIELD-RPS", "core", "requestsPerSecond over 60 s",
       "`requestFlow.requestsPerSecond` is the requests completed in the last 60 s divided by min(60, uptime) "
       "seconds.",
       "On a fresh server the harness knows every request sent; compare against the reported uptime."),
    _c("STATUS-FIELD-MEMORY", "core", "memory in bytes",
       "`others.memory` is the bytes of memory the process uses (> 0).",
       "A positive integer; larger than 1 MiB for any real process."),
    _c("STATUS-FIELD-CPU", "core", "cpu is cumulative milliseconds",
       "`others.cpu` is the cumulative CPU time (user + system) of the process in milliseconds, an integer "
       "that never decreases.",
       "Integer; non-decreasing across calls (STATUS-MONO-1)."),
    _c("STATUS-FIELD-ERRORRATE", "core", "errorRate over 60 s",
       "`others.errorRate` is the responses with status >= 500 divided by all responses completed in the "
       "last 60 s; 0 when none.",
       "After k 200s, n 404s and m 5xx on a fresh server, `errorRate == m / (k + n + m)`."),
    _c("STATUS-FIELD-UPTIME", "core", "uptime in seconds",
       "`others.uptime` is the seconds since the process started; it never decreases and advances with the "
       "wall clock.",
       "Two calls t seconds apart differ by about t."),
    _c("STATUS-FIELD-ENDPOINTS", "core", "totalEndpoints",
       "`meta.totalEndpoints` is the number of endpoints the server exposes (>= 1).",
       "A positive integer."),
    _c("STATUS-FIELD-TELEMETRY", "core", "telemetryStatus from the worker call",
       "`meta.telemetryStatus` is `healthy` when the worker-status upstream answered 2xx with a valid body "
       "and connected > 0; `degraded` when it answered but non-2xx, with an invalid body, or connected = 0; "
       "`offline` when it gave no answer (refused, reset, closed, timeout).",
       "Drive every worker scenario and compare."),
    _c("STATUS-FIELD-VERSION", "core", "statusVersion",
       "`meta.statusVersion` is `\"2.0\"`, equal to the `X-TES-Status-Version` header.",
       "Compare body and header."),
    # --- invariants ----------------------------------------------------------------------------------
    _c("STATUS-INV-TELEMETRY", "core", "healthy iff activeWorkers > 0",
       "`telemetryStatus == \"healthy\"` exactly when `activeWorkers > 0`: both come from one upstream call.",
       "Checked on every body."),
    _c("STATUS-INV-TRAFFIC", "core", "trafficMode matches errorRate",
       "`trafficMode` is the function of `errorRate` given in STATUS-FIELD-TRAFFICMODE.",
       "Checked on every body."),
    _c("STATUS-INV-ROUTES", "core", "activeRoutes <= totalRoutes",
       "`requestFlow.activeRoutes <= requestFlow.totalRoutes`.",
       "Checked on every body."),
    _c("STATUS-INV-ROUTES-EQUAL", "core", "directions.activeRoutes equals requestFlow.activeRoutes",
       "`directions.activeRoutes == directions.requestFlow.activeRoutes`.",
       "Checked on every body."),
    _c("STATUS-INV-VERSION", "core", "body version equals header",
       "`meta.statusVersion` equals the `X-TES-Status-Version` header and is `\"2.0\"`.",
       "Checked on every answer."),
    _c("STATUS-MONO-1", "core", "timestamp, uptime, cpu never decrease",
       "Across calls to one server process, `timestamp`, `uptime` and `cpu` never decrease.",
       "Compare consecutive answers."),
    # --- upstream calls ------------------------------------------------------------------------------
    _c("UPSTREAM-CONCURRENT", "core", "Upstreams called concurrently",
       "Both upstreams are called concurrently: with both hanging the answer takes about one timeout, not "
       "two.",
       "Both upstreams `hang`; the answer comes within timeout + slack."),
    _c("UPSTREAM-ONCE", "core", "Each upstream at most once per status request",
       "Each upstream is called at most once per status request (coalescing concurrent status requests into "
       "one call is allowed).",
       "Count calls in the mock journal against status requests sent."),
    _c("UPSTREAM-TMUX-SHAPE", "core", "tmux-status upstream API",
       "`GET {TES_TMUX_STATUS_URL}` answers `schemas/tmux-status.json`.",
       "The mocks serve it; the reference server's `/api/dev/tmux/status` answers it."),
    _c("UPSTREAM-WORKER-SHAPE", "core", "worker-status upstream API",
       "`GET {TES_WORKER_API_URL}/workers/status` answers `schemas/worker-status.json`; "
       "`GET {TES_WORKER_API_URL}/workers/{id}/snapshot` answers a JSON attachment, 400 for a bad id, 404 "
       "for an unknown id.",
       "The mocks serve it."),
    _c("UPSTREAM-TMUX-VALID", "core", "What counts as a valid tmux body",
       "A tmux-status body is valid when it is a JSON object with a boolean `online` and an array "
       "`sessions`; then `tmux = len(sessions)` when `online` is true, else 0. Otherwise the upstream has "
       "failed (`tmux` 0). Other fields never change the status.",
       "Property-based: generated bodies, valid and corrupted, served through the mock."),
    _c("UPSTREAM-WORKER-VALID", "core", "What counts as a valid worker body",
       "A worker-status body is valid when it is a JSON object whose `connected` is an integer >= 0 (a JSON "
       "boolean is not an integer). Other fields never change the status. A `connected` written with a "
       "fraction or an exponent (`2.0`, `1e2`) or above 2^53 is outside v2.0: JSON parsers of different "
       "languages disagree on it, so an implementation may count it or not, and the harness never sends it.",
       "Property-based: generated bodies, valid and corrupted, served through the mock; `connected: true` "
       "gives `degraded` and 0."),
    _c("UPSTREAM-ISOLATION", "core", "No cascade between upstreams",
       "One upstream's failure never changes the other upstream's fields and never causes a 5xx.",
       "Fail one upstream at a time; the other's fields equal their healthy values."),
    _c("UPSTREAM-RECOVERY", "core", "Recovery shows within 5 s",
       "After an upstream recovers, the status shows it within 5 s (a circuit breaker may hold its cooldown "
       "that long, no longer).",
       "Flip an upstream from `down` to `healthy`; poll until the fields recover, at most 5 s + slack."),
    # --- timeouts -----------------------------------------------------------------------------------
    _c("TIMEOUT-BOUND", "core", "Upstream calls bounded by TES_UPSTREAM_TIMEOUT_MS",
       "Each upstream call is bounded by `TES_UPSTREAM_TIMEOUT_MS` covering connect, headers and body: with "
       "every upstream hanging (or dribbling its body) the answer comes within the timeout plus a small "
       "slack.",
       "Both upstreams `hang`, then `slow_body`; measure the answer's time."),
    _c("TIMEOUT-COUNTED", "core", "An answer inside the timeout is counted",
       "An upstream answering within the timeout (e.g. at 0.8 x timeout) is counted: its fields show it.",
       "Upstream `slow` at 0.8x; its fields show the healthy values."),
    _c("TIMEOUT-DEFAULT", "core", "Default timeout is 5000 ms",
       "With `TES_UPSTREAM_TIMEOUT_MS` unset the timeout is 5000 ms: an answer at 4 s is counted and a hang "
       "is cut by about 5 s.",
       "Start the server without the variable; upstream `slow` 4000 ms, then `hang`."),
    # --- configuration and errors ---------------------------------------------------------------------
    _c("CONFIG-ENV", "core", "Server reads the TES_* environment",
       "A server under test reads `TES_HOST`, `TES_PORT`, `TES_TMUX_STATUS_URL`, `TES_WORKER_API_URL`, "
       "`TES_UPSTREAM_TIMEOUT_MS` and `TES_PRIMARY_REGION`, with the defaults of the environment table "
       "(`TES_TMUX_STATUS_URL` defaults to the server's own `/api/dev/tmux/status`).",
       "The harness starts the server with these variables and reaches it and its upstreams through them."),
    # --- the server process ---------------------------------------------------------------------------
    _c("SERVER-ALIVE", "core", "The server stays up in every scenario",
       "The server stays up while it is driven: no scenario (upstream faults, bad payloads, fuzzed requests, "
       "load) makes it exit or die by a signal; a crash is a defect of its own, reported once with the group, "
       "the time, the exit code or signal and the server's last output, never as many failures of what it "
       "could no longer answer.",
       "Managed mode: the harness watches each group's server process until it stops it. Live mode: it probes "
       "the server's port every 0.5 s; three refused connects in a row mean the server went away."),
    _c("SERVER-STOP", "core", "SIGTERM stops the server within 5 s",
       "On SIGTERM the server's process exits within 5 s (after closing what it must, e.g. WebSockets with "
       "1001), so a supervisor or a CI job can stop it; a process that stays is killed with SIGKILL and "
       "reported.",
       "At the end of every group the harness sends SIGTERM to the server's process group and waits up to "
       "5 s for the process to exit before SIGKILL (managed mode)."),
    _c("ERROR-BODY", "core", "Error answers are JSON",
       "Error answers (4xx, 5xx) carry a JSON body `{\"error\": ..., \"resolution\"?: ...}` "
       "(`schemas/error.json`), never ANSI colour codes or a stack trace.",
       "Validate the bodies of 405, 404 and 503 answers where they are JSON."),
)
