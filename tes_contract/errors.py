"""Errors of tes-contract.

    Exception
     +-- TesContractError            every error the kit raises on purpose; carries `exit_code`
          +-- ToolError              the kit or its input is broken (bad file, bad flag, setup failed): exit 2
          |    +-- ConfigError       a setting or environment variable has a bad value
          |    +-- ScenarioError     a mock scenario request is wrong (the control API answers 400 with it)
          |    +-- SetupError        a server, mock or port could not be brought up
          |    |    +-- MockControlError   the mocks' control API refused a request or cannot be reached
          |    +-- TmuxError         tmux could not be run or refused a command (the server answers it, never exits)
          +-- Stopped                a conformance run is being stopped (Ctrl-C, SIGTERM, another group's
                                     setup error): its groups end quietly, exit 130
     AssertionError
      +-- ContractFailure            the server or document under test breaks a clause: exit 1

A `ContractFailure` names the clause, what was expected, what was observed and how to reproduce it.
"""

from __future__ import annotations


class TesContractError(Exception):
    """Base of the errors the kit raises on purpose."""

    exit_code = 2


class ToolError(TesContractError):
    """The kit or its input is broken; nothing was judged (exit 2)."""

    exit_code = 2


class ConfigError(ToolError):
    """A setting has a bad value; the message names the setting and the value."""


class ScenarioError(ToolError):
    """A scenario request is wrong; the message names the bad upstream, scenario or parameter."""


class SetupError(ToolError):
    """A server, mock or port could not be brought up."""


class MockControlError(SetupError):
    """The control API refused a request (its 400 message is the text) or cannot be reached."""


class TmuxError(ToolError):
    """tmux could not be run or answered with an error; the message says why."""


class Stopped(TesContractError):
    """The run is being stopped (Ctrl-C or another group's setup error): end the group quietly."""

    exit_code = 130


class ContractFailure(AssertionError):
    """The thing under test breaks a contract clause (exit 1)."""

    exit_code = 1

    def __init__(self, clause: str, expected: str, observed: str, reproduce: str = "") -> None:
        self.clause = clause
        self.expected = expected
        self.observed = observed
        self.reproduce = reproduce
        message = f"[{clause}] expected {expected}; observed {observed}"
        if reproduce:
            message += f"\n  reproduce: {reproduce}"
        super().__init__(message)
