"""Shared fixtures: paths of the repo, a valid status document to mutate, and the mock upstreams plugin."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

# The same plugin users load with `-p tes_contract.mocks.pytest_fixtures`: mock_upstreams, mock_control, ...
pytest_plugins = ["tes_contract.mocks.pytest_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SEED_PATH = ROOT / "examples" / "valid" / "status-seed.json"
SEED: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def seed() -> dict[str, Any]:
    """A fresh copy of the seed's example response, free to mutate."""
    return copy.deepcopy(SEED)
