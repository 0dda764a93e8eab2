"""The contract: schemas, clauses, and the functions that say what each field must be."""

from __future__ import annotations

from tes_contract.contract.clauses import (
    BY_ID,
    CLAUSE_IDS,
    CLAUSES,
    FAMILIES,
    PROFILE_DESCRIPTIONS,
    PROFILES,
    Clause,
    clause,
    family_of,
)
from tes_contract.contract.invariants import (
    Problem,
    document_problems,
    is_valid_document,
    status_invariant_problems,
)
from tes_contract.contract.schemas import (
    KINDS,
    fast_validator_for,
    openapi_path,
    registry,
    schema,
    schema_dir,
    validator_for,
)

__all__ = [
    "BY_ID",
    "CLAUSES",
    "CLAUSE_IDS",
    "Clause",
    "FAMILIES",
    "KINDS",
    "PROFILES",
    "PROFILE_DESCRIPTIONS",
    "Problem",
    "clause",
    "document_problems",
    "family_of",
    "fast_validator_for",
    "is_valid_document",
    "openapi_path",
    "registry",
    "schema",
    "schema_dir",
    "status_invariant_problems",
    "validator_for",
]
