"""The built wheel carries the contract as package data: validate and lint work from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, SEED_PATH


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None, input: str | None = None):
    return subprocess.run(argv, cwd=cwd, env=env, input=input, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_wheel_installs_and_validates_from_another_directory(tmp_path: Path):
    dist, site, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    # hatchling comes from the test extra; no build isolation and no index keep this offline.
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "--quiet", str(ROOT), "-w", str(dist)], cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("tes_contract-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        # One source of truth: the wheel's copies are the repo's files, byte for byte.
        for source in [ROOT / "openapi.yaml", ROOT / "upstreams.openapi.yaml", *(ROOT / "schemas").glob("*.json")]:
            inside = f"tes_contract/_data/{source.relative_to(ROOT).as_posix()}"
            assert inside in names, f"{inside} missing from {wheel.name}"
            assert archive.read(inside) == source.read_bytes(), inside
        # The dashboard's files are package data too (served at / by the reference server).
        for source in (ROOT / "tes_contract" / "server" / "static").iterdir():
            inside = f"tes_contract/server/static/{source.name}"
            assert archive.read(inside) == source.read_bytes(), inside
    assert not any(name.startswith(("tests/", "examples/")) for name in names)

    installed = run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                     "--target", str(site), str(wheel)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    # A decoy next to the package: data_dir() must prefer the installed _data over a folder beside it.
    (site / "openapi.yaml").write_text("not: [an openapi document\n")
    (site / "schemas").mkdir()

    env = {**os.environ, "PYTHONPATH": str(site)}
    where = run([sys.executable, "-c", "import tes_contract, tes_contract.contract.schemas as s;"
                 "print(tes_contract.__file__); print(s.data_dir())"], cwd=elsewhere, env=env)
    assert where.returncode == 0, where.stderr
    module_file, data = where.stdout.splitlines()
    assert Path(module_file).is_relative_to(site)
    assert Path(data) == site / "tes_contract" / "_data"

    (elsewhere / "status.json").write_text(SEED_PATH.read_text(encoding="utf-8"))
    valid = run([sys.executable, "-m", "tes_contract", "validate", "status.json"], cwd=elsewhere, env=env)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "status.json: valid" in valid.stdout

    invalid = run([sys.executable, "-m", "tes_contract", "validate", "--kind", "worker-status", "-"],
                  cwd=elsewhere, env=env, input='{"connected": true, "workers": []}')
    assert invalid.returncode == 1
    assert "[UPSTREAM-WORKER-VALID]" in invalid.stdout

    linted = run([sys.executable, "-m", "tes_contract", "lint"], cwd=elsewhere, env=env)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert linted.stdout.endswith("lint bundled contract: 0 problem(s)\n")

    script = site / "bin" / "tes-contract"
    assert script.is_file(), "console script tes-contract not installed"
    scripted = run([str(script), "validate", "status.json"], cwd=elsewhere, env=env)
    assert scripted.returncode == 0, scripted.stdout + scripted.stderr
