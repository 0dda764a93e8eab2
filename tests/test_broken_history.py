"""The history groups against the independent Python server: it passes when correct, and each history break
is named by the clause it breaks (the Node server has no history yet)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tes_contract.conformance.runner import Options, arun_conformance, run_conformance
from tests.servers.launch import HISTORY_EXPECTED_CLAUSES, command

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("history", "history-retention")
#: A worker-mock connection accepted around a flip to `down` while a server pushes can be left unclosed when
#: the run's loop ends (mocks/server.py; see docs/live.md "Known issues"): its ResourceWarning is not the
#: server under test's doing, and is ignored here only.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")
ALERT_GROUPS = ("alerts",)


def groups_for(name: str) -> tuple[str, ...]:
    """The alert breaks show in the alerts group; the others in the history groups."""
    return ALERT_GROUPS if name.startswith("alerts_") else GROUPS


def test_history_groups_pass_the_correct_python_server():
    result = run_conformance(Options(server=command("python"), profiles=("core", "history"),
                                     groups=GROUPS + ALERT_GROUPS, cwd=str(ROOT), seed=5))
    assert result.failures == [], "\n".join(f"{f.clause} [{f.scenario}] {f.expected}; {f.observed}"
                                            for f in result.failures[:10])


async def test_each_history_break_is_named():
    names = list(HISTORY_EXPECTED_CLAUSES)
    gate = asyncio.Semaphore(2)  # two runs (four servers) at once: bounded on a 2-core machine

    async def run(name: str):
        async with gate:
            return await arun_conformance(Options(server=command("python", name), profiles=("core", "history"),
                                                  groups=groups_for(name), cwd=str(ROOT)))

    results = await asyncio.gather(*(run(name) for name in names))
    misses = [f"{name}: expected {sorted(HISTORY_EXPECTED_CLAUSES[name])}, reported {sorted(r.failed_clauses())}"
              for name, r in zip(names, results, strict=True)
              if not HISTORY_EXPECTED_CLAUSES[name] <= r.failed_clauses()]
    assert not misses, "\n".join(misses)


def test_history_breaks_are_documented_and_implemented():
    import re

    from tests.servers.launch import PY_SERVER

    rows = re.findall(r"^\| `((?!dev_)[a-z0-9_]+)` \|.*\| ([A-Z0-9, -]+) \| python \|$",
                      (PY_SERVER.parent / "README.md").read_text(), re.M)
    assert {n: frozenset(c.strip() for c in cs.split(",")) for n, cs in rows} == HISTORY_EXPECTED_CLAUSES
    names: set[str] = set()
    for part in ("py_history.py", "py_alerts.py"):
        source = (PY_SERVER.parent / part).read_text()
        names |= set(re.findall(r'"([a-z_0-9]+)"', source.split("BREAKS = frozenset")[1].split("})")[0]))
    assert names == set(HISTORY_EXPECTED_CLAUSES)
