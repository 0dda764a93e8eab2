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
       "503 with a JSON error body when the worker API cannot be reached.",
       "Worker upstream healthy, then down."),
    _c("DEV-SNAPSHOT", "dev", "Worker snapshot proxy",
       "`GET /api/dev/workers/{id}/snapshot` proxies the worker snapshot: 400 for a bad id, 404 for an "
       "unknown id, 429 with `Retry-After` past one snapshot per worker per 10 s.",
       "Request a valid, a malformed and an unknown id; request twice within 10 s."),
    _c("DEV-AUTH", "dev", "Dev endpoints that change state need a token",
       "Endpoints that change state (tmux control) require the dev token configured at start; there is no "
       "default token.",
       "Without the token: 401; with it: the action."),
)
