"""The shape of the code: modules of at most 400 lines, functions of at most 60, no import cycle.

Read from the source with `ast`. The cycle check follows every import between the package's modules
(relative ones resolved, those inside functions too), except imports under `if TYPE_CHECKING:`, which
never run; a package's `__init__` counts as the module `tes_contract.x`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_imports import MODULES, PACKAGE, imported_modules, module_name

ROOT = PACKAGE.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: Code held to the function bound: the package, the benchmarks, the bootstrap (tests are not).
CODE = sorted([*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py"), ROOT / "dev.py"])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_at_most_400_lines(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: make it a subpackage"


def long_functions(source: str) -> list[str]:
    """`name (N lines)` of every function longer than the bound."""
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES]


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_are_at_most_60_lines(path: Path):
    assert long_functions(path.read_text(encoding="utf-8")) == []


def _without_type_checking(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = [ast.Pass()]
    return ast.unparse(tree)


def import_graph(modules: list[Path] = MODULES) -> dict[str, set[str]]:
    """Module -> the package modules it imports (runtime imports only)."""
    names = {module_name(p) for p in modules}
    graph: dict[str, set[str]] = {}
    for path in modules:
        name = module_name(path)
        source = _without_type_checking(path.read_text(encoding="utf-8"))
        targets = {t for _, t in imported_modules(source, name, path.name == "__init__.py")}
        graph[name] = {t for t in targets if t in names and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_the_modules():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_module_map_of_architecture_md_names_every_module():
    """Every module of the package is named in ARCHITECTURE.md's module map, and the map names no other."""
    import re

    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    for item in re.findall(r"^- (\w+): (.*?)(?=^- |\Z)", section, re.M | re.S):
        layer, body = item
        current = ""
        for token in re.findall(r"`([\w/]+(?:\.py)?/?)`", body):
            if token.endswith("/"):
                current = token
            elif token.endswith(".py"):
                path = token if "/" in token else current + token
                if layer == "tools":
                    path = token
                named.add(path)
    actual = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert actual - named == set(), "modules missing from the map"
    assert named - actual == set(), "the map names modules that do not exist"
