"""pytest plugin: `pytest --tes-server "COMMAND"` (or `--tes-url URL`) runs the conformance checks as items.

One item per clause and scenario, named `CLAUSE[scenario]`, so `-k`, JUnit output and CI dashboards work as
for any test. Without `--tes-server` or `--tes-url` the plugin adds nothing (it is registered as a
`pytest11` entry point, so it is loaded in every pytest session of an environment that installs the kit).
"""

from __future__ import annotations

from typing import Any

import pytest

from tes_contract.conformance.model import ConformanceResult, Outcome
from tes_contract.conformance.runner import Options, run_conformance
from tes_contract.errors import SetupError, TesContractError


def pytest_addoption(parser: pytest.Parser) -> None:
    """The --tes-* options."""
    group = parser.getgroup("tes-contract", "TES status API conformance (tes-contract)")
    group.addoption("--tes-server", metavar="COMMAND", help="Managed mode: run the checks against this server command.")
    group.addoption("--tes-url", metavar="URL", help="Live mode: run the checks against a running server.")
    group.addoption("--tes-mock-control", metavar="URL", help="Live mode: control API of the server's mocks.")
    group.addoption("--tes-profile", default="core", help="Profiles, comma-separated (default core).")
    group.addoption("--tes-seed", type=int, default=0, help="Seed of the property-based runs (default 0).")
    group.addoption("--tes-slack-ms", type=float, default=1000.0, help="Slack over timeouts (default 1000).")
    group.addoption("--tes-timeout-ms", type=float, default=None, help="Live mode: the server's upstream timeout.")
    group.addoption("--tes-group", action="append", default=None, help="Only this scenario group (repeatable).")
    group.addoption("--tes-examples", type=int, default=30, help="Examples per property-based run (default 30).")


def _options(config: pytest.Config) -> Options | None:
    server, url = config.getoption("--tes-server"), config.getoption("--tes-url")
    if not server and not url:
        return None
    groups = config.getoption("--tes-group")
    return Options(server=server, url=url, mock_control=config.getoption("--tes-mock-control"),
                   profiles=tuple(p.strip() for p in config.getoption("--tes-profile").split(",") if p.strip()),
                   seed=config.getoption("--tes-seed"), slack_ms=config.getoption("--tes-slack-ms"),
                   timeout_ms=config.getoption("--tes-timeout-ms"), examples=config.getoption("--tes-examples"),
                   groups=tuple(groups) if groups else None, cwd=str(config.rootpath))


class ConformanceItem(pytest.Item):
    """One clause in one scenario: passes, fails with the clause's failures, or skips (not implemented)."""

    def __init__(self, *, outcome: Outcome | None = None, error: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome
        self.error = error

    def runtest(self) -> None:
        """Raise the recorded verdict."""
        if self.error:
            raise SetupError(self.error)
        assert self.outcome is not None
        if self.outcome.status == "not implemented":
            pytest.skip(f"profile {self.outcome.profile} not implemented: {self.outcome.note}")
        if self.outcome.failures:
            raise self.outcome.failures[0].as_contract_failure()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """Every failure of the clause in this scenario, with its reproduction."""
        if self.outcome is None or not self.outcome.failures:
            return str(excinfo.value)
        return "\n".join(str(f.as_contract_failure()) for f in self.outcome.failures)

    def reportinfo(self) -> tuple[str, int | None, str]:
        """Where the item comes from: the conformance run, by clause and scenario."""
        return "tes-contract", None, self.name


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the conformance checks once and add one item per clause and scenario."""
    options = _options(config)
    if options is None:
        return
    try:
        result: ConformanceResult = run_conformance(options)
    except TesContractError as exc:
        items.append(ConformanceItem.from_parent(session, name="tes-contract-setup", error=str(exc)))
        return
    config.stash[_RESULT] = result
    for (clause, scenario), outcome in sorted(result.outcomes.items()):
        items.append(ConformanceItem.from_parent(session, name=f"{clause}[{scenario}]", outcome=outcome))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The wall time and the not-implemented profiles of the conformance run."""
    result = config.stash.get(_RESULT, None)
    if result is None:
        return
    terminalreporter.write_line(f"tes-contract: {len(result.outcomes)} clause x scenario items, wall time "
                                f"{result.wall_s:.1f} s, seed {result.seed}")
    for profile, reason in result.not_implemented.items():
        terminalreporter.write_line(f"tes-contract: profile {profile} not implemented ({reason})")


_RESULT = pytest.StashKey[ConformanceResult]()
