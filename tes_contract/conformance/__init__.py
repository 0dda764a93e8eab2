"""The conformance harness: checks that any server of the status API must pass, clause by clause.

    contract -> checks -> runner -> report

It imports the contract and the mocks, never the reference server: a suite that shares the reference
server's code would share its bugs.
"""

from __future__ import annotations

from tes_contract.conformance import checks as checks
from tes_contract.conformance.checks import CHECKS
from tes_contract.conformance.model import ConformanceResult, Exchange, Failure, Outcome
from tes_contract.conformance.registry import Check, Registry, check
from tes_contract.conformance.runner import Options, arun_conformance, run_conformance

__all__ = [
    "CHECKS",
    "Check",
    "ConformanceResult",
    "Exchange",
    "Failure",
    "Options",
    "Outcome",
    "Registry",
    "arun_conformance",
    "check",
    "checks",
    "run_conformance",
]
