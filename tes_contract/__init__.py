"""tes-contract: contract-first kit for the TES Enhanced Status API v2.0."""

from __future__ import annotations

from tes_contract.contract import CLAUSES, Clause, Problem, document_problems, validator_for
from tes_contract.errors import ConfigError, ContractFailure, SetupError, TesContractError, ToolError
from tes_contract.mocks import MockControl, MockUpstreams

__version__ = "0.1.0"

__all__ = [
    "CLAUSES",
    "Clause",
    "ConfigError",
    "ContractFailure",
    "MockControl",
    "MockUpstreams",
    "Problem",
    "SetupError",
    "TesContractError",
    "ToolError",
    "__version__",
    "document_problems",
    "validator_for",
]
