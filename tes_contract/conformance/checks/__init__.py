"""The checks: small functions that yield failures, each registered with the clauses it tests."""

from __future__ import annotations

from tes_contract.conformance.checks import across, response, traffic, upstream

__all__ = ["across", "response", "traffic", "upstream"]
