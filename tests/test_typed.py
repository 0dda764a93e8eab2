"""contract/typed/: TypedDicts generated from every schema, up to date; every valid example type-checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VALID = ROOT / "examples" / "valid"
# example file prefix -> (generated module, TypedDict); longest prefix first
KINDS = [("status-history", "status_history", "StatusHistory"), ("status-push", "status_push", "StatusPush"),
         ("status", "enhanced_status", "EnhancedStatusData"),
         ("error", "error", "ErrorBody"), ("tmux-status", "tmux_status", "TmuxStatus"),
         ("worker-status", "worker_status", "WorkerStatus"), ("worker-list", "worker_list", "WorkerList"),
         ("events", "events", "Events"), ("alert", "alert", "Alert")]


def _kind(name: str) -> tuple[str, str]:
    for prefix, module, cls in KINDS:
        if name.startswith(prefix + "-"):
            return module, cls
    raise AssertionError(f"examples/valid/{name}: no TypedDict kind for it; add its prefix to KINDS")


def _documents(path: Path) -> list[object]:
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" \
        else [json.loads(text)]


def _mypy(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, files)],
                          cwd=ROOT, text=True, capture_output=True, timeout=300)


def test_typeddicts_regenerated_from_schemas_have_no_diff():
    done = subprocess.run([sys.executable, "scripts/gen_typeddicts.py", "--check"], cwd=ROOT, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    modules = {p.stem for p in (ROOT / "tes_contract" / "contract" / "typed").glob("*.py")} - {"__init__"}
    assert modules == {p.stem.replace("-", "_") for p in (ROOT / "schemas").glob("*.json")}


def test_every_valid_example_type_checks_and_a_broken_one_does_not(tmp_path):
    lines = ["from __future__ import annotations", ""]
    count = 0
    for path in sorted(VALID.glob("*.json*")):
        module, cls = _kind(path.name)
        lines.append(f"from tes_contract.contract.typed.{module} import {cls}")
        for document in _documents(path):
            count += 1
            lines.append(f"doc_{count}: {cls} = {document!r}  # {path.name}")
    good = tmp_path / "good_examples.py"
    good.write_text("\n".join(lines) + "\n")
    done = _mypy(good)
    assert done.returncode == 0, done.stdout + done.stderr
    assert count >= 15
    seed = json.loads((VALID / "status-seed.json").read_text())
    seed["meta"]["telemetryStatus"] = "ok"
    seed["vector"]["sessions"]["tmuxPanes"] = 3
    bad = tmp_path / "bad_example.py"
    bad.write_text("from tes_contract.contract.typed.enhanced_status import EnhancedStatusData\n"
                   f"doc: EnhancedStatusData = {seed!r}\n")
    rejected = _mypy(bad)
    assert rejected.returncode == 1
    assert '"tmuxPanes"' in rejected.stdout and "Literal['ok']" in rejected.stdout, rejected.stdout
