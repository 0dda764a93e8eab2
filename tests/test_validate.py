"""`tes-contract validate` through click's CliRunner: exit codes, JSON Lines, stdin, formats, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tes_contract.cli import cli
from tes_contract.errors import ToolError
from tes_contract.validate import parse_documents, validate_text

from .conftest import ROOT, SEED, SEED_PATH


def invoke(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(cli, ["validate", *args], input=stdin)


def line(doc) -> str:
    return json.dumps(doc, separators=(",", ":"))


def with_error_rate(rate, mode) -> dict:
    doc = json.loads(json.dumps(SEED))
    doc["vector"]["others"]["errorRate"] = rate
    doc["vector"]["directions"]["trafficMode"] = mode
    return doc


def test_seed_example_validates_exit_0():
    result = invoke(str(SEED_PATH))
    assert result.exit_code == 0, result.output
    assert f"{SEED_PATH}: valid" in result.output
    assert "1 document(s), 0 invalid" in result.output


def test_invalid_document_exit_1_prints_pointer_clause_message(tmp_path: Path, seed):
    seed["vector"]["sessions"]["apiSessions"] = 0
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(seed))
    result = invoke(str(path))
    assert result.exit_code == 1
    assert f"{path}: INVALID" in result.output
    assert "/vector/sessions/apiSessions [STATUS-FIELD-APISESSIONS] 0 is less than the minimum of 1" in result.output


def test_every_problem_of_a_document_is_reported(seed):
    seed["timestamp"] = "2025-01-15T12:34:56Z"
    seed["vector"]["sessions"]["extra"] = 1
    seed["meta"]["telemetryStatus"] = "offline"
    clauses = {p.clause for p in validate_text(json.dumps(seed), "x")[0].problems}
    assert clauses == {"STATUS-FIELD-TIMESTAMP", "STATUS-SCHEMA-1", "STATUS-INV-TELEMETRY"}


def test_json_lines_reports_each_line_with_its_number(tmp_path: Path, seed):
    bad = json.loads(json.dumps(seed))
    bad["vector"]["directions"]["activeRoutes"] = 1
    path = tmp_path / "docs.jsonl"
    path.write_text(f"{line(seed)}\n\n{line(bad)}\n{line(seed)}\n")
    result = invoke(str(path))
    assert result.exit_code == 1
    assert f"{path}:1: valid" in result.output
    assert f"{path}:3: INVALID" in result.output
    assert "[STATUS-INV-ROUTES-EQUAL]" in result.output
    assert f"{path}:4: valid" in result.output
    assert "3 document(s), 1 invalid" in result.output


def test_stdin_dash_and_default_is_stdin():
    for args in (["-"], []):
        result = invoke(*args, stdin=line(SEED) + "\n")
        assert result.exit_code == 0, result.output
        assert "<stdin>: valid" in result.output


def test_format_json_is_machine_readable(seed):
    seed["vector"]["others"]["errorRate"] = 0.2
    result = invoke("--format", "json", "-", stdin=f"{line(SEED)}\n{line(seed)}\n")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False and report["kind"] == "status"
    first, second = report["documents"]
    assert (first["line"], first["valid"], first["problems"]) == (1, True, [])
    assert second["line"] == 2 and second["valid"] is False
    assert second["problems"] == [{
        "pointer": "/vector/directions/trafficMode",
        "clause": "STATUS-INV-TRAFFIC",
        "message": "trafficMode is 'normal' but errorRate 0.2 gives 'degraded' "
                   "(normal < 0.10 <= degraded <= 0.50 < isolated)",
    }]


def test_schema_only_skips_invariants(seed):
    seed["vector"]["others"]["errorRate"] = 0.9  # normal at 0.9 breaks STATUS-INV-TRAFFIC only
    assert invoke("-", stdin=line(seed)).exit_code == 1
    result = invoke("--schema-only", "-", stdin=line(seed))
    assert result.exit_code == 0, result.output
    # ...but the schema is still checked
    seed["vector"]["others"]["errorRate"] = 1.9
    result = invoke("--schema-only", "-", stdin=line(seed))
    assert result.exit_code == 1 and "[STATUS-FIELD-ERRORRATE]" in result.output


def test_not_json_exit_2_with_line_and_column(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "timestamp": "x",\n  "vector": [1, 2,, 3]\n}\n')
    result = invoke(str(path))
    assert result.exit_code == 2
    assert f"error: {path}: not JSON: Expecting value at line 3 column 19" in result.output


def test_bad_json_line_exit_2_names_its_line():
    result = invoke("-", stdin=f"{line(SEED)}\n{line(SEED)}\n{{oops\n")
    assert result.exit_code == 2
    assert "not JSON Lines: Expecting property name enclosed in double quotes at line 3 column 2" in result.output


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty input, no JSON document"),
    (b"  \n\n", "empty input, no JSON document"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
    (b"timestamp: 2025-01-15T12:34:56.789Z\nvector:\n  sessions: {}\n", "not JSON: Expecting value at line 1 column 1"),
    (b'{"errorRate": NaN}', "not JSON: NaN is not a JSON value"),
    (b'{"a": 1}\n{"b": -Infinity}\n', "-Infinity is not a JSON value, at line 2"),
], ids=["empty", "blank", "binary", "yaml", "nan", "infinity-in-lines"])
def test_bad_input_exit_2_with_a_clear_message(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "input"
    path.write_bytes(content)
    result = invoke(str(path))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_huge_line_that_is_not_json_exit_2(tmp_path: Path):
    path = tmp_path / "huge.json"
    size = 50 * 1024 * 1024
    path.write_text('{"timestamp": "' + "x" * size + "\n")
    result = invoke(str(path))
    assert result.exit_code == 2
    assert result.output == f"error: {path}: not JSON: Invalid control character at line 1 column {size + 16}\n"


def test_missing_file_exit_2(tmp_path: Path):
    result = invoke(str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json: cannot read: No such file or directory" in result.output


def test_unknown_kind_exit_2_lists_kinds():
    result = invoke("--kind", "statuses", "-", stdin=line(SEED))
    assert result.exit_code == 2
    assert "'statuses' is not one of" in result.output and "'worker-status'" in result.output
    with pytest.raises(ToolError, match="unknown kind 'statuses'"):
        validate_text(line(SEED), "x", "statuses")


def test_connected_true_is_rejected_for_worker_status():
    result = invoke("--kind", "worker-status", "-", stdin='{"connected": true, "workers": []}')
    assert result.exit_code == 1
    assert "/connected [UPSTREAM-WORKER-VALID] expected integer, got boolean true" in result.output
    ok = invoke("--kind", "worker-status", "-", stdin='{"connected": 1, "workers": []}')
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize(("rate", "mode"), [
    (0.0, "normal"), (0.0999, "normal"), (0.09999999, "normal"),
    (0.10, "degraded"), (0.25, "degraded"), (0.50, "degraded"),
    (0.5000001, "isolated"), (1.0, "isolated"), (1, "isolated"), (0, "normal"),
])
def test_traffic_mode_boundaries_through_the_validator(rate, mode):
    assert invoke("-", stdin=line(with_error_rate(rate, mode))).exit_code == 0
    for other in {"normal", "degraded", "isolated"} - {mode}:
        result = invoke("-", stdin=line(with_error_rate(rate, other)))
        assert result.exit_code == 1 and "[STATUS-INV-TRAFFIC]" in result.output, (rate, other)


def test_kind_status_push_checks_the_status_invariants_under_data():
    push = {"type": "status", "data": with_error_rate(0.6, "degraded")}
    result = invoke("--kind", "status-push", "-", stdin=line(push))
    assert result.exit_code == 1
    assert "/data/vector/directions/trafficMode [STATUS-INV-TRAFFIC]" in result.output


def test_several_paths_one_verdict(tmp_path: Path, seed):
    seed["meta"]["statusVersion"] = "2"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(seed))
    result = invoke(str(SEED_PATH), str(bad))
    assert result.exit_code == 1
    assert f"{SEED_PATH}: valid" in result.output and f"{bad}: INVALID" in result.output
    assert '[STATUS-FIELD-VERSION] expected "2.0", got "2"' in result.output


def test_pretty_printed_single_document_is_one_document():
    assert [n for n, _ in parse_documents(json.dumps(SEED, indent=2), "x")] == [None]


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "tes_contract", "validate", "-"], input="{", cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: <stdin>: not JSON: Expecting property name enclosed in double quotes " \
                                    "at line 1 column 2"
