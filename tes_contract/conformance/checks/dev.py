"""Checks of the dev profile: the worker proxy, tmux control, the server's security."""

from __future__ import annotations

from collections.abc import Iterator

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check


@check("DEV-WORKERS")
def worker_list_unavailable_is_503(ex: Exchange) -> Iterator[Failure]:
    """GET /api/dev/workers answers 503 with a JSON error body when the worker API cannot be reached."""
    if ex.status not in (404, 503):  # 404: the server has no dev profile
        observed = f"status {ex.status}" if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("DEV-WORKERS", "503 while the worker API is down", observed)


CHECKS = (worker_list_unavailable_is_503,)
