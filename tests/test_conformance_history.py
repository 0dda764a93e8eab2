"""The history profile's groups against the reference server: every history clause the harness checks passes."""

from __future__ import annotations

import sys
from pathlib import Path

from tes_contract.conformance import Options, run_conformance
from tes_contract.conformance.registry import UNCHECKED
from tes_contract.contract.clauses import CLAUSES

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = f"{sys.executable} -m tes_contract serve"


def test_reference_server_passes_the_history_groups():
    result = run_conformance(Options(server=REFERENCE, seed=3, cwd=str(ROOT), profiles=("core", "history"),
                                     groups=("history", "history-retention", "alerts")))
    assert result.failures == []
    verdicts = {c.id: result.status_of(c.id) for c in CLAUSES if c.profile == "history" and c.id not in UNCHECKED}
    assert verdicts == {id: "passed" for id in verdicts}
