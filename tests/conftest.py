"""Shared fixtures: the mock upstreams plugin (the same one users load with -p), paths of the repo and a
valid status document to mutate."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tes_contract.mocks.pytest_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SEED_PATH = ROOT / "examples" / "valid" / "status-seed.json"
SEED: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def seed() -> dict[str, Any]:
    """A fresh copy of the seed's example response, free to mutate."""
    return copy.deepcopy(SEED)
