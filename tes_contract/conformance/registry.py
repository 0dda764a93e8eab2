"""A tiny registry of checks: each check is a function that yields failures, tagged with the clauses it tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from tes_contract.contract.clauses import clause

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Check:
    """One registered check: its function's name, and the clauses it can report."""

    name: str
    clauses: tuple[str, ...]
    func: Callable[..., Any]

    @property
    def profile(self) -> str:
        """The profile of the check's first clause (all of a check's clauses share one profile)."""
        return clause(self.clauses[0]).profile


class Registry:
    """Checks by name, in registration order (schemathesis `core/registries.py` keeps one as small)."""

    def __init__(self) -> None:
        self._items: dict[str, Check] = {}

    def register(self, *clauses: str) -> Callable[[F], F]:
        """Decorator: register a check that reports failures of `clauses` (validated against the contract)."""
        for id in clauses:
            clause(id)  # a typo in a clause id fails at import, not in a report

        def decorate(func: F) -> F:
            self._items[func.__name__] = Check(func.__name__, tuple(clauses), func)
            return func

        return decorate

    def get(self, name: str) -> Check:
        """Return the check of this name."""
        return self._items[name]

    def all(self) -> list[Check]:
        """Return every registered check."""
        return list(self._items.values())

    def checks_by_clause(self) -> dict[str, list[str]]:
        """Return, for every clause some check reports, the names of those checks."""
        mapping: dict[str, list[str]] = {}
        for item in self._items.values():
            for id in item.clauses:
                mapping.setdefault(id, []).append(item.name)
        return mapping

    def names(self, items: Iterable[Check] | None = None) -> list[str]:
        """Return the names of `items` (default: every check)."""
        return [item.name for item in (items if items is not None else self._items.values())]


#: Clauses the harness has no check for yet, each with the profile whose checks are not written: a run
#: reports them "not checked". A test keeps this list exact, and core must never appear in it.
UNCHECKED: dict[str, str] = {
    "LIVE-INTERVAL": "live",
    "LIVE-CHANGE": "live",
    "DEV-AUTH": "dev",
}

#: The harness's checks; `tes_contract.conformance.checks` fills it at import.
CHECKS = Registry()
check = CHECKS.register
