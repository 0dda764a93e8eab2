"""`tes-contract validate`: check JSON documents (or JSON Lines) against the contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tes_contract.contract.invariants import Problem, document_problems, is_valid_document
from tes_contract.contract.schemas import KINDS
from tes_contract.errors import ToolError


@dataclass
class DocumentResult:
    """The verdict on one document."""

    source: str
    line: int | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when the document has no problem."""
        return not self.problems

    @property
    def label(self) -> str:
        """`source` or `source:line` for a JSON Lines document."""
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        return {"source": self.source, "line": self.line, "valid": self.valid,
                "problems": [p.as_dict() for p in self.problems]}


class _NotJsonConstant(ValueError):
    """Python's json accepts NaN, Infinity and -Infinity; JSON does not."""


def _reject_constant(name: str) -> Any:
    raise _NotJsonConstant(name)


# One decoder for every line: json.loads(text, parse_constant=...) would build a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(text: str) -> Any:
    return _DECODER.decode(text)


def _what(exc: json.JSONDecodeError) -> str:
    # Some of json's messages end in " at" ("Invalid control character at"); the position follows anyway.
    return exc.msg.removesuffix(" at")


def _read(path: str, stdin: IO[str]) -> str:
    source = "<stdin>" if path == "-" else path
    try:
        return stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"{source}: not UTF-8 text (byte {exc.start}: {exc.reason}); is it a binary file?") from exc
    except OSError as exc:
        raise ToolError(f"{source}: cannot read: {exc.strerror or exc}") from exc


def parse_documents(text: str, source: str) -> Iterator[tuple[int | None, Any]]:
    """Yield (line, document) from one JSON document or JSON Lines; ToolError names line and column."""
    if not text.strip():
        raise ToolError(f"{source}: empty input, no JSON document")
    try:
        yield None, _loads(text)
        return
    except _NotJsonConstant as exc:
        raise ToolError(f"{source}: not JSON: {exc} is not a JSON value") from exc
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise ToolError(f"{source}: not JSON: {_what(exc)} at line {exc.lineno} column {exc.colno}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, _loads(line)
        except _NotJsonConstant as exc:
            raise ToolError(f"{source}: not JSON Lines: {exc} is not a JSON value, at line {number}") from exc
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"{source}: not JSON Lines: {_what(exc)} at line {number} column {exc.colno}"
            ) from exc


def validate_text(text: str, source: str, kind: str = "status", schema_only: bool = False) -> list[DocumentResult]:
    """Validate every document in `text`, returning one result each."""
    if kind not in KINDS:
        raise ToolError(f"unknown kind {kind!r}; kinds: {', '.join(sorted(KINDS))}")
    # Streamed: a parsed document is judged and dropped, so a large file is never held twice in memory.
    # Most documents are fine: a fast yes/no first, the explaining validator only for the others.
    return [DocumentResult(source, line, [] if is_valid_document(kind, doc, schema_only=schema_only)
                           else document_problems(kind, doc, schema_only=schema_only))
            for line, doc in parse_documents(text, source)]


def run(paths: list[str], kind: str, schema_only: bool, output_format: str,
        stdin: IO[str], stdout: IO[str]) -> int:
    """Validate every path and print the verdicts; return the exit code (0 valid, 1 invalid)."""
    results: list[DocumentResult] = []
    for path in paths or ["-"]:
        source = "<stdin>" if path == "-" else path
        results.extend(validate_text(_read(path, stdin), source, kind, schema_only))
    all_valid = all(r.valid for r in results)
    if output_format == "json":
        json.dump({"valid": all_valid, "kind": kind, "documents": [r.as_dict() for r in results]}, stdout,
                  indent=2)
        stdout.write("\n")
    else:
        lines: list[str] = []
        for result in results:
            lines.append(f"{result.label}: {'valid' if result.valid else 'INVALID'}\n")
            lines.extend(f"  {p.pointer or '/'} [{p.clause}] {p.message}\n" for p in result.problems)
        invalid = sum(not r.valid for r in results)
        lines.append(f"{len(results)} document(s), {invalid} invalid\n")
        stdout.write("".join(lines))
    return 0 if all_valid else 1
