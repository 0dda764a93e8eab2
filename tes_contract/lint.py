"""`tes-contract lint`: validate the OpenAPI documents and every example against its own schema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import jsonschema
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tes_contract.contract.schemas import build_registry, data_dir, load_yaml_file
from tes_contract.errors import ToolError


@dataclass(frozen=True)
class LintProblem:
    """One problem the linter found."""

    where: str
    message: str


def _walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


def _example_problems(where: str, validator: jsonschema.protocols.Validator, subschema: Any,
                      examples: list[Any]) -> Iterator[LintProblem]:
    bound = validator.evolve(schema=subschema)
    for index, example in enumerate(examples):
        for error in bound.iter_errors(example):
            path = "".join(f"/{p}" for p in error.absolute_path)
            yield LintProblem(f"{where}/examples/{index}{path}", error.message)


def schema_example_problems(folder: Path) -> Iterator[LintProblem]:
    """Yield every schema example that fails its own (sub)schema, and every schema that is not valid."""
    registry, documents = build_registry(folder)
    cls = jsonschema.Draft202012Validator
    for name, document in documents.items():
        try:
            cls.check_schema(document)
        except jsonschema.SchemaError as exc:
            yield LintProblem(f"{folder / name}", f"not a valid JSON Schema: {exc.message}")
            continue
        validator = cls(document, registry=registry, format_checker=cls.FORMAT_CHECKER)
        for pointer, node in _walk(document):
            # A dict under `properties` or `$defs` maps names to schemas; a key `examples` there is a name.
            in_name_map = pointer.endswith(("/properties", "/$defs"))
            if isinstance(node, dict) and isinstance(node.get("examples"), list) and not in_name_map:
                yield from _example_problems(f"{folder / name}#{pointer}", validator, node, node["examples"])


def _openapi_registry(spec_path: Path, schemas: Path) -> Registry[Any]:
    registry, documents = build_registry(schemas)
    # The spec refers to schemas by relative file path; register each file under its file URI as well.
    resources = [((schemas / name).resolve().as_uri(), DRAFT202012.create_resource(doc))
                 for name, doc in documents.items()]
    return registry.with_resources(resources)


def openapi_problems(spec_path: Path) -> Iterator[LintProblem]:
    """Yield OpenAPI validation errors, then media-type examples that fail their schema."""
    spec = load_yaml_file(spec_path)
    if not isinstance(spec, dict):
        yield LintProblem(str(spec_path), "an OpenAPI document must be a mapping")
        return
    try:
        validate_openapi(copy.deepcopy(spec), base_uri=spec_path.resolve().as_uri())
    except Exception as exc:  # the validator raises several unrelated types; each is a finding here
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        yield LintProblem(str(spec_path), f"invalid OpenAPI 3.1: {message}")
        return
    schemas = spec_path.parent / "schemas"
    registry = _openapi_registry(spec_path, schemas)
    cls = jsonschema.Draft202012Validator
    base = {"$id": spec_path.resolve().as_uri()}
    for pointer, node in _walk(spec):
        if not (isinstance(node, dict) and "schema" in node and ("example" in node or "examples" in node)):
            continue
        examples = [node["example"]] if "example" in node else [
            e.get("value") for e in node["examples"].values() if isinstance(e, dict)]
        wrapper = {**base, **node["schema"]} if isinstance(node["schema"], dict) else node["schema"]
        validator = cls(wrapper, registry=registry, format_checker=cls.FORMAT_CHECKER)
        for index, example in enumerate(examples):
            for error in validator.iter_errors(example):
                yield LintProblem(f"{spec_path}#{pointer}/examples/{index}", error.message)


def lint(specs: list[Path]) -> list[LintProblem]:
    """Lint the given OpenAPI documents (default: the bundled ones) and the schemas beside them."""
    if not specs:
        root = data_dir()
        specs = [p for p in (root / "openapi.yaml", root / "upstreams.openapi.yaml") if p.is_file()]
    problems: list[LintProblem] = []
    seen: set[Path] = set()
    for spec in specs:
        if not spec.is_file():
            raise ToolError(f"{spec}: no such file")
        problems.extend(openapi_problems(spec))
        schemas = spec.parent.resolve() / "schemas"
        if schemas not in seen and schemas.is_dir():
            seen.add(schemas)
            problems.extend(schema_example_problems(schemas))
    return problems


def run(specs: list[str], stdout: IO[str]) -> int:
    """Lint and print; return 0 when clean, 1 when any problem was found."""
    paths = [Path(s) for s in specs]
    problems = lint(paths)
    for problem in problems:
        stdout.write(f"{problem.where}: {problem.message}\n")
    checked = ", ".join(str(p) for p in paths) or "bundled contract"
    stdout.write(f"lint {checked}: {len(problems)} problem(s)\n")
    return 1 if problems else 0
