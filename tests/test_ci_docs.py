"""docs/ci.md: the GitHub Actions and GitLab CI jobs parse, and their commands pass against the Node server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.servers.launch import command

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
BLOCKS = {block.splitlines()[0].lstrip("# ").strip(): yaml.safe_load(block)
          for block in re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)}
INSTALLS = ("python -m pip install", "apt-get")


def _github() -> tuple[dict[str, str], list[str]]:
    job = BLOCKS[".github/workflows/status-contract.yml"]["jobs"]["conform"]
    assert job["runs-on"] == "ubuntu-latest"
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses[:3] == ["actions/checkout@v4", "actions/setup-python@v5", "actions/setup-node@v4"]
    upload = [step for step in job["steps"] if step.get("uses") == "actions/upload-artifact@v4"]
    assert upload and upload[0]["if"] == "always()" and "conformance.xml" in upload[0]["with"]["path"]
    return job["env"], [step["run"] for step in job["steps"] if "run" in step]


def _gitlab() -> tuple[dict[str, str], list[str]]:
    job = BLOCKS[".gitlab-ci.yml"]["conform"]
    assert job["artifacts"]["reports"]["junit"] == "conformance.xml" and job["artifacts"]["when"] == "always"
    return job["variables"], [*job["before_script"], *job["script"]]


@pytest.mark.parametrize("job", [_github, _gitlab], ids=["github", "gitlab"])
@pytest.mark.parametrize(("breaks", "code"), [("", 0), ("no_405", 1)])
def test_ci_job_commands_run_against_the_node_server(tmp_path, job, breaks, code):
    variables, commands = job()
    assert set(variables) == {"TES_CONTRACT", "SERVER", "TES_CONFORM_ARGS"}
    assert any('pip install "$TES_CONTRACT"' in c for c in commands)  # the install the test cannot run here
    runnable = [c for c in commands if not c.startswith(INSTALLS) and "apt-get" not in c]
    assert any("conform --server \"$SERVER\"" in c and "junit:conformance.xml" in c for c in runnable)
    env = {**os.environ, **{k: str(v) for k, v in variables.items()},
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           # The job's own server is replaced by the independent Node one; one group keeps CI fast.
           "SERVER": command("node", breaks), "TES_CONFORM_ARGS": "--profile core --group http --examples 5"}
    results = [subprocess.run(["bash", "-ec", line], cwd=tmp_path, env=env, text=True, capture_output=True,
                              timeout=180) for line in runnable]
    assert [r.returncode for r in results] == [0] * (len(results) - 1) + [code], [r.stdout[-2000:] for r in results]
    suites = ET.parse(tmp_path / "conformance.xml").getroot()
    failures = [case.get("classname") for case in suites.iter("testcase") if case.find("failure") is not None]
    assert (failures == []) if code == 0 else ("core.STATUS-HTTP-2" in failures)
    assert "<style>" in (tmp_path / "conformance.html").read_text(encoding="utf-8")
