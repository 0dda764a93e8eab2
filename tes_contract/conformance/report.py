"""Reports of a run: live progress, a summary per profile and clause, JSON, and JUnit XML for CI."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tes_contract.conformance.checks import CHECKS
from tes_contract.conformance.model import ConformanceResult
from tes_contract.conformance.registry import UNCHECKED
from tes_contract.contract.clauses import CLAUSES
from tes_contract.errors import ConfigError

REPORT_FORMATS = ("json", "junit")


def parse_report_spec(spec: str) -> tuple[str, Path]:
    """Parse `json:PATH` or `junit:PATH`."""
    kind, sep, path = spec.partition(":")
    if not sep or kind not in REPORT_FORMATS or not path:
        raise ConfigError(f"--report {spec!r}: expected json:PATH or junit:PATH")
    return kind, Path(path)


def clause_rows(result: ConformanceResult) -> list[dict[str, Any]]:
    """One row per clause of the profiles run: verdict, scenarios passed/failed, checks."""
    rows = []
    for clause in CLAUSES:
        if clause.profile not in result.profiles:
            continue
        outcomes = [o for o in result.outcomes.values() if o.clause == clause.id]
        status = result.status_of(clause.id) or "not checked"
        rows.append({
            "clause": clause.id, "profile": clause.profile, "title": clause.title, "status": status,
            "scenarios": len(outcomes), "failed": sum(1 for o in outcomes if o.status == "failed"),
            "checks": sorted({c for o in outcomes for c in o.checks}),
            "note": result.not_implemented.get(clause.profile, "") if status == "not implemented"
            else "the harness has no check for it yet" if clause.id in UNCHECKED and status == "not checked"
            else _exited_note(result) if status == "not checked" else "",
        })
    return rows


def _exited_note(result: ConformanceResult) -> str:
    groups = ", ".join(e.group for e in result.server_exits)
    if groups:
        return f"not checked: the server exited (group {groups})"
    if result.timed_out or result.max_time_s is not None:
        return f"not checked: stopped ({', '.join(sorted(result.stopped_groups))})"
    return ""


def as_json(result: ConformanceResult) -> dict[str, Any]:
    """The whole result as a JSON-ready document."""
    return {
        "target": result.target, "profiles": list(result.profiles), "seed": result.seed,
        "wall_s": round(result.wall_s, 3), "exit_code": result.exit_code, "exchanges": result.exchanges,
        "not_implemented": result.not_implemented, "servers": result.servers,
        "server_exits": [e.as_dict() for e in result.server_exits], "stopped_groups": result.stopped_groups,
        "timed_out": result.timed_out, "max_time_s": result.max_time_s,
        "clauses": clause_rows(result),
        "outcomes": [
            {"clause": o.clause, "profile": o.profile, "scenario": o.scenario, "status": o.status,
             "checks": sorted(o.checks), "note": o.note, "failures": [f.as_dict() for f in o.failures]}
            for _, o in sorted(result.outcomes.items())
        ],
        "checks_by_clause": CHECKS.checks_by_clause(),
    }


def as_junit(result: ConformanceResult) -> ET.ElementTree:
    """JUnit XML: one testsuite per profile, one testcase per clause x scenario."""
    root = ET.Element("testsuites", name="tes-contract conform", time=f"{result.wall_s:.3f}")
    for profile, outcomes in result.by_profile().items():
        suite = ET.SubElement(root, "testsuite", name=f"tes-contract.{profile}", tests=str(len(outcomes)),
                              failures=str(sum(1 for o in outcomes if o.status == "failed")),
                              skipped=str(sum(1 for o in outcomes if o.status == "not implemented")), errors="0")
        for outcome in outcomes:
            case = ET.SubElement(suite, "testcase", classname=f"{profile}.{outcome.clause}", name=outcome.scenario)
            if outcome.status == "failed":
                first = outcome.failures[0] if outcome.failures else None
                message = f"expected {first.expected}; observed {first.observed}" if first else "failed"
                element = ET.SubElement(case, "failure", message=message[:500], type=outcome.clause)
                element.text = "\n\n".join(_failure_text(f) for f in outcome.failures)
            elif outcome.status == "not implemented":
                ET.SubElement(case, "skipped", message=f"profile {profile} not implemented: {outcome.note}")
    ET.indent(root)
    return ET.ElementTree(root)


def _failure_text(failure: Any) -> str:
    return (f"[{failure.clause}] {failure.check} in {failure.scenario}\n  expected: {failure.expected}\n"
            f"  observed: {failure.observed}\n  reproduce: {failure.reproduction()}")


def write_reports(result: ConformanceResult, specs: list[str]) -> None:
    """Write each `json:PATH` / `junit:PATH` report."""
    for spec in specs:
        kind, path = parse_report_spec(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "json":
            path.write_text(json.dumps(as_json(result), indent=2, default=str) + "\n", encoding="utf-8")
        else:
            as_junit(result).write(path, encoding="utf-8", xml_declaration=True)


def progress_printer(stream: IO[str]) -> Callable[[str, str], None]:
    """A plain live-progress callback: one line per event (rich adds colour when `stream` is a TTY)."""
    console = _console(stream)

    def show(kind: str, text: str) -> None:
        if kind == "verdict":  # one per judged clause: counted by the live view, too many to print
            return
        if console is not None:
            style = "red" if kind == "failure" else "dim"
            console.print(f"{'FAIL' if kind == 'failure' else '  ..'} {text}", style=style, highlight=False,
                          markup=False)
        else:
            stream.write(f"{'FAIL' if kind == 'failure' else '  ..'} {text}\n")
            stream.flush()

    return show


def _console(stream: IO[str]) -> Any:
    if not stream.isatty():
        return None
    from rich.console import Console

    return Console(file=stream)


def print_summary(result: ConformanceResult, stream: IO[str] = sys.stdout) -> None:
    """The summary: one line per clause of each profile, the failures in full, the wall time."""
    rows = clause_rows(result)
    console = _console(stream)
    if console is not None:
        from rich.table import Table

        table = Table(title=f"tes-contract conform: {result.target}")
        for column in ("profile", "clause", "verdict", "scenarios", "title"):
            table.add_column(column)
        colours = {"passed": "green", "failed": "red", "not implemented": "yellow", "not checked": "dim"}
        for row in rows:
            table.add_row(row["profile"], row["clause"], f"[{colours[row['status']]}]{row['status']}[/]",
                          _count(row), row["title"] + (f" ({row['note']})" if row["note"] else ""))
        console.print(table)
    else:
        stream.write(f"tes-contract conform: {result.target}\n")
        for row in rows:
            note = f" ({row['note']})" if row["note"] else ""
            stream.write(f"  {row['profile']:<8} {row['clause']:<26} {row['status']:<16} {_count(row):>7}  "
                         f"{row['title']}{note}\n")
    failures = result.failures
    if failures:
        stream.write(f"\n{len(failures)} failure(s):\n")
        for failure in failures:
            stream.write(_failure_text(failure) + "\n")
    for profile, reason in result.not_implemented.items():
        stream.write(f"profile {profile}: not implemented ({reason})\n")
    for exit in result.server_exits:
        output = "".join(f"    | {line}\n" for line in (exit.output or "(nothing)").splitlines())
        if exit.returncode is None:  # live mode: no process, no output
            stream.write(f"\nSERVER GONE: {exit.summary()}; the run stopped there.\n")
        else:
            stream.write(f"\nSERVER EXITED: {exit.summary()}; that group's remaining checks did not run. "
                         f"Its last output:\n{output}")
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("passed", "failed", "not implemented",
                                                                     "not checked")}
    for group in result.timed_out:
        stream.write(f"\nGROUP STOPPED: {group} {result.stopped_groups[group].removeprefix('not checked: ')}; "
                     "its remaining checks did not run\n")
    if result.max_time_s is not None:
        running = [g for g, why in result.stopped_groups.items() if "--max-time" in why]
        stream.write(f"\nSTOPPED: the run reached --max-time {result.max_time_s:g} s; groups still running then: "
                     f"{', '.join(running) or '(none)'} (their remaining checks did not run)\n")
    verdict = {0: "PASSED", 1: "FAILED", 2: "INCOMPLETE"}[result.exit_code]
    if result.server_exits:
        verdict += f" ({len(result.server_exits)} server exit(s))"
    stream.write(f"\n{verdict}: {counts['passed']} clauses passed, {counts['failed']} failed, "
                 f"{counts['not implemented']} not implemented, {counts['not checked']} not checked; "
                 f"{result.exchanges} requests; seed {result.seed}; wall time {result.wall_s:.1f} s\n")
    stream.flush()


def _count(row: dict[str, Any]) -> str:
    """Scenarios passed / checked, or '-' for a clause not implemented or not checked."""
    if row["status"] in ("not implemented", "not checked"):
        return "-"
    return f"{row['scenarios'] - row['failed']}/{row['scenarios']}"
