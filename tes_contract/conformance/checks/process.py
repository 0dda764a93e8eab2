"""Checks of the server process itself: it stays up while driven, and SIGTERM stops it in time."""

from __future__ import annotations

from collections.abc import Iterator

from tes_contract.conformance.model import Failure, ServerExit
from tes_contract.conformance.registry import check


@check("SERVER-ALIVE")
def server_stays_up(exit: ServerExit | None) -> Iterator[Failure]:
    """The server stayed up for the whole group (None), or how and when it ended."""
    if exit is not None:
        last = (exit.output or "").strip().splitlines()[-1:] or ["(nothing)"]
        yield Failure("SERVER-ALIVE", "the server up until the harness stops it",
                      f"{exit.summary()}; its last output line: {last[0][:300]}")


@check("SERVER-STOP")
def server_stops_on_sigterm(ended_by: str, seconds: float, grace_s: float) -> Iterator[Failure]:
    """The process exited on SIGTERM within `grace_s` (`ended_by` is the signal that ended it)."""
    if ended_by != "SIGTERM":
        yield Failure("SERVER-STOP", f"the process exits within {grace_s:g} s of SIGTERM",
                      f"still running {seconds:.1f} s after SIGTERM: killed with {ended_by}")


CHECKS = (server_stays_up, server_stops_on_sigterm)
