"""types/: TypeScript declarations generated from every schema, up to date, and an example typed against them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = ROOT / "types"
TSC = TYPES / "node_modules" / ".bin" / "tsc"


def _node_tools() -> str:
    node = shutil.which("node")
    assert node, "`node` is not on PATH (apt-get install -y nodejs; .ci/run installs it)"
    assert TSC.exists() and (TYPES / "node_modules" / "json-schema-to-typescript").is_dir(), (
        "types/node_modules is missing: run `npm ci --prefix types` (.ci/run does)")
    return node


def _run(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, text=True, capture_output=True, timeout=300)


def test_types_regenerated_from_schemas_have_no_diff():
    node = _node_tools()
    done = _run(node, "scripts/gen-types.mjs", "--check")
    assert done.returncode == 0, done.stdout + done.stderr + "\nregenerate: node scripts/gen-types.mjs"
    schemas = sorted(p.stem for p in (ROOT / "schemas").glob("*.json"))
    assert sorted(p.name.removesuffix(".d.ts") for p in TYPES.glob("*.d.ts")) == sorted([*schemas, "index"])
    index = (TYPES / "index.d.ts").read_text()
    assert all(f'from "./{stem}";' in index for stem in schemas)


def test_the_bun_example_server_type_checks():
    _node_tools()
    done = _run(TSC, "--noEmit", "-p", "types/example")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_declarations_reject_a_document_the_contract_rejects(tmp_path):
    _node_tools()
    good = json.loads((ROOT / "examples" / "valid" / "status-seed.json").read_text())
    bad = json.loads(json.dumps(good))
    bad["meta"]["telemetryStatus"] = "ok"
    bad["vector"]["sessions"]["tmuxPanes"] = 3
    types = (TYPES / "enhanced-status").as_posix()
    for name, document in (("good", good), ("bad", bad)):
        (tmp_path / f"{name}.ts").write_text(f'import type {{ EnhancedStatusData }} from "{types}";\n'
                                             f"export const status: EnhancedStatusData = {json.dumps(document)};\n")
    assert _run(TSC, "--noEmit", "--strict", "good.ts", cwd=tmp_path).returncode == 0
    rejected = _run(TSC, "--noEmit", "--strict", "bad.ts", cwd=tmp_path)
    assert rejected.returncode != 0
    assert '"ok"' in rejected.stdout and "tmuxPanes" in rejected.stdout, rejected.stdout
