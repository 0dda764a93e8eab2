"""The harness against servers it has never seen: it passes the correct ones and names what the broken ones break.

The independent servers (tests/servers/: Node.js and Python, no tes_contract inside) run in managed mode,
core profile. In CI each break mode runs once, in one of the two languages (alternating), limited to the
scenario groups that exercise it, several at once, so this file stays near a minute;
`benchmarks/broken_table.py` runs the full matrix (both servers x every break x every group) and prints the table.
"""

from __future__ import annotations

import ast
import asyncio
import re
import sys
from pathlib import Path

import pytest

from tes_contract.conformance.runner import Options, arun_conformance, run_conformance
from tes_contract.contract.clauses import CLAUSE_IDS
from tests.servers.launch import (
    BREAKS,
    EXPECTED_CLAUSES,
    KINDS,
    NODE_OWN_PARTS,
    NODE_PARTS,
    NODE_SERVER,
    PY_ONLY_PARTS,
    PY_PARTS,
    PY_SERVER,
    command,
    profiles_for,
)

ROOT = Path(__file__).resolve().parent.parent
#: A worker-mock connection accepted around a flip to `down` while a server pushes can be left unclosed when
#: the run's loop ends (mocks/server.py; see docs/live.md "Known issues"): its ResourceWarning is not the
#: server under test's doing, and is ignored here only.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")

#: The scenario groups that show each break (the full run of benchmarks/broken_table.py uses all of them).
GROUPS_FOR: dict[str, tuple[str, ...]] = {
    "no_version_header": ("http",),
    "wrong_version_header": ("http",),
    "no_cache_header": ("http",),
    "sequential_upstreams": ("timeout",),
    "no_timeout": ("timeout",),
    "short_timeout_500ms": ("default-timeout",),
    "count_panes": ("tmux",),
    "two_worker_calls": ("worker",),
    "zero_metrics": ("traffic",),
    "strict_thresholds": ("traffic",),
    "no_405": ("http",),
    "parse_error_offline": ("worker",),
    "cached_response": ("timeout",),
    "latency_seconds": ("traffic",),
    "cpu_percent": ("http",),
    "bool_is_int": ("worker",),
    "ignore_region": ("tmux",),
    "extra_field": ("http",),
    "status_500_on_upstream_error": ("timeout",),
    **{name: ("metrics",) for name in BREAKS if name.startswith("metrics_")},
    **{name: ("live", "live-change") for name in BREAKS if name.startswith("live_")},
}
#: Break modes run together in one test (misses are what matter there; a false alarm on a broken server
#: changes nothing), alternating the two languages. Four batches keep memory and CPU bounded on 2 cores.
BATCHES = [[(name, KINDS[i % 2]) for i, name in enumerate(BREAKS) if i % 4 == b] for b in range(4)]


def _failures(result) -> str:
    return "\n".join(f"{f.clause} [{f.scenario}] expected {f.expected}; observed {f.observed}"
                     for f in result.failures[:15])


@pytest.mark.parametrize("kind", KINDS)
def test_harness_passes_the_correct_server(kind: str):
    result = run_conformance(server=command(kind), profiles=("core", "metrics", "live"), seed=KINDS.index(kind) + 1,
                             cwd=str(ROOT))
    assert result.exit_code == 0, f"false alarm on the correct {kind} server:\n{_failures(result)}"
    assert not result.not_implemented
    checked = {clause for clause, _ in result.outcomes}
    assert {"STATUS-HDR-3", "UPSTREAM-CONCURRENT", "TIMEOUT-DEFAULT", "STATUS-FIELD-LATENCY", "METRICS-COUNT",
            "METRICS-AGREE", "LIVE-CHANGE", "LIVE-CLOSE"} <= checked


@pytest.mark.parametrize("batch", BATCHES, ids=lambda batch: "+".join(name for name, _ in batch))
async def test_harness_names_the_broken_clause(batch: list[tuple[str, str]]):
    """Each break, in its server, with the groups that show it: the reported clauses include the expected."""
    results = await asyncio.gather(*(
        arun_conformance(Options(server=command(kind, name), profiles=profiles_for(name), groups=GROUPS_FOR[name],
                                 cwd=str(ROOT)))
        for name, kind in batch))
    misses = []
    for (name, kind), result in zip(batch, results, strict=True):
        reported = result.failed_clauses()
        if not EXPECTED_CLAUSES[name] <= reported:
            misses.append(f"{kind} server with {name}: expected {sorted(EXPECTED_CLAUSES[name])}, harness "
                          f"reported {sorted(reported)}\n{_failures(result)}")
        assert all(f.expected and f.observed for f in result.failures), name
    assert not misses, "\n\n".join(misses)


def test_every_break_is_mapped_and_documented():
    """The break names agree across both servers, the README table, the expectations and the CI groups."""
    node = set(re.findall(r'"([a-z0-9_]+)"', NODE_SERVER.read_text().split("const BREAK_NAMES")[1].split("]);")[0]))
    for part in NODE_PARTS:  # each profile's part declares its own: `export const X_BREAKS = [...];`
        node |= set(re.findall(r'"([a-z0-9_]+)"', part.read_text().split("_BREAKS = [")[1].split("];")[0]))
    python = set(re.findall(r'"([a-z0-9_]+)"', PY_SERVER.read_text().split("BREAKS = frozenset")[1].split("})")[0]))
    for part in PY_PARTS:
        python |= set(re.findall(r'"([a-z0-9_]+)"', part.read_text().split("BREAKS = frozenset")[1].split("})")[0]))
    rows = re.findall(r"^\| `([a-z0-9_]+)` \|.*\| ([A-Z0-9, -]+) \|$", (PY_SERVER.parent / "README.md").read_text(),
                      re.M)
    readme = {name: frozenset(c.strip() for c in clauses.split(",")) for name, clauses in rows}
    assert node == python == set(readme) == set(EXPECTED_CLAUSES) == set(GROUPS_FOR)
    assert readme == EXPECTED_CLAUSES
    assert all(clauses <= CLAUSE_IDS for clauses in EXPECTED_CLAUSES.values())


def test_independent_servers_share_no_code_with_the_kit():
    """They stand for other people's servers: the Python one imports stdlib and aiohttp only, the Node one
    node: built-ins only (no npm)."""
    own = {part.stem for part in (*PY_PARTS, *PY_ONLY_PARTS)}  # the profiles' parts, beside the main file
    for path in (PY_SERVER, *PY_PARTS, *PY_ONLY_PARTS):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert imported - {"aiohttp"} - own <= set(sys.stdlib_module_names), (path.name, imported)
    parts = {f"./{part.relative_to(NODE_SERVER.parent)}" for part in (*NODE_PARTS, *NODE_OWN_PARTS)}
    for path in (NODE_SERVER, *NODE_PARTS, *NODE_OWN_PARTS):
        node_imports = re.findall(r"""(?:^import .*? from |require\()["']([^"']+)["']""", path.read_text(), re.M)
        assert all(name.startswith("node:") or name in parts for name in node_imports), (path.name, node_imports)
