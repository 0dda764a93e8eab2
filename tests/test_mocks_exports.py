"""`tes_contract.mocks` exports every public name, sorted, like the top-level package."""

from __future__ import annotations

import tes_contract.mocks

from .test_exported_members import public_names


def test_mocks_all_is_complete_and_sorted():
    exported = tes_contract.mocks.__all__
    assert exported == sorted(exported)
    assert set(exported) == public_names(tes_contract.mocks)
