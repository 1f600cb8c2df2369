"""--apply --branch and --pr through the CLI, on the Archon fixture: a real repository, a real bare
remote, and a loopback server checking each GitHub request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, git, make_repo, snapshot
from test_pr import GH_URL, TOKEN, github, isolated_git  # noqa: F401 - fixtures

SECRETS = ["replace-with-service-role-key", "replace-with-anon-key", "replace-with-mcp-secret"]
BRANCH = "migrate-secrets/buildkit-secrets"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    r = make_repo(FIXTURES / "archon" / "input", tmp_path / "work")
    git(r, "remote", "add", "origin", GH_URL)
    git(r, "config", f"url.{bare}.insteadOf", GH_URL)
    git(r, "push", "-q", "origin", "main")
    monkeypatch.chdir(r)
    return r, bare


def test_branch_commits_exactly_the_changed_files(repo: tuple[Path, Path], cli) -> None:
    work, _ = repo
    (work / "services/archon/requirements.txt").write_text("fastapi\n")  # unrelated edit stays unstaged
    code, out, err = cli("--apply", "--branch")
    assert code == 0, out + err
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD").strip() == BRANCH
    files = git(work, "show", "--name-only", "--format=", "HEAD").split()
    assert files == [".env.example", "services/archon/Dockerfile"]
    assert git(work, "rev-list", "--count", "main..HEAD").strip() == "1"
    message = git(work, "log", "-1", "--format=%B")
    for v in SECRETS:
        assert v not in message
    assert " M services/archon/requirements.txt" in git(work, "status", "--porcelain")


def test_branch_refuses_a_dirty_target_and_writes_nothing(repo: tuple[Path, Path], cli) -> None:
    work, _ = repo
    df = work / "services/archon/Dockerfile"
    df.write_bytes(df.read_bytes() + b"# local edit\n")
    before = snapshot(work)
    head = git(work, "rev-parse", "HEAD")
    code, _, err = cli("--apply", "--branch")
    assert code == 2 and "uncommitted" in err
    assert snapshot(work) == before
    assert git(work, "rev-parse", "HEAD") == head
    assert BRANCH not in git(work, "branch", "--list")


def test_pr_opens_the_pull_request(repo: tuple[Path, Path], cli, github: Any,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    work, bare = repo
    api, url = github("create")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, out, err = cli("--pr", "--github-api-url", url)
    assert code == 0, out + err
    assert api.problems == []
    assert "https://github.com/owner/repo/pull/42" in out
    posts = [r for r in api.requests if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["path"] == "/repos/owner/repo/pulls"
    body = json.dumps(posts[0]["json"])
    assert posts[0]["json"]["head"] == BRANCH and posts[0]["json"]["base"] == "main"
    for v in SECRETS:
        assert v not in body and v not in out
    assert "SUPABASE_SERVICE_KEY" in posts[0]["json"]["body"]
    assert git(bare, "rev-parse", BRANCH) == git(work, "rev-parse", "HEAD")
