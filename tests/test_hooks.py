"""The pre-commit hooks and the composite GitHub Action, run the way pre-commit and Actions run them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, git

HOOKS = ROOT / ".pre-commit-hooks.yaml"
ACTION = ROOT / "action.yml"
LEAKY = "FROM alpine:3.20\nARG DB_PASSWORD=Zq8-leaky-db-pass-7731\nENV DB_PASSWORD=${DB_PASSWORD}\nCMD [\"sh\"]\n"
CLEAN = "FROM alpine:3.20\nENV APP_PORT=8080\nCMD [\"sh\"]\n"

MATCH = [
    "Dockerfile", "api.Dockerfile", "Dockerfile.dev", "Containerfile", "docker-compose.yml", "compose.prod.yaml",
    ".github/workflows/build.yml", "services/archon/Dockerfile", "deploy/Containerfile.base", "Dockerfile-dev",
    "docker-compose.override.yaml", "Makefile", "scripts/build.sh", ".env", "prod.env",
    "dockerfile", "app/DockerFile", "Dockerfile_rails", "Dockerfile-deploykeys", ".Dockerfile", "api.dockerfile",
]
NO_MATCH = [
    "Dockerfile.backup-20260101-120000", "README.md", "services/Dockerfile.backup-20260101-120000-2",
    "docker-compose.yml.backup-20260101-120000", "Dockerfile.dockerignore", "Dockerfile.j2", "compose.yml.tmpl",
    ".github/dependabot.yml", "workflows/build.yml", "setup.py", "docs/compose.md", "dockerfile.txt",
    "pkg/dockerfile.go", "docs/Dockerfile.md", "dockerfile.backup-20260101-120000", "DockerFile.tmpl",
]


def _yaml(path: Path) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "INPUT_"))}
    env.update(PYTHONPATH=str(ROOT), NO_COLOR="1", **extra)
    return env


def _console_script() -> str:
    exe = shutil.which("migrate-secrets")
    if exe is None:
        pytest.skip("the migrate-secrets console script is not installed (pip install -e .)")
    return exe


def _repo(path: Path, dockerfile: str) -> Path:
    path.mkdir()
    (path / "Dockerfile").write_text(dockerfile)
    (path / "README.md").write_text("# demo\n")
    (path / "docker-compose.yml").write_text("services:\n  app:\n    build: .\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


# --- pre-commit ---------------------------------------------------------------------------------------------


def _hooks() -> dict[str, dict[str, Any]]:
    hooks = _yaml(HOOKS)
    assert isinstance(hooks, list)
    return {h["id"]: h for h in hooks}


def test_hook_manifest_has_the_required_keys() -> None:
    hooks = _hooks()
    assert set(hooks) == {"migrate-secrets", "migrate-secrets-apply"}
    for h in hooks.values():
        for key in ("id", "name", "entry", "language"):
            assert isinstance(h[key], str) and h[key]
        assert h["language"] == "python"
        re.compile(h["files"])
    assert hooks["migrate-secrets"]["entry"] == "migrate-secrets --check"
    assert hooks["migrate-secrets-apply"]["entry"] == "migrate-secrets --apply"
    assert hooks["migrate-secrets"]["files"] == hooks["migrate-secrets-apply"]["files"]
    assert hooks["migrate-secrets-apply"]["pass_filenames"] is False  # a migration spans files
    assert hooks["migrate-secrets-apply"]["require_serial"] is True


@pytest.mark.parametrize("name", MATCH)
def test_files_regex_matches_what_discovery_reads(name: str) -> None:
    from codemod.discover import kind_of

    assert re.search(_hooks()["migrate-secrets"]["files"], name), name
    assert kind_of(name) is not None


@pytest.mark.parametrize("name", NO_MATCH)
def test_files_regex_skips_backups_templates_and_other_files(name: str) -> None:
    assert not re.search(_hooks()["migrate-secrets"]["files"], name), name


def _precommit_files(repo: Path, hook: dict[str, Any]) -> list[str]:
    """The staged files pre-commit would hand the hook: ``files`` is ``re.search``-ed on each path."""
    staged = git(repo, "ls-files").split()
    return [f for f in staged if re.search(hook["files"], f)]


def _run_hook(repo: Path, hook: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(hook["entry"])
    argv[0] = _console_script()
    files = _precommit_files(repo, hook) if hook.get("pass_filenames", True) else []
    return subprocess.run([*argv, *hook.get("args", []), *files], cwd=repo, env=_env(), capture_output=True,
                          text=True, timeout=120)


def test_check_hook_fails_on_a_leaky_dockerfile(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", LEAKY)
    hook = _hooks()["migrate-secrets"]
    assert _precommit_files(repo, hook) == ["Dockerfile", "docker-compose.yml"]
    proc = _run_hook(repo, hook)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Dockerfile" in proc.stdout
    assert "Zq8-leaky-db-pass-7731" not in proc.stdout + proc.stderr
    assert git(repo, "status", "--porcelain") == ""  # the check writes nothing


def test_check_hook_passes_a_clean_repository(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", CLEAN)
    proc = _run_hook(repo, _hooks()["migrate-secrets"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_apply_hook_rewrites_then_the_check_passes(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", LEAKY)
    hooks = _hooks()
    proc = _run_hook(repo, hooks["migrate-secrets-apply"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = (repo / "Dockerfile").read_text()
    assert "Zq8-leaky-db-pass-7731" not in new and "DB_PASSWORD" not in new.replace("# ", "")
    status = git(repo, "status", "--porcelain")
    assert " M Dockerfile" in status  # pre-commit fails the commit: files were modified by the hook
    assert ".backup-" not in status  # backups are excluded from git
    assert _run_hook(repo, hooks["migrate-secrets"]).returncode == 0


# --- the composite action -----------------------------------------------------------------------------------

_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def _action() -> dict[str, Any]:
    action = _yaml(ACTION)
    assert action["runs"]["using"] == "composite"
    return action


def _step(action: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in action["runs"]["steps"] if s.get("id") == step_id)


def _evaluate(text: str, context: dict[str, str]) -> str:
    """The ``${{ inputs.x }}`` / ``${{ github.x }}`` expressions a step's env and working-directory use."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in context:
            raise AssertionError(f"unexpected expression in a run step's env: {key}")
        return context[key]

    return _EXPR.sub(sub, text)


