"""Checks of the live profile: the WebSocket push of the status."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tes_contract.conformance.model import Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.invariants import document_problems


@check("LIVE-CONNECT", "LIVE-DATA")
def first_push_is_status(message: str | None, error: str) -> Iterator[Failure]:
    """A WebSocket client receives {"type": "status", "data": EnhancedStatusData} on connect."""
    if message is None:
        yield Failure("LIVE-CONNECT", "a status message on connect", error or "no message")
        return
    try:
        document = json.loads(message)
    except ValueError:
        yield Failure("LIVE-DATA", "a JSON text frame", f"{message[:200]!r}")
        return
    for problem in document_problems("status-push", document):
        yield Failure(problem.clause if problem.clause.startswith("LIVE") else "LIVE-DATA",
                      f"{problem.pointer or '/'} valid per schemas/status-push.json", problem.message)


CHECKS = (first_push_is_status,)
