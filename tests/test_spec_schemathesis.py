"""The spec tells the truth about the reference server, judged by schemathesis itself, as a user runs it.

`schemathesis run openapi.yaml --url ... --checks all` over every phase, against the reference server with
the mock upstreams, over the operations of the profiles the server implements: every check passes.
Operations of other profiles are excluded by their `x-tes-profile`; `NOT_SERVED` lists the operations of
an implemented profile the server does not serve yet (each later profile issue empties its entry).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tes_contract.conformance.managed import ManagedServer, private_state
from tes_contract.mocks import MockUpstreams

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
#: Profiles the reference server implements (all their operations are run).
IMPLEMENTED = {"core", "dev", "metrics", "history"}
#: Operations of an implemented profile the reference server does not serve yet.
NOT_SERVED: set[str] = set()
#: Operations behind the dev token (DEV-AUTH): without it every case is a 401, with it schemathesis would
#: start random commands in tmux. The harness's dev-tmux, dev-snapshot and dev-security groups test them.
NEEDS_TOKEN = {"createTmuxSession", "killTmuxSession", "captureTmuxPane", "getWorkerSnapshot"}
#: Operations whose valid requests a schema cannot describe whole, so schemathesis's positive-data check
#: would call a contract 400 a bug: `since` after `until` (HISTORY-QUERY). The harness's own http group
#: fuzzes them with the response checks.
SCHEMA_CANNOT_SAY = {"getStatusHistory"}


def excluded_operations() -> list[str]:
    """operationIds of the spec whose profile the server does not implement, and those it does not serve yet."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    ids = []
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                if operation.get("x-tes-profile") not in IMPLEMENTED \
                        or operation["operationId"] in NOT_SERVED | NEEDS_TOKEN | SCHEMA_CANNOT_SAY:
                    ids.append(operation["operationId"])
    return sorted(ids)


def test_exclusions_name_real_operations():
    excluded = excluded_operations()
    assert NOT_SERVED | NEEDS_TOKEN <= set(excluded)
    assert "getStatus" not in excluded and "listWorkers" not in excluded


async def test_schemathesis_cli_passes_every_check_and_phase_on_the_reference_server(tmp_path: Path):
    async with MockUpstreams() as mocks, private_state("schemathesis") as state:
        env = {"TES_TMUX_STATUS_URL": mocks.tmux_url, "TES_WORKER_API_URL": mocks.worker_url,
               "TES_UPSTREAM_TIMEOUT_MS": "2000", **state}
        async with ManagedServer(f"{sys.executable} -m tes_contract serve", env, name="schemathesis") as server:
            argv = [sys.executable, "-m", "schemathesis.cli", "run", str(SPEC), "--url", server.url,
                    "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--seed", "1",
                    "--no-color", "--report-dir", str(tmp_path)]
            for operation_id in excluded_operations():
                argv += ["--exclude-operation-id", operation_id]
            out = await _run(argv)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "No issues found" in out.stdout, out.stdout[-2000:]
    assert f"Selected: {_operations() - len(excluded_operations())}/{_operations()}" in out.stdout


def _operations() -> int:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return sum(1 for item in spec["paths"].values() for op in item.values() if isinstance(op, dict))


async def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    import asyncio

    # In a thread: the mocks serve the server's upstream calls on this event loop meanwhile.
    return await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=300, cwd=ROOT,
                                   env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
