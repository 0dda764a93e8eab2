"""The clauses of the `dev` profile: tmux control, the worker proxy, the server's security."""

from __future__ import annotations

from tes_contract.contract.clauses.base import Clause

_c = Clause

CLAUSES: tuple[Clause, ...] = (
    _c("DEV-TMUX-STATUS", "dev", "tmux status endpoint",
       "`GET /api/dev/tmux/status` answers the tmux-status shape from the real tmux; tmux missing or no "
       "server gives `{\"online\": false, \"sessions\": [], \"error\": ...}`.",
       "Validate against `schemas/tmux-status.json`."),
    _c("DEV-WORKERS", "dev", "Worker list",
       "`GET /api/dev/workers` lists the workers of the worker API (`schemas/worker-list.json`); it answers "
       "503 with a JSON error body when the worker API cannot be reached (refused, reset or timed out), 502 "
       "when it answers non-2xx or an invalid body.",
       "Worker upstream healthy, then down."),
    _c("DEV-TMUX-CONTROL", "dev", "tmux control tells the truth",
       "`POST /api/dev/tmux/sessions` with `{\"name\", \"command\"?}` (`schemas/tmux-session-request.json`: "
       "name `^[A-Za-z0-9_-]{1,64}$`, command an argv list of strings, never run through a shell) answers "
       "201 with the session in the tmux-status session shape, 409 when that name exists, 400 naming the bad "
       "field. `DELETE /api/dev/tmux/sessions/{name}` answers 204, or 404 when there is none (the name "
       "exactly, never a prefix). `GET /api/dev/tmux/sessions/{name}/panes/{index}/capture?lines=N` answers "
       "`{\"text\"}` (`schemas/pane-capture.json`), the pane's last N lines (default 200, 1..5000, else 400), "
       "404 for no such session or pane. The answers are true: after a 201, `/api/dev/tmux/status` and the "
       "status's `tmux` count show the session; after a 204 they do not. Names leave out the `.` PROFILES.md "
       "allowed: tmux turns `.` into `_`, so a session made as `a.b` could never be found by its name.",
       "On a private tmux socket: create, create again, kill, kill again, a prefix of a name, a command "
       "with `;` and `$(...)` arguments; tmux's own list after each."),
    _c("DEV-SNAPSHOT", "dev", "Worker snapshot proxy",
       "`GET /api/dev/workers/{id}/snapshot`: an id not matching `^[A-Za-z0-9_.:-]{1,128}$`, or `.` or `..`, "
       "answers 400 before any upstream call; otherwise the worker's body is streamed byte for byte with "
       "`Content-Disposition: attachment; filename=\"worker-{id}-snapshot.json\"`; the worker's 404 and 400 "
       "pass through as JSON errors; worker unreachable 503; the whole body arrives within "
       "`TES_UPSTREAM_TIMEOUT_MS` (a body taking 0.8 x is delivered whole; a longer one is a 504, or, once "
       "headers are sent, an aborted connection, never a short body that looks complete). A second request "
       "for the same worker within 10 s answers 429 with `Retry-After` in whole seconds (1..10); other "
       "workers are not limited; a request that passes validation and auth uses the worker's slot whatever "
       "the worker answers.",
       "Worker mock snapshot modes healthy (sized), slow_body at 0.8 x and 2 x, hang, not_found, "
       "bad_request, reset; bytes compared by sha256; the journal shows no call for a refused id."),
    _c("DEV-AUTH", "dev", "Dev endpoints that change state need a token",
       "Every POST, PUT, PATCH and DELETE under `/api/dev/`, the snapshot download and the pane capture need "
       "`Authorization: Bearer TOKEN`: missing or wrong answers 401 with `WWW-Authenticate: Bearer`. The "
       "scheme is case-insensitive (RFC 7235); the token is compared exactly, in constant time. There is no "
       "default token: `TES_DEV_TOKEN`, else 32 random bytes generated at each start, written to "
       "`TES_STATE_DIR/dev-token` with mode 0600; the log names that file, never the token.",
       "Each guarded route with no token, a wrong one, a prefix, the token in another case, a token of an "
       "earlier start, `bearer` in lower case; two starts without `TES_DEV_TOKEN`."),
    _c("DEV-ORIGIN", "dev", "Foreign Origins are refused",
       "A request carrying an `Origin` not in `TES_ALLOWED_ORIGINS` (compared whole: scheme, host and port; "
       "`Origin: null` is foreign) answers 403 on every route DEV-AUTH guards and on the WebSocket upgrade; "
       "a request without `Origin` is judged by the token alone. No answer carries "
       "`Access-Control-Allow-Origin: *`.",
       "Each guarded route with the right token and `Origin` foreign, `null`, a look-alike "
       "(`http://127.0.0.1.evil.example`), a prefix of an allowed one, another port."),
    _c("DEV-HOST", "dev", "Foreign Host names are refused (DNS rebinding)",
       "A request whose `Host` (without port) is not in `TES_ALLOWED_HOSTS` answers 403 on every route.",
       "Every route with `Host: evil.example`, `127.0.0.1.evil.example`, `localhost.evil`."),
    _c("DEV-NOSIDE", "dev", "Refusals have no side effect, in a fixed order",
       "A refused request (400, 401, 403, 409, 413, 429) has no side effect: no tmux session made or killed, "
       "no upstream call. Refusals come in this order: Host (403) -> no route (404) or method (405 with "
       "`Allow`) -> Origin (403) -> token (401) -> body size (413, past 64 KiB) -> validation (400) -> rate "
       "limit (429) -> the action.",
       "tmux's own session list and the worker mock's journal before and after every refused request; "
       "requests breaking two rules at once get the earlier refusal."),
)