def _run_step(action: dict[str, Any], step_id: str, inputs: dict[str, str], workspace: Path,
              tmp: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    context = {f"inputs.{k}": v.get("default", "") for k, v in action["inputs"].items()}
    context.update({f"inputs.{k}": v for k, v in inputs.items()})
    context.update({"github.action_path": str(ROOT), "github.workspace": str(workspace), "github.token": "t"})
    step = _step(action, step_id)
    assert step["shell"] == "bash"
    assert "${{" not in step["run"], "run bodies read inputs from env, never by expression (script injection)"
    output = tmp / "github_output"
    output.write_text("")
    env = _env(GITHUB_OUTPUT=str(output), GITHUB_WORKSPACE=str(workspace), RUNNER_TEMP=str(tmp))
    env.update({k: _evaluate(str(v), context) for k, v in (step.get("env") or {}).items()})
    cwd = workspace / _evaluate(step.get("working-directory", "."), context)
    # what Actions runs for `shell: bash`
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc, outputs


def test_action_structure() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    for s in steps:
        assert ("uses" in s) != ("run" in s)
        if "run" in s:
            assert s["shell"] == "bash"
    check = _step(action, "check")
    assert "migrate-secrets --check --format sarif --output \"$MS_SARIF\"" in check["run"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    apply = _step(action, "apply")
    assert "inputs.apply == 'true'" in apply["if"] and "steps.check.outputs.pending == 'true'" in apply["if"]
    assert "args=(--apply --pr)" in apply["run"]
    assert apply["env"]["GH_TOKEN"] == "${{ inputs.token }}"
    assert steps.index(check) < steps.index(upload) < steps.index(apply)
    assert {"exit-code", "pending", "sarif-file"} <= set(action["outputs"])


def test_action_check_step_on_a_leaky_repository(tmp_path: Path) -> None:
    _console_script()
    workspace = tmp_path / "ws"
    _repo(workspace, LEAKY)
    proc, outputs = _run_step(_action(), "check", {}, workspace, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # exit 1 (pending) does not fail the step
    assert outputs == {"exit-code": "1", "sarif-file": "./migrate-secrets.sarif", "pending": "true"}
    doc = json.loads((workspace / "migrate-secrets.sarif").read_text())
    from test_sarif import assert_valid_sarif

    assert_valid_sarif(doc)
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"MS001", "MS002"}
    assert "::warning file=Dockerfile,line=2,title=MS001::" in proc.stdout
    assert "Zq8-leaky-db-pass-7731" not in proc.stdout + proc.stderr + json.dumps(doc)


def test_action_check_step_in_a_working_directory_on_a_clean_repository(tmp_path: Path) -> None:
    _console_script()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    _repo(workspace / "target", CLEAN)
    proc, outputs = _run_step(_action(), "check", {"working-directory": "target", "sarif-file": "out.sarif"},
                              workspace, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs == {"exit-code": "0", "sarif-file": "target/out.sarif", "pending": "false"}
    assert json.loads((workspace / "target" / "out.sarif").read_text())["runs"][0]["results"] == []


def test_action_check_step_fails_on_an_error(tmp_path: Path) -> None:
    _console_script()
    workspace = tmp_path / "ws"
    _repo(workspace, CLEAN)
    proc, outputs = _run_step(_action(), "check", {"path": "no-such-dir"}, workspace, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert outputs["exit-code"] == "2" and "pending" not in outputs
    assert "::error title=migrate-secrets::" in proc.stdout
