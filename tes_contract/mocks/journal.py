"""The journal: one entry per request a mock received, completed in place as the answer goes out."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

#: Entries kept per upstream; older ones drop first (their `seq` numbers show the gap).
DEFAULT_LIMIT = 50_000


class Journal:
    """Requests of one upstream, oldest first.

    An entry is a JSON object: `seq`, `upstream`, `method`, `path`, `headers`, `scenario` (the one set),
    `decision` (what this request got: the leaf scenario, its parameters, and for chaos the seed and draw),
    `arrived_at`, `completed_at`, `client_gave_up_at`, `status`, and for the webhook `body` (the delivery's
    text). Times are `time.time()` epoch seconds.
    """

    def __init__(self, upstream: str, limit: int = DEFAULT_LIMIT) -> None:
        self.upstream = upstream
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._seq = 0

    def record(self, method: str, path: str, headers: dict[str, str], scenario: str,
               decision: dict[str, Any], body: str | None = None) -> dict[str, Any]:
        """Add the entry of a request that just arrived and return it for completion."""
        self._seq += 1
        entry: dict[str, Any] = {
            "seq": self._seq, "upstream": self.upstream, "method": method, "path": path, "headers": headers,
            "scenario": scenario, "decision": decision, "arrived_at": time.time(),
            "completed_at": None, "client_gave_up_at": None, "status": None,
        }
        if body is not None:
            entry["body"] = body
        self._entries.append(entry)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Return a copy of the entries, oldest first."""
        return [dict(entry) for entry in self._entries]

    def clear(self) -> int:
        """Forget the entries (numbering continues); return how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count

    def reset(self) -> None:
        """Forget the entries and restart numbering at 1."""
        self._entries.clear()
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)
