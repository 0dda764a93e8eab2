"""`.pre-commit-hooks.yaml` run by the real pre-commit against a temporary user repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VALID = ROOT / "examples" / "valid" / "status-seed.json"
INVALID = ROOT / "examples" / "invalid" / "status" / "STATUS-FIELD-APISESSIONS--zero.json"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _try_repo(repo: Path, cache: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    # try-repo installs the hook from this working tree (uncommitted changes included), in its own venv.
    env = {**os.environ, "PRE_COMMIT_HOME": str(cache), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--files", *files],
                          cwd=repo, env=env, text=True, capture_output=True, timeout=900)


def test_hooks_file_names_both_hooks():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"]: h["entry"] for h in hooks} == {"tes-contract-validate": "tes-contract validate",
                                                   "tes-contract-lint": "tes-contract lint"}


def test_pre_commit_runs_validate_and_lint_on_a_temporary_repo(tmp_path):
    repo = tmp_path / "their-repo"
    (repo / "captures").mkdir(parents=True)
    shutil.copy(VALID, repo / "captures" / "good.json")
    shutil.copy(INVALID, repo / "captures" / "bad.json")
    shutil.copy(ROOT / "openapi.yaml", repo / "openapi.yaml")
    shutil.copytree(ROOT / "schemas", repo / "schemas")  # the spec's $refs
    (repo / "broken").mkdir()
    (repo / "broken" / "openapi.yaml").write_text("openapi: 3.1.0\ninfo: {title: x}\npaths: 7\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    cache = tmp_path / "pre-commit-cache"

    good = _try_repo(repo, cache, "tes-contract-validate", "captures/good.json")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    bad = _try_repo(repo, cache, "tes-contract-validate", "captures/bad.json", "captures/good.json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "[STATUS-FIELD-APISESSIONS]" in bad.stdout and "bad.json: INVALID" in bad.stdout

    spec = _try_repo(repo, cache, "tes-contract-lint", "openapi.yaml")
    assert spec.returncode == 0, spec.stdout + spec.stderr
    broken = _try_repo(repo, cache, "tes-contract-lint", "broken/openapi.yaml")
    assert broken.returncode != 0 and "Failed" in broken.stdout, broken.stdout + broken.stderr
