#!/usr/bin/env python3
"""Generate `tes_contract/contract/typed/` (TypedDicts) from every schema in schemas/ with datamodel-code-generator.

    python scripts/gen_typeddicts.py           write the package (one module per schema)
    python scripts/gen_typeddicts.py --check   write nothing; exit 1 naming each module that differs (CI)
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tes_contract" / "contract" / "typed"
OPTIONS = ["--input-file-type", "jsonschema", "--output-model-type", "typing.TypedDict",
           "--target-python-version", "3.11", "--enum-field-as-literal", "all", "--disable-timestamp",
           "--use-standard-collections", "--use-union-operator", "--use-schema-description",
           "--use-field-description", "--formatters", "black", "isort"]


def generate(into: Path) -> None:
    """Run the generator over schemas/ into `into` (a package, one module per schema)."""
    codegen = Path(sys.executable).parent / "datamodel-codegen"
    done = subprocess.run([str(codegen), "--input", str(ROOT / "schemas"), "--output", str(into), *OPTIONS],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"datamodel-codegen failed:\n{done.stderr}")


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "typed"
        generate(fresh)
        if "--check" not in argv:
            shutil.rmtree(OUT, ignore_errors=True)
            shutil.copytree(fresh, OUT)
            print(f"{OUT.relative_to(ROOT)}: {len(list(OUT.glob('*.py')))} modules written")
            return 0
        new = {p.name for p in fresh.glob("*.py")}
        old = {p.name for p in OUT.glob("*.py")} if OUT.is_dir() else set()
        stale = sorted((new ^ old) | {n for n in new & old if not filecmp.cmp(fresh / n, OUT / n, shallow=False)})
        for name in stale:
            print(f"{OUT.relative_to(ROOT)}/{name} differs from what schemas/ generate", file=sys.stderr)
        if stale:
            print("regenerate: python scripts/gen_typeddicts.py", file=sys.stderr)
            return 1
        print(f"{OUT.relative_to(ROOT)}: {len(new)} modules up to date")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
