"""`tes-contract lint`: validate the OpenAPI documents and every example against its own schema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import jsonschema
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.exceptions import PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

from tes_contract.contract.formats import json_pointer
from tes_contract.contract.invariants import plain_message, status_invariant_problems
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
            yield from _walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


#: Schema files whose documents must also keep the status invariants (the schema alone cannot see them).
_INVARIANTS_UNDER = {"enhanced-status.json": "", "status-push.json": "/data"}


def _invariant_problems(where: str, schema_file: str | None, examples: list[Any]) -> Iterator[LintProblem]:
    if schema_file not in _INVARIANTS_UNDER:
        return
    prefix = _INVARIANTS_UNDER[schema_file]
    for index, example in enumerate(examples):
        body = example.get("data") if prefix and isinstance(example, dict) else example
        for problem in status_invariant_problems(body, prefix=prefix):
            yield LintProblem(f"{where}/examples/{index}{problem.pointer}", f"[{problem.clause}] {problem.message}")


def _example_problems(where: str, validator: jsonschema.protocols.Validator, subschema: Any,
                      examples: list[Any], schema_file: str | None = None) -> Iterator[LintProblem]:
    yield from _invariant_problems(where, schema_file, examples)
    bound = validator.evolve(schema=subschema)
    for index, example in enumerate(examples):
        try:
            errors = list(bound.iter_errors(example))
        except Unresolvable as exc:
            yield LintProblem(f"{where}/examples/{index}", f"cannot check the example: {_unresolvable(exc)}")
            continue
        for error in errors:
            yield LintProblem(f"{where}/examples/{index}{json_pointer(error.absolute_path)}", plain_message(error))


def _schema_ref_problems(where: str, registry: Registry[Any], document: dict[str, Any]) -> Iterator[LintProblem]:
    resolver = registry.resolver(base_uri=document["$id"])
    for pointer, node in _walk(document):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                yield LintProblem(f"{where}#{pointer}", _unresolvable(exc, ref))


def _unresolvable(exc: Unresolvable, ref: str | None = None) -> str:
    """Name the broken reference and why, without dumping the document it was looked up in."""
    if isinstance(exc, PointerToNowhere):
        why = f"{exc.ref} does not exist in {exc.resource.id() or 'that document'}"
    else:
        # Our registry has no retriever, so any other Unresolvable means no schema has that URI.
        why = "no schema with that URI in schemas/ (refs resolve offline, among those files only)"
    return f"unresolvable $ref {ref or exc.ref!r}: {why}"


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


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
        ref_problems = list(_schema_ref_problems(str(folder / name), registry, document))
        yield from ref_problems
        if ref_problems:
            continue
        validator = cls(document, registry=registry, format_checker=cls.FORMAT_CHECKER)
        for pointer, node in _walk(document):
            # A dict under `properties` or `$defs` maps names to schemas; a key `examples` there is a name.
            in_name_map = pointer.endswith(("/properties", "/$defs"))
            if isinstance(node, dict) and isinstance(node.get("examples"), list) and not in_name_map:
                yield from _example_problems(f"{folder / name}#{pointer}", validator, node, node["examples"],
                                             name if pointer == "" else None)


def _openapi_registry(schemas: Path) -> Registry[Any]:
    registry, documents = build_registry(schemas)
    # The spec refers to schemas by relative file path; register each file under its file URI as well.
    resources = [((schemas / name).resolve().as_uri(), DRAFT202012.create_resource(doc))
                 for name, doc in documents.items()]
    return registry.with_resources(resources)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _resolve_fragment(document: Any, fragment: str) -> str | None:
    """Return why `#fragment` does not resolve in `document`, or None when it does."""
    if not fragment:
        return None
    if not fragment.startswith("/"):
        return f"fragment {fragment!r} is not a JSON pointer"
    node = document
    for token in (_unescape(t) for t in fragment[1:].split("/")):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return f"{fragment} does not exist (no {token!r})"
    return None


def _spec_ref_problems(spec_path: Path, spec: dict[str, Any]) -> Iterator[LintProblem]:
    """Yield every `$ref` of the spec that points to a missing file or a missing place, without fetching."""
    for pointer, node in _walk(spec):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str):
            continue
        target, _, fragment = ref.partition("#")
        where = f"{spec_path}#{pointer}"
        if "://" in target:
            yield LintProblem(where, f"$ref {ref!r} points outside the contract; refs must stay offline")
            continue
        document: Any = spec
        if target:
            path = (spec_path.parent / target).resolve()
            if not path.is_file():
                yield LintProblem(where, f"unresolvable $ref {ref!r}: no such file {path}")
                continue
            try:
                document = load_yaml_file(path)  # YAML is a superset of JSON
            except ToolError as exc:
                yield LintProblem(where, f"unresolvable $ref {ref!r}: {exc}")
                continue
        why = _resolve_fragment(document, fragment)
        if why:
            yield LintProblem(where, f"unresolvable $ref {ref!r}: {why}")


def openapi_problems(spec_path: Path) -> Iterator[LintProblem]:
    """Yield broken `$ref`s, then OpenAPI 3.1 validation errors, then media-type examples that fail their schema."""
    spec = load_yaml_file(spec_path)
    if not isinstance(spec, dict):
        yield LintProblem(str(spec_path), "an OpenAPI document must be a mapping")
        return
    ref_problems = list(_spec_ref_problems(spec_path, spec))
    if ref_problems:
        # openapi-spec-validator stops at the first broken $ref with a bare exception; report them all instead.
        yield from ref_problems
        return
    try:
        validator = OpenAPIV31SpecValidator(copy.deepcopy(spec), base_uri=spec_path.resolve().as_uri())
        errors = list(validator.iter_errors())
    except Unresolvable as exc:
        yield LintProblem(str(spec_path), f"invalid OpenAPI 3.1: a schema it refers to has an {_unresolvable(exc)}")
        return
    except Exception as exc:  # the validator raises several unrelated types; each is a finding here
        yield LintProblem(str(spec_path), f"invalid OpenAPI 3.1: {_first_line(exc)}")
        return
    for error in errors:
        where = f"{spec_path}#{json_pointer(error.absolute_path)}"
        yield LintProblem(where, f"invalid OpenAPI 3.1: {_first_line(error)}")
    if errors:
        return
    schemas = spec_path.parent / "schemas"
    registry = _openapi_registry(schemas)
    cls = jsonschema.Draft202012Validator
    base = {"$id": spec_path.resolve().as_uri()}
    for pointer, node in _walk(spec):
        if not (isinstance(node, dict) and "schema" in node and ("example" in node or "examples" in node)):
            continue
        examples = [node["example"]] if "example" in node else [
            e.get("value") for e in node["examples"].values() if isinstance(e, dict)]
        wrapper = {**base, **node["schema"]} if isinstance(node["schema"], dict) else node["schema"]
        example_validator = cls(wrapper, registry=registry, format_checker=cls.FORMAT_CHECKER)
        ref = node["schema"].get("$ref") if isinstance(node["schema"], dict) else None
        schema_file = ref.rpartition("/")[2] if isinstance(ref, str) and "#" not in ref else None
        yield from _example_problems(f"{spec_path}#{pointer}", example_validator, wrapper, examples, schema_file)


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
