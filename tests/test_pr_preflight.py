"""``--pr`` and ``--branch`` check everything they can before a file is written (issue 17, design.md
section 5), and the commit message and PR body say what the edits did. Real repositories with a bare
remote; GitHub is a loopback server checking each request as GitHub documents it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import git, snapshot
from test_pr import GH_URL, TOKEN, github, isolated_git  # noqa: F401 - fixtures

BRANCH = "migrate-secrets/buildkit-secrets"
DOCKERFILE = (
    "FROM node:20 AS build\n"
    "ARG NPM_TOKEN\n"
    "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci && rm .npmrc\n"
    "FROM python:3.12\n"
    "ARG DB_PASSWORD_DEFAULT=changeme-db-password\n"
    "ENV DB_PASSWORD=${DB_PASSWORD_DEFAULT}\n"
    "CMD [\"python\"]\n"
)
COMPOSE = ("services:\n  app:\n    build:\n      context: .\n      args:\n"
           "        DB_PASSWORD_DEFAULT: ${DB_PASSWORD}\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    r = tmp_path / "work"
    r.mkdir()
    (r / "Dockerfile").write_text(DOCKERFILE)
    (r / "compose.yaml").write_text(COMPOSE)
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "app")
    git(r, "remote", "add", "origin", GH_URL)
    git(r, "config", f"url.{bare}.insteadOf", GH_URL)
    git(r, "push", "-q", "origin", "main")
    monkeypatch.chdir(r)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return r, bare


def _refused(work: Path, cli, *args: str, why: str) -> None:
    """The run refuses before writing: exit 2, the reason, nothing written, the checkout where it was."""
    before = snapshot(work)
    head, branch = git(work, "rev-parse", "HEAD"), git(work, "rev-parse", "--abbrev-ref", "HEAD")
    code, out, err = cli(*args)
    assert code == 2, out + err
    assert why in err and "nothing was written" in err, err
    assert snapshot(work) == before
    assert git(work, "rev-parse", "HEAD") == head and git(work, "rev-parse", "--abbrev-ref", "HEAD") == branch
    assert BRANCH not in git(work, "branch", "--list")
    assert git(work, "status", "--porcelain") == ""


def test_pr_without_a_token_writes_nothing(repo: tuple[Path, Path], cli) -> None:
    _refused(repo[0], cli, "--pr", why="--pr needs a token")


def test_pr_without_the_remote_writes_nothing(repo: tuple[Path, Path], cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    _refused(repo[0], cli, "--pr", "--remote", "upstream", why="no git remote named 'upstream'")


def test_pr_to_an_unknown_host_writes_nothing(repo: tuple[Path, Path], cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    git(repo[0], "remote", "add", "other", "https://git.example.org/owner/repo.git")
    _refused(repo[0], cli, "--pr", "--remote", "other", why="not a GitHub host")


def test_pr_to_an_unreachable_remote_writes_nothing(repo: tuple[Path, Path], cli, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    git(repo[0], "remote", "add", "gone", "https://github.com/owner/gone.git")
    git(repo[0], "config", "url." + str(tmp_path / "missing.git") + ".insteadOf", "https://github.com/owner/gone.git")
    _refused(repo[0], cli, "--pr", "--remote", "gone", why="cannot reach git remote 'gone'")


def test_pr_when_the_remote_has_the_branch_writes_nothing(repo: tuple[Path, Path], cli,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    work, _ = repo
    git(work, "push", "-q", "origin", f"main:refs/heads/{BRANCH}")
    _refused(work, cli, "--pr", why=f"already has a branch {BRANCH!r}")


def test_branch_outside_git_writes_nothing(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "Dockerfile").write_text(DOCKERFILE)
    monkeypatch.chdir(plain)
    before = snapshot(plain)
    code, _, err = cli("--branch")
    assert code == 2 and "not inside a git work tree" in err
    assert snapshot(plain) == before


def test_commit_message_and_pr_body_say_what_the_edits_did(repo: tuple[Path, Path], cli, github: Any,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    work, bare = repo
    api, url = github("create")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, out, err = cli("--pr", "--github-api-url", url)
    assert code == 0, out + err
    assert api.problems == []
    message = git(work, "log", "-1", "--format=%B")
    assert all(len(line) <= 72 for line in message.splitlines())
    flat = " ".join(message.split())  # wrapped at 72 columns
    assert "- NPM_TOKEN (MS004): became build secret npm_token (a RUN secret mount)" in flat
    assert "- DB_PASSWORD (MS002): moved to runtime configuration" in flat
    compose = flat.split("- DB_PASSWORD_DEFAULT (MS005): ")[1].split(" - ")[0]
    assert "passed in environment of service app" in compose and "build secret" not in compose
    assert "- .env.example: created (no finding of its own)" in flat
    body = next(r for r in api.requests if r["method"] == "POST")["json"]["body"]
    assert "| `.env.example` | 0 | created: runtime hand-off (names only) | — |" in body
    runtime = body.split("### At runtime")[1].split("### At build time")[0]
    assert "- `DB_PASSWORD`" in runtime and "NPM_TOKEN" not in runtime and "DB_PASSWORD_DEFAULT" not in runtime
    assert "| `npm_token` | `NPM_TOKEN` |" in body
    assert git(bare, "rev-parse", BRANCH) == git(work, "rev-parse", "HEAD")
