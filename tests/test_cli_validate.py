"""validate: the seed's example passes, garbage gets exit 2."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tes_contract.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_seed_example_validates():
    result = CliRunner().invoke(cli, ["validate", str(ROOT / "examples/valid/status-seed.json")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
