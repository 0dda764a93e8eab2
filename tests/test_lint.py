"""`tes-contract lint`: clean on the repo, and a clear finding for each way a copy of the spec can break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tes_contract.cli import cli
from tes_contract.lint import lint

from .conftest import ROOT


def spec_copy(tmp_path: Path) -> Path:
    """Copy openapi.yaml, upstreams.openapi.yaml and schemas/ to tmp_path; return the copy's openapi.yaml."""
    for name in ("openapi.yaml", "upstreams.openapi.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    return tmp_path / "openapi.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_lint_passes_on_the_repo():
    result = CliRunner().invoke(cli, ["lint"])
    assert result.exit_code == 0, result.output
    assert result.output == "lint bundled contract: 0 problem(s)\n"


def test_lint_passes_on_an_unbroken_copy(tmp_path: Path):
    spec = spec_copy(tmp_path)
    assert lint([spec, tmp_path / "upstreams.openapi.yaml"]) == []


BREAKAGES = [
    pytest.param("openapi.yaml", "./schemas/enhanced-status.json", "./schemas/enhanced-statuz.json",
                 "openapi.yaml#/paths/~1api~1dev~1status/get/responses/200/content/application~1json/schema",
                 "unresolvable $ref './schemas/enhanced-statuz.json': no such file", id="missing-schema-file"),
    pytest.param("openapi.yaml", '$ref: "#/components/responses/Error"', '$ref: "#/components/responses/Errorz"',
                 "openapi.yaml#/paths/~1api~1dev~1status~1ws/get/responses/400",
                 "unresolvable $ref '#/components/responses/Errorz': /components/responses/Errorz does not exist",
                 id="ref-to-nowhere-in-spec"),
    pytest.param("openapi.yaml", '  version: "2.0"\n', "", "openapi.yaml#/info",
                 'invalid OpenAPI 3.1: "version" is a required property', id="missing-required-field"),
    pytest.param("openapi.yaml", "required: true", "required: maybe",
                 "openapi.yaml#/paths/~1api~1dev~1status/get/responses/200/headers/Content-Type/required",
                 'invalid OpenAPI 3.1: "maybe" is not of type "boolean"', id="wrong-type-in-spec"),
    pytest.param("openapi.yaml", "trafficMode: normal", "trafficMode: degraded",
                 "openapi.yaml#/paths/~1api~1dev~1status/get/responses/200/content/application~1json/examples/0"
                 "/vector/directions/trafficMode", "[STATUS-INV-TRAFFIC] trafficMode is 'degraded' but errorRate 0.0",
                 id="spec-example-breaks-invariant"),
    pytest.param("schemas/enhanced-status.json", '"telemetryStatus": "healthy"', '"telemetryStatus": "offline"',
                 "schemas/enhanced-status.json#/examples/0/meta/telemetryStatus", "[STATUS-INV-TELEMETRY]",
                 id="schema-example-breaks-invariant"),
    pytest.param("openapi.yaml", "apiSessions: 2", "apiSessions: 0",
                 "/examples/0/vector/sessions/apiSessions", "0 is less than the minimum of 1",
                 id="spec-example-out-of-range"),
    pytest.param("schemas/worker-status.json", '"connected": 2,', '"connected": true,',
                 "schemas/worker-status.json#/examples/0/connected", "expected integer, got boolean true",
                 id="schema-example-bool-for-integer"),
    pytest.param("schemas/worker-list.json", "worker-status.json#/$defs/Worker", "worker-statuz.json#/$defs/Worker",
                 "schemas/worker-list.json#/properties/workers/items",
                 "unresolvable $ref 'worker-statuz.json#/$defs/Worker': no schema with that URI in schemas/",
                 id="schema-ref-file"),
    pytest.param("schemas/worker-list.json", "worker-status.json#/$defs/Worker", "worker-status.json#/$defs/Workr",
                 "schemas/worker-list.json#/properties/workers/items",
                 "/$defs/Workr does not exist in https://tes-contract.example/schemas/2.0/worker-status.json",
                 id="schema-ref-pointer"),
    pytest.param("schemas/enhanced-status.json", '"type": "integer", "minimum": 0', '"type": "integr", "minimum": 0',
                 "schemas/enhanced-status.json", "not a valid JSON Schema: 'integr' is not valid", id="invalid-schema"),
    pytest.param("schemas/enhanced-status.json", '"examples": ["2025-01-15T12:34:56.789Z"]',
                 '"examples": ["2025-01-15T12:34:56Z"]', "schemas/enhanced-status.json#/$defs/Timestamp/examples/0",
                 "does not match the pattern", id="schema-example-timestamp"),
]


@pytest.mark.parametrize(("file", "old", "new", "where", "message"), BREAKAGES)
def test_lint_fails_on_a_broken_copy_naming_the_problem(tmp_path: Path, file, old, new, where, message):
    spec = spec_copy(tmp_path)
    edit(tmp_path / file, old, new)
    result = CliRunner().invoke(cli, ["lint", str(spec)])
    assert result.exit_code == 1, result.output
    findings = [line for line in result.output.splitlines() if where in line and (message is None or message in line)]
    assert findings, result.output
    assert "Traceback" not in result.output
    assert result.output.endswith("problem(s)\n") and " 0 problem(s)" not in result.output


def test_one_problem_per_broken_example_field(tmp_path: Path):
    # A value outside the enum is the schema's finding; the invariant is not judged over it again.
    spec = spec_copy(tmp_path)
    edit(spec, "trafficMode: normal", "trafficMode: calm")
    problems = lint([spec])
    assert [p.message for p in problems] == ['"calm" is not one of "normal", "degraded", "isolated"']


def test_lint_of_a_missing_spec_is_a_tool_error(tmp_path: Path):
    result = CliRunner().invoke(cli, ["lint", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml: no such file" in result.output


def test_lint_of_a_spec_that_is_not_a_mapping(tmp_path: Path):
    spec = tmp_path / "openapi.yaml"
    spec.write_text("- just\n- a list\n")
    problems = lint([spec])
    assert [(p.where, p.message) for p in problems] == [(str(spec), "an OpenAPI document must be a mapping")]


def test_lint_of_a_spec_that_is_not_yaml(tmp_path: Path):
    spec = tmp_path / "openapi.yaml"
    spec.write_text("openapi: [3.1.0\n")
    result = CliRunner().invoke(cli, ["lint", str(spec)])
    assert result.exit_code == 2
    assert "openapi.yaml: not YAML" in result.output
