"""--branch on real repositories: preflight refusals, one exact commit, push to a bare remote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from codemod.vcs.git import (
    DEFAULT_BRANCH,
    VcsError,
    commit_on_branch,
    find_repo_root,
    preflight,
    push_branch,
    remote_default_branch,
)

from conftest import git_out as git

BACKUP = "Dockerfile.backup-20260101-000000"
DOCKERFILE = b"FROM alpine:3.20\nARG NPM_TOKEN=changeme\nRUN echo build\n"
MIGRATED = b"FROM alpine:3.20\nRUN echo build\n"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git config, no identity from the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)


def make_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A work tree with one commit on main, and a bare remote ``origin`` holding main."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "Dockerfile").write_bytes(DOCKERFILE)
    (repo / "compose.yaml").write_text("services:\n  app:\n    build: .\n")
    (repo / "app.py").write_text("print('hi')\n")
    (repo / "README.md").write_text("# demo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return repo, bare


def snapshot(repo: Path) -> dict[str, object]:
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "symbolic": subprocess.run(
            ["git", "symbolic-ref", "-q", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip(),
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
        "staged": git(repo, "diff", "--cached", "--name-status"),
        "files": files,
    }


def changed_in(repo: Path, sha: str) -> set[str]:
    out = git(repo, "diff-tree", "--no-commit-id", "--name-status", "-r", sha)
    return {line.replace("\t", " ") for line in out.splitlines()}


# --------------------------------------------------------------------------- commit


def test_one_commit_with_exactly_the_changed_files_then_pushed(tmp_path: Path) -> None:
    repo, bare = make_repo(tmp_path)
    main = git(repo, "rev-parse", "HEAD")
    # Unrelated work in progress: an unstaged edit, a staged edit.
    (repo / "README.md").write_text("# demo\nwork in progress\n")
    (repo / "app.py").write_text("print('staged')\n")
    git(repo, "add", "app.py")

    preflight(repo, ["Dockerfile", ".env.example"], DEFAULT_BRANCH, False)

    # The migration writes its files and a backup.
    (repo / BACKUP).write_bytes(DOCKERFILE)
    (repo / "Dockerfile").write_bytes(MIGRATED)
    (repo / ".env.example").write_text("NPM_TOKEN=\n")
    sha = commit_on_branch(
        repo,
        [str(repo / "Dockerfile"), ".env.example", BACKUP],
        DEFAULT_BRANCH,
        "Move 1 secret out of the Docker build\n\n- Dockerfile: NPM_TOKEN\n",
        False,
    )

    assert changed_in(repo, sha) == {"M Dockerfile", "A .env.example"}
    assert git(repo, "rev-parse", f"{sha}^") == main
    assert git(repo, "rev-list", "--count", f"{main}..{sha}") == "1"
    assert git(repo, "show", f"{sha}:Dockerfile").encode() + b"\n" == MIGRATED
    assert git(repo, "log", "-1", "--format=%s", sha) == "Move 1 secret out of the Docker build"
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha) == (
        "migrate-secrets <migrate-secrets@localhost>|migrate-secrets <migrate-secrets@localhost>"
    )
    # Checked out, main untouched, unrelated changes still pending exactly as they were.
    assert git(repo, "symbolic-ref", "HEAD") == f"refs/heads/{DEFAULT_BRANCH}"
    assert git(repo, "rev-parse", "main") == main
    assert git(repo, "diff", "--cached", "--name-only") == "app.py"
    status = git(repo, "status", "--porcelain=v1", "--untracked-files=all").splitlines()
    assert sorted(status) == sorted([" M README.md", "M  app.py", f"?? {BACKUP}"])
    assert (repo / "README.md").read_text() == "# demo\nwork in progress\n"
    assert (repo / BACKUP).read_bytes() == DOCKERFILE

    err = push_branch(repo, DEFAULT_BRANCH, "origin")
    assert "Dockerfile" not in err
    assert git(bare, "rev-parse", f"refs/heads/{DEFAULT_BRANCH}") == sha
    assert git(repo, "config", f"branch.{DEFAULT_BRANCH}.remote") == "origin"
    assert remote_default_branch(repo, "origin") == "main"


def test_author_and_committer_from_git_config(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    git(repo, "config", "user.name", "Dana Deployer")
    git(repo, "config", "user.email", "dana@example.com")
    (repo / "Dockerfile").write_bytes(MIGRATED)
    sha = commit_on_branch(repo, ["Dockerfile"], "fix/secrets", "msg", False)
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha) == (
        "Dana Deployer <dana@example.com>|Dana Deployer <dana@example.com>"
    )


def test_deleted_file_is_committed_as_a_deletion(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    preflight(repo, ["compose.yaml", "Dockerfile"], DEFAULT_BRANCH, False)
    (repo / "compose.yaml").unlink()
    (repo / "Dockerfile").write_bytes(MIGRATED)
    sha = commit_on_branch(repo, ["compose.yaml", "Dockerfile"], DEFAULT_BRANCH, "msg", False)
    assert changed_in(repo, sha) == {"D compose.yaml", "M Dockerfile"}
    assert git(repo, "status", "--porcelain=v1") == ""


def test_detached_head(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    (repo / "app.py").write_text("print('second')\n")
    git(repo, "commit", "-q", "-am", "second")
    git(repo, "checkout", "-q", "--detach", first)

    preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, False)
    (repo / "Dockerfile").write_bytes(MIGRATED)
    sha = commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", False)

    assert git(repo, "rev-parse", f"{sha}^") == first
    assert changed_in(repo, sha) == {"M Dockerfile"}
    assert git(repo, "symbolic-ref", "HEAD") == f"refs/heads/{DEFAULT_BRANCH}"
    assert (repo / "app.py").read_text() == "print('hi')\n"
    assert git(repo, "status", "--porcelain=v1") == ""


def test_symlinked_file_commits_its_target(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    (repo / "docker").mkdir()
    git(repo, "mv", "Dockerfile", "docker/Dockerfile")
    os.symlink("docker/Dockerfile", repo / "Dockerfile")
    git(repo, "add", "Dockerfile")
    git(repo, "commit", "-q", "-m", "symlink")
    preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, False)
    (repo / "Dockerfile").write_bytes(MIGRATED)  # through the link
    sha = commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", False)
    assert changed_in(repo, sha) == {"M docker/Dockerfile"}


def test_force_branch_resets_an_existing_branch_to_head(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    main = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", DEFAULT_BRANCH)
    (repo / "app.py").write_text("print('old attempt')\n")
    git(repo, "commit", "-q", "-am", "old attempt")
    git(repo, "checkout", "-q", "main")

    preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, True)
    (repo / "Dockerfile").write_bytes(MIGRATED)
    sha = commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", True)
    assert git(repo, "rev-parse", f"{sha}^") == main
    assert changed_in(repo, sha) == {"M Dockerfile"}


def test_force_push_replaces_a_diverged_remote_branch(tmp_path: Path) -> None:
    repo, bare = make_repo(tmp_path)
    (repo / "Dockerfile").write_bytes(MIGRATED)
    first = commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "first", False)
    push_branch(repo, DEFAULT_BRANCH)
    git(repo, "checkout", "-q", "main")
    (repo / "Dockerfile").write_bytes(MIGRATED + b"# again\n")
    second = commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "second", True)
    with pytest.raises(VcsError, match="force-branch"):
        push_branch(repo, DEFAULT_BRANCH)
    assert git(bare, "rev-parse", f"refs/heads/{DEFAULT_BRANCH}") == first
    push_branch(repo, DEFAULT_BRANCH, force=True)
    assert git(bare, "rev-parse", f"refs/heads/{DEFAULT_BRANCH}") == second


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("how", ["unstaged", "staged", "untracked"])
def test_refuses_uncommitted_changes_to_a_target_file(tmp_path: Path, how: str) -> None:
    repo, _ = make_repo(tmp_path)
    if how == "untracked":
        target = "Dockerfile.dev"
        (repo / target).write_bytes(DOCKERFILE)
    else:
        target = "Dockerfile"
        (repo / target).write_bytes(DOCKERFILE + b"# local edit\n")
        if how == "staged":
            git(repo, "add", target)
    before = snapshot(repo)
    with pytest.raises(VcsError) as exc:
        preflight(repo, [target, "compose.yaml"], DEFAULT_BRANCH, False)
    msg = str(exc.value)
    assert "nothing was written" in msg and "uncommitted changes" in msg
    assert target in msg and "compose.yaml" not in msg
    assert snapshot(repo) == before


def test_refuses_an_existing_branch(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    git(repo, "branch", DEFAULT_BRANCH)
    before = snapshot(repo)
    with pytest.raises(VcsError, match=r"already exists.*--force-branch"):
        preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, False)
    assert snapshot(repo) == before
    # And commit_on_branch itself will not overwrite it either.
    (repo / "Dockerfile").write_bytes(MIGRATED)
    before = snapshot(repo)
    with pytest.raises(VcsError, match="already exists"):
        commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", False)
    assert snapshot(repo) == before


def test_reports_every_problem_at_once(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    git(repo, "branch", DEFAULT_BRANCH)
    (repo / "Dockerfile").write_bytes(b"FROM scratch\n")
    with pytest.raises(VcsError) as exc:
        preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, False)
    assert "already exists" in str(exc.value) and "Dockerfile (modified" in str(exc.value)


def test_refuses_a_branch_name_that_collides_with_an_existing_branch(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    git(repo, "branch", "migrate-secrets")
    with pytest.raises(VcsError, match="cannot be created next to"):
        preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, False)


@pytest.mark.parametrize("name", ["bad..name", "-x", "a b", "HEAD", "trailing/", "x.lock"])
def test_refuses_invalid_branch_names(tmp_path: Path, name: str) -> None:
    repo, _ = make_repo(tmp_path)
    with pytest.raises(VcsError, match="not a valid branch name"):
        preflight(repo, ["Dockerfile"], name, False)


def test_refuses_ignored_files_it_would_write(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    (repo / ".gitignore").write_text(".env*\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore env")
    with pytest.raises(VcsError, match=r"ignored by git[\s\S]*\.env\.example"):
        preflight(repo, ["Dockerfile", ".env.example"], DEFAULT_BRANCH, False)


def test_refuses_paths_outside_the_repository(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    (tmp_path / "elsewhere").write_text("x")
    with pytest.raises(VcsError, match="outside the repository"):
        preflight(repo, [str(tmp_path / "elsewhere")], DEFAULT_BRANCH, False)


def test_refuses_outside_git_and_without_commits(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(VcsError, match="not inside a git work tree"):
        preflight(plain, ["Dockerfile"], DEFAULT_BRANCH, False)
    assert find_repo_root(plain) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(VcsError, match="no commit yet"):
        preflight(empty, ["Dockerfile"], DEFAULT_BRANCH, False)


def test_refuses_during_a_merge(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "app.py").write_text("print('other')\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "app.py").write_text("print('main')\n")
    git(repo, "commit", "-q", "-am", "main")
    merge = subprocess.run(
        ["git", "-c", "user.name=S", "-c", "user.email=s@example.com", "merge", "other"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert "CONFLICT" in merge.stdout
    with pytest.raises(VcsError, match="merge is in progress"):
        preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, False)


def test_nothing_to_commit_leaves_no_branch(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    before = snapshot(repo)
    with pytest.raises(VcsError, match="nothing to commit"):
        commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", False)
    with pytest.raises(VcsError, match="no changed files"):
        commit_on_branch(repo, [BACKUP], DEFAULT_BRANCH, "msg", False)
    assert snapshot(repo) == before


def test_subdirectory_as_repo_root(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    sub = repo / "services" / "api"
    sub.mkdir(parents=True)
    (sub / "Dockerfile").write_bytes(DOCKERFILE)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "api")
    assert find_repo_root(sub / "Dockerfile") == repo
    preflight(sub, ["Dockerfile"], DEFAULT_BRANCH, False)
    (sub / "Dockerfile").write_bytes(MIGRATED)
    sha = commit_on_branch(sub, ["Dockerfile"], DEFAULT_BRANCH, "msg", False)
    assert changed_in(repo, sha) == {"M services/api/Dockerfile"}


def test_push_errors_name_the_remote_and_hide_credentials(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    (repo / "Dockerfile").write_bytes(MIGRATED)
    commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", False)
    with pytest.raises(VcsError, match="no git remote named 'upstream'"):
        push_branch(repo, DEFAULT_BRANCH, "upstream")
    git(repo, "remote", "add", "leaky", "https://user:hunter2-token@127.0.0.1:9/owner/repo.git")
    with pytest.raises(VcsError) as exc:
        push_branch(repo, DEFAULT_BRANCH, "leaky", timeout=60)
    assert "git push leaky" in str(exc.value)
    assert "hunter2-token" not in str(exc.value)


def test_force_branch_refuses_a_branch_checked_out_in_another_worktree(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    git(repo, "worktree", "add", "-q", "-b", DEFAULT_BRANCH, str(tmp_path / "other-wt"))
    with pytest.raises(VcsError, match="checked out in another worktree"):
        preflight(repo, ["Dockerfile"], DEFAULT_BRANCH, True)
    (repo / "Dockerfile").write_bytes(MIGRATED)
    with pytest.raises(VcsError, match="checked out in another worktree"):
        commit_on_branch(repo, ["Dockerfile"], DEFAULT_BRANCH, "msg", True)


def test_file_names_are_not_globs(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    odd = "svc [a]*.Dockerfile"
    (repo / odd).write_bytes(DOCKERFILE)
    (repo / "svc a.Dockerfile").write_bytes(DOCKERFILE)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "odd names")
    (repo / "svc a.Dockerfile").write_bytes(b"FROM scratch\n")  # dirty, but not a target
    preflight(repo, [odd], DEFAULT_BRANCH, False)
    (repo / odd).write_bytes(MIGRATED)
    sha = commit_on_branch(repo, [odd], DEFAULT_BRANCH, "msg", False)
    assert changed_in(repo, sha) == {f"M {odd}"}
    assert git(repo, "status", "--porcelain=v1") == ' M "svc a.Dockerfile"'
