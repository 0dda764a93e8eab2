"""Loading the schemas: offline references, formats checked, clear errors for unknown names and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from referencing.exceptions import Unresolvable

from tes_contract.contract.schemas import (
    KINDS,
    build_registry,
    data_dir,
    load_json_file,
    openapi_path,
    schema,
    schema_dir,
    validator_for,
)
from tes_contract.errors import ToolError

from .conftest import ROOT


def test_source_tree_data_dir_is_the_repo_root():
    # Running from the repo (no _data folder inside the package) the repo's files are the contract.
    assert data_dir() == ROOT
    assert schema_dir() == ROOT / "schemas" and openapi_path() == ROOT / "openapi.yaml"


def test_every_kind_has_a_schema_with_an_id():
    for kind, name in KINDS.items():
        assert schema(kind) is schema(name)
        assert schema(kind)["$id"].endswith("/" + name)


def test_unknown_schema_names_the_kinds():
    with pytest.raises(ToolError, match="unknown schema 'statuses'; kinds: alert, error, events, status"):
        schema("statuses")


def test_cross_file_refs_resolve_offline():
    push = {"type": "status", "data": json.loads((ROOT / "examples/valid/status-seed.json").read_text())}
    assert list(validator_for("status-push").iter_errors(push)) == []


def test_a_ref_to_the_network_is_never_fetched(tmp_path: Path):
    (tmp_path / "remote.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://tes-contract.example/remote.json",
        "$ref": "https://json-schema.org/draft/2020-12/nonexistent.json",
    }))
    registry, _ = build_registry(tmp_path)
    with pytest.raises(Unresolvable):
        registry.resolver().lookup("https://json-schema.org/draft/2020-12/nonexistent.json")


def test_formats_are_checked():
    errors = list(validator_for("worker-status").iter_errors(
        {"connected": 1, "workers": [{"id": "w", "status": "idle", "lastSeen": "yesterday", "queueDepth": 0,
                                      "messagesProcessed": 0}]}))
    assert [e.validator for e in errors] == ["format"]


def test_a_schema_file_without_id_is_a_tool_error(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{"type": "object"}')
    with pytest.raises(ToolError, match="bad.json: a schema must be an object with an \\$id"):
        build_registry(tmp_path)


def test_a_schema_file_that_is_not_json_names_line_and_column(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{\n  "type": object\n}')
    with pytest.raises(ToolError, match="bad.json: not JSON: Expecting value at line 2 column 11"):
        load_json_file(tmp_path / "bad.json")
