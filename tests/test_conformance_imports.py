"""The harness never imports the reference server: it shares the contract (and the mocks), never its code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tes_contract"
ALLOWED = ("tes_contract.contract", "tes_contract.mocks", "tes_contract.conformance", "tes_contract.errors")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "tes_contract")
    return {name for name in names if name == "tes_contract" or name.startswith("tes_contract.")}


def test_conformance_modules_import_only_the_contract_and_the_mocks():
    files = sorted((PACKAGE / "conformance").rglob("*.py"))
    assert len(files) > 10
    offenders = {f"{path.relative_to(PACKAGE)}: {name}" for path in files for name in _imports(path)
                 if not name.startswith(ALLOWED)}
    assert offenders == set()


def test_importing_the_harness_loads_no_server_module():
    code = ("import sys, tes_contract.conformance, tes_contract.conformance.pytest_plugin,"
            " tes_contract.conformance.cli;"
            "print(sorted(m for m in sys.modules if m.startswith('tes_contract.server')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert out.strip() == "[]"
