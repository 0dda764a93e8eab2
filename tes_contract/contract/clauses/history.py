"""The clauses of the `history` profile: status history, events, the event log, webhook alerts."""

from __future__ import annotations

from tes_contract.contract.clauses.base import Clause

_c = Clause

CLAUSES: tuple[Clause, ...] = (
    _c("HISTORY-QUERY", "history", "Status history query",
       "`GET /api/dev/status/history?since=&until=&limit=` answers `schemas/status-history.json`, points in "
       "ascending `timestamp` within [since, until]; `since`/`until` RFC 3339 (`until` defaults to now, `since` "
       "to `until` - 1 h; `since` after `until` is a 400); `limit` 1..10000 (default 1000). Past `limit` the "
       "points are merged into `limit` buckets of equal time, each stamped with its start: figures averaged "
       "(counts rounded), each mode the worst in its bucket. A bad parameter answers 400 naming it. The first "
       "point is taken at start.",
       "Validate the answer; send bad since/until/limit and since > until; ask with limit 1 and compare the "
       "merged bucket with the raw points."),
    _c("HISTORY-SAMPLE", "history", "A point every interval",
       "A point every `TES_HISTORY_INTERVAL_MS` (0.8 to 1.25 points per interval over at least 5 intervals), "
       "each computed as a status answer at that moment would be.",
       "Run with a short interval; count the points of a window of at least 5 intervals; each point agrees "
       "with the status invariants and the upstream scenario."),
    _c("HISTORY-PERSIST", "history", "History survives a restart",
       "Points and events survive a restart with the same `TES_STATE_DIR` (a SIGKILL loses at most the last "
       "interval); event ids keep increasing across restarts, never reused.",
       "SIGTERM, then SIGKILL the server and start it again on the same state dir; the earlier points and "
       "events are still answered and new event ids are larger."),
    _c("HISTORY-STATE", "history", "Bad state directory at start",
       "An unusable `TES_STATE_DIR` (not writable, or its database held locked by another process) exits 2 "
       "naming `TES_STATE_DIR`; only an unreadable database file is moved aside (named in the log) for a new "
       "one.",
       "Start on a state dir that is a file; start on a corrupt database file."),
    _c("HISTORY-RETENTION", "history", "Retention",
       "Nothing older than `TES_HISTORY_RETENTION_S` is returned, and the database does not grow past what "
       "the retention holds.",
       "Run with a retention of a few seconds; no point or event older than it is answered."),
    _c("EVENTS-QUERY", "history", "Event query",
       "`GET /api/dev/events?after=ID&limit=N` answers `schemas/events.json`, ids increasing and > `after`; "
       "`kind` is `trafficMode` or `telemetryStatus`; `after` defaults to 0, `limit` to 100 (1..1000; over "
       "1000 is a 400, not clamped). Events older than the retention are deleted like points.",
       "Validate the answer; send bad after/limit."),
    _c("EVENTS-START", "history", "No event at start",
       "No event at start: trafficMode starts at `normal`, and the first telemetryStatus observed on a fresh "
       "state directory is the baseline (no event, no alert); after a restart, observation resumes from each "
       "kind's last event `to`.",
       "A fresh server with healthy upstreams has no event."),
    _c("EVENTS-CHAIN", "history", "Every change recorded once",
       "Every change of trafficMode or telemetryStatus the server observed is recorded once: per kind, each "
       "event's `from` equals the previous event's `to`, `from != to`, and every change the harness saw in "
       "answers or pushes is among them, in order.",
       "Flip the worker upstream several times; compare the events with the telemetryStatus values seen."),
    _c("EVENTS-LOG", "history", "Append-only event log",
       "Each event is also appended as one JSON line to `TES_EVENT_LOG`; the file is only ever appended to "
       "(never truncated or rewritten, across restarts too; rotation, if any, renames whole files).",
       "Read the log after changes and after a restart: every earlier line is still its prefix, every event "
       "has its line."),
    _c("EVENTS-PUSH", "history", "Events pushed on the WebSocket",
       "Where `live` is implemented, each event is also pushed as `{\"type\": \"event\", \"data\": Event}`.",
       "Keep a WebSocket open while the worker flips; an event message arrives."),
    _c("ALERT-SHAPE", "history", "Alert payload",
       "Alerts are `POST {TES_ALERT_WEBHOOK_URL}` with `schemas/alert.json` and an `Idempotency-Key` header "
       "that is the same on every retry of one alert.",
       "Validate every delivery in the webhook mock's journal."),
    _c("ALERT-FIRE", "history", "One alert per event",
       "One alert per event, within 1 s of it: `firing` when the new value is bad (trafficMode degraded or "
       "isolated; telemetryStatus degraded or offline; a change from one bad value to another fires again), "
       "`resolved` on the return to normal / healthy, sent only if something fired. `event` is the event's "
       "id, `value`/`previous` its `to`/`from`, `startsAt` when the bad spell began.",
       "Flip the worker upstream; compare the deliveries with the events."),
    _c("ALERT-RETRY", "history", "Retries",
       "A delivery answered 5xx, refused, reset or timed out (each attempt bounded by "
       "`TES_UPSTREAM_TIMEOUT_MS`) is retried with growing delays for at least 60 s; one answered 3xx or 4xx "
       "is not; once a delivery gets a 2xx it is never sent again. Deliveries of different alerts are "
       "independent.",
       "Webhook scenarios ok, 500 twice then ok, 400; exact delivery counts in the journal."),
    _c("ALERT-ISOLATION", "history", "Webhook never delays answers",
       "A hanging or failing webhook never delays any HTTP answer or push.",
       "With the webhook hanging, status answers during an alert come within their usual bound."),
)
