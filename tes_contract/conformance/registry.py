"""A tiny registry of checks: each check is a function that yields failures, tagged with the clauses it tests.

`@check(*clauses)` only tags a function (the clause ids are validated at import); a registry holds the
checks it is given explicitly (`tes_contract.conformance.checks.CHECKS`, one list per profile) and refuses
two checks of one name. `run_check` runs a tagged check and records its verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from tes_contract.conformance.model import Failure, Recorder
from tes_contract.contract.clauses import clause

F = TypeVar("F", bound=Callable[..., Any])
_CLAUSES_ATTR = "__tes_clauses__"


def check(*clauses: str) -> Callable[[F], F]:
    """Decorator: tag a check with the clauses it reports failures of (validated against the contract)."""
    if not clauses:
        raise ValueError("a check tests at least one clause")
    for id in clauses:
        clause(id)  # a typo in a clause id fails at import, not in a report

    def decorate(func: F) -> F:
        setattr(func, _CLAUSES_ATTR, tuple(clauses))
        return func

    return decorate


def clauses_of(func: Callable[..., Any]) -> tuple[str, ...]:
    """The clauses `@check` tagged `func` with; ValueError for a function that is no check."""
    found = getattr(func, _CLAUSES_ATTR, None)
    if found is None:
        raise ValueError(f"{getattr(func, '__name__', func)!r} is not a check (no @check)")
    return tuple(found)


@dataclass(frozen=True)
class Check:
    """One registered check: its function's name, and the clauses it can report."""

    name: str
    clauses: tuple[str, ...]
    func: Callable[..., Any]

    @property
    def profile(self) -> str:
        """The profile of the check's first clause."""
        return clause(self.clauses[0]).profile


class Registry:
    """Checks by name, in the order given (schemathesis `core/registries.py` keeps one as small)."""

    def __init__(self, funcs: Iterable[Callable[..., Any]] = ()) -> None:
        self._items: dict[str, Check] = {}
        for func in funcs:
            self.add(func)

    def add(self, func: Callable[..., Any]) -> Check:
        """Register a tagged check; ValueError when another check has its name."""
        name = func.__name__
        if name in self._items:
            raise ValueError(f"two checks named {name!r}: check names must be unique (reports cite them)")
        entry = self._items[name] = Check(name, clauses_of(func), func)
        return entry

    def get(self, name: str) -> Check:
        """Return the check of this name."""
        return self._items[name]

    def __contains__(self, func: object) -> bool:
        name = getattr(func, "__name__", None)
        return name in self._items and self._items[name].func is func

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


#: Clauses the harness has no check for yet, each with the profile whose checks are not written: a run
#: reports them "not checked". A test keeps this list exact, and core must never appear in it.
UNCHECKED: dict[str, str] = {
}


def run_check(recorder: Recorder, func: Callable[..., Iterator[Failure]], scenario: str, *args: Any,
              context: Failure | None = None, clauses: Iterable[str] | None = None, **kwargs: Any) -> list[Failure]:
    """Run one check and record its verdict under `clauses` (default: all the check's clauses)."""
    checked = clauses_of(func) if clauses is None else tuple(clauses)
    return recorder.record(func.__name__, checked, scenario, list(func(*args, **kwargs)), context=context)
