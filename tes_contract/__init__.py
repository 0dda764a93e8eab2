"""tes-contract: contract-first kit for the TES Enhanced Status API v2.0."""

from __future__ import annotations

from importlib import metadata as _metadata

from tes_contract.conformance import ConformanceResult, run_conformance
from tes_contract.contract import CLAUSES, Clause, Problem, document_problems, validator_for
from tes_contract.errors import ConfigError, ContractFailure, SetupError, TesContractError, ToolError
from tes_contract.mocks import MockControl, MockUpstreams
from tes_contract.server import Settings as ServerSettings
from tes_contract.server import create_app

try:
    __version__ = _metadata.version("tes-contract")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CLAUSES",
    "Clause",
    "ConfigError",
    "ConformanceResult",
    "ContractFailure",
    "MockControl",
    "MockUpstreams",
    "Problem",
    "ServerSettings",
    "SetupError",
    "TesContractError",
    "ToolError",
    "__version__",
    "create_app",
    "document_problems",
    "run_conformance",
    "validator_for",
]
