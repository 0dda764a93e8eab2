#!/usr/bin/env python3
"""Bootstrap and run tes-contract from a clean clone with nothing but Python 3.11+.

    python3 dev.py demo    the main job: mock upstreams + reference server + conformance report, then serves
    python3 dev.py test    the whole test suite: ruff, mypy, pytest

Each command creates `.venv` on first use (and refreshes it when pyproject.toml changes), then runs
inside it. Extra arguments go to the underlying command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tes-contract-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _python() -> str:
    return str(BIN / "python")


def _ensure_venv() -> None:
    """Create .venv and install the project with its test extras, once per pyproject.toml version."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing tes-contract and its test dependencies into .venv", flush=True)
    subprocess.run([_python(), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([_python(), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def _run(*argv: str) -> int:
    print("+", " ".join(argv), flush=True)
    return subprocess.run(argv, cwd=ROOT).returncode


def test(extra: list[str]) -> int:
    """Lint, type-check, then run pytest; the first failing step's code is returned."""
    steps = [
        [_python(), "-m", "ruff", "check", "."],
        [_python(), "-m", "mypy"],
        [_python(), "-m", "pytest", *extra],
    ]
    for step in steps:
        code = _run(*step)
        if code:
            return code
    return 0


def demo(extra: list[str]) -> int:
    """The main job: mocks + reference server, the conformance report on it, then serve until Ctrl-C.

    Extra arguments go to `tes-contract demo` (e.g. `--exit` to stop after the report, `--port 3012`).
    """
    return _run(str(BIN / "tes-contract"), "demo", *extra)


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs under whatever python3 the user has
        print(f"tes-contract needs Python 3.11+, this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    commands = {"test": test, "demo": demo}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    _ensure_venv()
    try:
        return commands[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
