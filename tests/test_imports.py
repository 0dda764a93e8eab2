"""Import boundaries (ARCHITECTURE.md), read from the source with `ast`, for whatever modules exist.

    contract (contract/, errors.py)   imports nothing of ours but the contract
    mocks                             contract only
    server                            contract only, and never `contract.rules` (the checks' oracle)
    conformance                       contract and mocks, never server
    validate, lint, other top-level   contract only
    cli.py, __main__.py               everything
    tes_contract/__init__.py          public re-exports: anything but the CLI

A module may always import its own layer. Importing the bare package `tes_contract` from inside a layer
counts as importing the public API, which pulls in every layer. Relative imports are resolved, and imports
inside functions count too. At run time, the harness is also shown to work with the server unimportable.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tes_contract"

ALLOWED: dict[str, set[str]] = {
    "contract": {"contract"},
    "mocks": {"contract", "mocks"},
    "server": {"contract", "server"},
    "conformance": {"contract", "mocks", "conformance"},
    "tools": {"contract"},
    "api": {"contract", "mocks", "server", "conformance", "tools", "api"},
    "cli": {"contract", "mocks", "server", "conformance", "tools", "api", "cli"},
}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside tes_contract."""
    parts = module.split(".")
    assert parts[0] == "tes_contract", module
    if len(parts) == 1:
        return "api"
    head = parts[1]
    if head in ("contract", "errors"):
        return "contract"
    if head in ("mocks", "server", "conformance"):
        return head
    if head in ("cli", "__main__"):
        return "cli"
    return "tools"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_submodule(dotted: str, package: Path) -> bool:
    base = package.parent.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(source: str, module: str, is_package: bool, package: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, dotted name) of every tes_contract module `source` imports, relative imports resolved."""
    found: list[tuple[int, str]] = []
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                target = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                target = node.module or ""
            # `from tes_contract import lint` imports a submodule; `from tes_contract import CLAUSES` the package.
            names = [f"{target}.{alias.name}" for alias in node.names]
            subs = [name for name in names if _is_submodule(name, package)]
            found.extend((node.lineno, name) for name in subs)
            if len(subs) < len(names):
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "tes_contract" or name.startswith("tes_contract.")]


#: Modules a layer may not import although their layer is allowed: the server classifies upstream answers
#: itself, so a bug in the checks' oracle (contract.rules) cannot hide the same bug in the server.
FORBIDDEN: dict[str, tuple[str, ...]] = {"server": ("tes_contract.contract.rules",)}


def _forbidden(layer: str, target: str) -> bool:
    return any(target == name or target.startswith(name + ".") for name in FORBIDDEN.get(layer, ()))


def violations(source: str, module: str, is_package: bool = False, package: Path = PACKAGE) -> list[str]:
    """Every import of `source` that crosses a boundary, as 'line N: imports X (layer)'."""
    layer = layer_of(module)
    return [
        f"line {line}: {module} ({layer}) imports {target} ({layer_of(target)})"
        for line, target in imported_modules(source, module, is_package, package)
        if layer_of(target) not in ALLOWED[layer] or _forbidden(layer, target)
    ]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_the_import_boundaries(path: Path):
    source = path.read_text(encoding="utf-8")
    assert violations(source, module_name(path), path.name == "__init__.py") == []


def test_the_contract_modules_are_found():
    names = {module_name(p) for p in MODULES}
    assert {"tes_contract", "tes_contract.cli", "tes_contract.errors", "tes_contract.contract.schemas"} <= names


# The checker itself, on sources of layers that may not exist yet, so the boundaries hold the day they do.
@pytest.mark.parametrize(("module", "source", "crossing"), [
    ("tes_contract.contract.rules", "from tes_contract.server import create_app", "tes_contract.server"),
    ("tes_contract.contract.rules", "import tes_contract.mocks.scenarios", "tes_contract.mocks.scenarios"),
    ("tes_contract.contract.rules", "from tes_contract import CLAUSES", "tes_contract"),
    ("tes_contract.errors", "from .validate import run", "tes_contract.validate"),
    ("tes_contract.mocks.servers", "from ..server.app import create_app", "tes_contract.server.app"),
    ("tes_contract.mocks.servers", "from tes_contract.conformance import run_conformance", "tes_contract.conformance"),
    ("tes_contract.server.app", "from tes_contract.mocks import MockUpstreams", "tes_contract.mocks"),
    ("tes_contract.server.app", "from ..contract.rules import region_for", "tes_contract.contract.rules"),
    ("tes_contract.server.upstreams", "from tes_contract.contract import rules", "tes_contract.contract.rules"),
    ("tes_contract.server.app", "def f():\n    from tes_contract.conformance import run\n", "tes_contract.conformance"),
    ("tes_contract.conformance.checks", "from tes_contract.server.settings import Settings",
     "tes_contract.server.settings"),
    ("tes_contract.conformance.runner", "from ..server import create_app", "tes_contract.server"),
    ("tes_contract.conformance.runner", "from tes_contract.cli import cli", "tes_contract.cli"),
    ("tes_contract.validate", "from tes_contract.mocks import MockUpstreams", "tes_contract.mocks"),
    ("tes_contract", "from tes_contract.cli import main", "tes_contract.cli"),
])
def test_checker_flags_a_crossing(module: str, source: str, crossing: str):
    found = violations(source, module)
    assert len(found) == 1 and f"imports {crossing} (" in found[0], found


@pytest.mark.parametrize(("module", "source"), [
    ("tes_contract.contract.invariants", "from tes_contract.contract.rules import traffic_mode_for"),
    ("tes_contract.contract.invariants", "from .schemas import validator_for\nfrom ..errors import ToolError"),
    ("tes_contract.mocks.servers", "from tes_contract.contract import rules\nfrom .scenarios import SCENARIOS"),
    ("tes_contract.server.app", "from ..contract.formats import url_host\nfrom tes_contract.server import settings"),
    ("tes_contract.conformance.runner", "from ..mocks import MockUpstreams\nfrom ..contract import CLAUSES"),
    ("tes_contract.cli", "from tes_contract.server import create_app\nfrom tes_contract.conformance import run"),
    ("tes_contract", "from tes_contract.mocks import MockUpstreams\nfrom tes_contract.contract import CLAUSES"),
    ("tes_contract.lint", "import json\nimport jsonschema\nfrom tes_contract.contract.invariants import plain_message"),
])
def test_checker_allows_what_the_boundaries_allow(module: str, source: str):
    assert violations(source, module) == []


def test_relative_imports_resolve_from_a_package_init():
    found = imported_modules("from .checks import registry\nfrom .. import errors", "tes_contract.conformance",
                             is_package=True)
    assert [name for _, name in found] == ["tes_contract.conformance.checks", "tes_contract.errors"]


def test_the_harness_runs_with_the_server_package_missing():
    """With `tes_contract.server` made unimportable (and the top-level package, which re-exports the server
    for users, not executed), every harness module still imports and runs a check."""
    code = (
        "import sys, types\n"
        "package = types.ModuleType('tes_contract'); package.__path__ = ['tes_contract']\n"
        "sys.modules['tes_contract'] = package\n"
        "sys.modules['tes_contract.server'] = None\n"
        "import tes_contract.conformance, tes_contract.conformance.cli, tes_contract.conformance.pytest_plugin\n"
        "import tes_contract.conformance.docs, tes_contract.conformance.groups.strategies\n"
        "from tes_contract.conformance.checks.response import status_headers_match_contract\n"
        "from tes_contract.conformance.model import Exchange\n"
        "print(len(list(status_headers_match_contract(Exchange('GET', 'u', 0, 0, 200)))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"
