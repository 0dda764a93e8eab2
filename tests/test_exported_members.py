"""The public API: `__all__` lists every public name of the package, sorted, and nothing that is missing."""

from __future__ import annotations
import __future__

import inspect
from types import ModuleType

import pytest

import tes_contract
import tes_contract.conformance
import tes_contract.contract
import tes_contract.contract.clauses
import tes_contract.mocks
import tes_contract.server


def public_names(module: ModuleType) -> set[str]:
    """Names a user can reach that are neither private, submodules, nor `from __future__` features."""
    return {
        name for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and not isinstance(value, __future__._Feature)
    }


@pytest.mark.parametrize("module", [tes_contract, tes_contract.contract, tes_contract.contract.clauses,
                                    tes_contract.conformance, tes_contract.mocks, tes_contract.server],
                         ids=lambda m: m.__name__)
def test_all_is_complete_and_sorted(module: ModuleType):
    exported = module.__all__
    assert exported == sorted(exported), f"{module.__name__}.__all__ is not sorted"
    assert len(exported) == len(set(exported))
    submodules = {name for name in exported if inspect.ismodule(getattr(module, name, None))}
    assert set(exported) - {"__version__"} - submodules == public_names(module)
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []


def test_version_is_the_distribution_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("tes-contract")
    except PackageNotFoundError:  # running from the source tree, not installed: compare with pyproject
        import tomllib
        from pathlib import Path

        pyproject = Path(tes_contract.__file__).resolve().parent.parent / "pyproject.toml"
        installed = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert tes_contract.__version__ == installed
