"""Load the contract's JSON Schemas and OpenAPI document, offline, through one referencing Registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import yaml
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tes_contract.errors import ToolError

#: Document kinds `validate` knows, each the file name of its schema.
KINDS: dict[str, str] = {
    "status": "enhanced-status.json",
    "tmux-status": "tmux-status.json",
    "worker-status": "worker-status.json",
    "status-push": "status-push.json",
    "worker-list": "worker-list.json",
    "error": "error.json",
    "status-history": "status-history.json",
    "events": "events.json",
    "alert": "alert.json",
}


def data_dir() -> Path:
    """Return the folder holding `openapi.yaml` and `schemas/`: package data in a wheel, the repo otherwise."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_data", here.parent):
        if (candidate / "schemas").is_dir() and (candidate / "openapi.yaml").is_file():
            return candidate
    raise ToolError(f"contract files not found next to {here} (broken install?)")


def schema_dir() -> Path:
    """Return the folder of the JSON Schemas."""
    return data_dir() / "schemas"


def openapi_path() -> Path:
    """Return the path of the bundled OpenAPI document."""
    return data_dir() / "openapi.yaml"


def load_json_file(path: Path) -> Any:
    """Read one JSON file, naming the file and position on a syntax error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ToolError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except OSError as exc:
        raise ToolError(f"{path}: cannot read: {exc.strerror}") from exc


def load_yaml_file(path: Path) -> Any:
    """Read one YAML file, naming the file and position on a syntax error."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ToolError(f"{path}: not YAML: {exc}") from exc
    except OSError as exc:
        raise ToolError(f"{path}: cannot read: {exc.strerror}") from exc


def build_registry(folder: Path | None = None) -> tuple[Registry[Any], dict[str, dict[str, Any]]]:
    """Build a Registry of every schema in `folder`, keyed by `$id` and by file name, never fetching."""
    folder = folder or schema_dir()
    documents: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str, Resource[Any]]] = []
    for path in sorted(folder.glob("*.json")):
        document = load_json_file(path)
        if not isinstance(document, dict) or "$id" not in document:
            raise ToolError(f"{path}: a schema must be an object with an $id")
        resource = DRAFT202012.create_resource(document)
        documents[path.name] = document
        pairs.append((document["$id"], resource))
    # A registry without a retriever raises Unresolvable instead of fetching: references stay offline.
    return Registry().with_resources(pairs), documents


@cache
def _default_registry() -> tuple[Registry[Any], dict[str, dict[str, Any]]]:
    return build_registry()


def registry() -> Registry[Any]:
    """Return the Registry of the bundled schemas."""
    return _default_registry()[0]


def schema(name: str) -> dict[str, Any]:
    """Return a bundled schema by file name (`enhanced-status.json`) or kind (`status`)."""
    documents = _default_registry()[1]
    key = KINDS.get(name, name)
    if key not in documents:
        known = ", ".join(sorted(KINDS))
        raise ToolError(f"unknown schema {name!r}; kinds: {known}")
    return documents[key]


def validator_for(name: str) -> Validator:
    """Return a Draft 2020-12 validator for a bundled schema, formats checked, refs resolved offline."""
    return _validator_for(KINDS.get(name, name))


@cache
def _validator_for(key: str) -> Validator:
    cls = jsonschema.Draft202012Validator
    return cls(schema(key), registry=registry(), format_checker=cls.FORMAT_CHECKER)


def fast_validator_for(name: str) -> Callable[[Any], bool]:
    """Return a yes/no check of a bundled schema (jsonschema-rs): the verdict of `validator_for`, no messages.

    For hot loops (`validate` on a large JSON Lines file): ask this first, and `validator_for` only for the
    documents it rejects, to explain them. Formats are checked and references resolve offline, as there.
    """
    return _fast_validator_for(KINDS.get(name, name))


@cache
def _fast_validator_for(key: str) -> Callable[[Any], bool]:
    documents = _default_registry()[1]
    rs_registry = jsonschema_rs.Registry([(document["$id"], document) for document in documents.values()])
    validator = jsonschema_rs.validator_for(schema(key), validate_formats=True, registry=rs_registry, offline=True)
    return validator.is_valid
