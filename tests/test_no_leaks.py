"""Secrets never leak through the tool (issue: robustness, part 5).

Every output of every command over a fixture repository is scanned for the
secret values the fixture holds: stdout, stderr, ``-v`` logs, text / JSON /
SARIF / diff, ``--output`` and ``--report`` files, backup and journal names and
contents, the commit message and branch of ``--branch``, the pull request of
``--pr``, rollback, docs, and a traceback from a forced crash. A value counts as
leaked when it appears whole, or when a distinctive 12-character piece of it
does. ``--show-values`` is the negative control: there the values must appear.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codemod.app import run
from codemod.config import Config

from conftest import ROOT, git
from test_pr import GH_URL, TOKEN, github, isolated_git  # noqa: F401 - fixtures

DOCKERFILE = b"""# syntax=docker/dockerfile:1
FROM node:20 AS build
# registry token for the private packages
ARG NPM_TOKEN=npm_Q8mZt3Lk9Vx2Rp7Wd4Hs6Jn1Bc5Fy0Ga3Ke8
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc
ARG GITHUB_TOKEN=ghp_Zq7Xw2Lm9Rt4Vb6Np3Ks8Hd1Jf5Gc0Ya2Ue7
ENV GITHUB_TOKEN=${GITHUB_TOKEN}

FROM python:3.12-slim
ARG DB_PASSWORD=changeme-postgres-pw-4417
ENV DB_PASSWORD=${DB_PASSWORD} \\
    DB_HOST=db \\
    STRIPE_SECRET_KEY=sk_live_51NqZt7Lm2Xw9Rb4Vp6Kd3Hs8Jf1Gc \\
    LOG_LEVEL=info
ENV SECRET_KEY django-insecure-7f3k9x2m5q8w1z4v6b0n
ENV SENTRY_AUTH_TOKEN="sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_Zq7Xw2Lm9Rt4Vb6Np3Ks8Hd1Jf5"
USER app
CMD ["python", "-m", "app"]
"""
WORKER = ("FROM python:3.12\r\n"
          "ENV ADMIN_PASSWORD=pässwörd-Ünïcode-99317 \\\r\n"
          "    WORKERS=4\r\n"
          "ARG JWT_SECRET='qL8#vR2$zX9@mN4!pK7'\r\n"
          "RUN echo build\r\n").encode()
COMPOSE = b"""services:
  app:
    build:
      context: svc
      args:
        NPM_TOKEN: ${NPM_TOKEN}
"""
#: every secret value in the fixture, as the rules see it (quotes removed)
VALUES = [
    "npm_Q8mZt3Lk9Vx2Rp7Wd4Hs6Jn1Bc5Fy0Ga3Ke8",
    "ghp_Zq7Xw2Lm9Rt4Vb6Np3Ks8Hd1Jf5Gc0Ya2Ue7",
    "changeme-postgres-pw-4417",
    "sk_live_51NqZt7Lm2Xw9Rb4Vp6Kd3Hs8Jf1Gc",
    "django-insecure-7f3k9x2m5q8w1z4v6b0n",
    "sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_Zq7Xw2Lm9Rt4Vb6Np3Ks8Hd1Jf5",
    "pässwörd-Ünïcode-99317",
    "qL8#vR2$zX9@mN4!pK7",
]


def _pieces(value: str) -> list[str]:
    """The value, and a distinctive piece of it (catches a value shown cut, quoted or escaped)."""
    out = [value]
    if len(value) >= 16:
        mid = len(value) // 2
        out.append(value[mid - 6 : mid + 6])
    return out


def leaks(text: str | bytes, values: list[str] = VALUES) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    found = []
    for v in values:
        for piece in _pieces(v):
            for form in (piece, json.dumps(piece)[1:-1]):
                if form in text:
                    found.append(v)
    return sorted(set(found))


def _write_tree(root: Path) -> Path:
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "Dockerfile").write_bytes(DOCKERFILE)
    (root / "worker").mkdir()
    (root / "worker" / "Dockerfile").write_bytes(WORKER)
    (root / "compose.yaml").write_bytes(COMPOSE)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "fixture")
    return root


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = _write_tree(tmp_path / "work")
    monkeypatch.chdir(root)
    return root


def test_the_fixture_values_are_the_ones_the_tool_finds(repo: Path) -> None:
    found = set(run(["."], Config()).secret_values.values())
    assert set(VALUES) <= found, set(VALUES) - found


def test_negative_control_show_values_prints_them(repo: Path, cli) -> None:
    _, out, _ = cli(".", "--show-values")
    assert leaks(out), "the scan would not notice a leak"


@pytest.mark.parametrize("args", [
    (".",), (".", "-v"), (".", "--format", "json"), (".", "--format", "sarif"), (".", "--format", "diff"),
    (".", "--check"), ("svc/Dockerfile", "worker"), (".", "--secret-style", "env"),
], ids=lambda a: " ".join(a))
def test_dry_run_outputs(args: tuple[str, ...], repo: Path, tmp_path: Path, cli) -> None:
    code, out, err = cli(*args, "--report", str(tmp_path / "report.json"))
    assert code == 1, out + err
    assert not leaks(out + err)
    assert not leaks((tmp_path / "report.json").read_bytes())


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "diff"])
def test_output_file(fmt: str, repo: Path, tmp_path: Path, cli) -> None:
    target = tmp_path / f"out.{fmt}"
    code, out, err = cli(".", "--format", fmt, "--output", str(target))
    assert code == 1
    assert target.stat().st_size > 0
    assert not leaks(target.read_bytes()) and not leaks(out + err)


def test_apply_outputs_backups_journal_and_rollback(repo: Path, tmp_path: Path, cli, state_home: Path) -> None:
    code, out, err = cli("--apply", "-v", "--report", str(tmp_path / "report.json"))
    assert code == 0, out + err
    assert not leaks(out + err)
    assert not leaks((tmp_path / "report.json").read_bytes())
    names = [str(p.relative_to(repo)) for p in repo.rglob("*")]
    assert not leaks("\n".join(names)), "a file name holds a value"
    # the migrated files no longer hold the values (every one of them was fixable)
    for rel in ("svc/Dockerfile", "worker/Dockerfile", ".env.example"):
        assert not leaks((repo / rel).read_bytes()), rel
    # nothing in the work tree holds a value any more: the backups are in the state directory
    for p in repo.rglob("*"):
        if p.is_file() and ".git" not in p.relative_to(repo).parts[:1]:
            assert not leaks(p.read_bytes()), p
    journal = list(state_home.rglob("journal.json"))
    assert len(journal) == 1 and not leaks(journal[0].read_bytes())
    backups = [p for p in state_home.rglob("*") if p.is_file() and p.name != "journal.json"]
    assert any(leaks(b.read_bytes()) for b in backups)  # the old bytes, outside the tree
    assert all(p.stat().st_mode & 0o077 == 0 for p in [*backups, *journal]), "backups are private (0600)"
    assert not leaks("\n".join(str(p) for p in state_home.rglob("*"))), "a backup name holds a value"
    assert not leaks(git(repo, "status", "--porcelain", "--untracked-files=all"))
    code, out, err = cli("rollback")
    assert code == 0, out + err
    assert not leaks(out + err)


def test_branch_commit_message_branch_name_and_committed_files(repo: Path, cli) -> None:
    code, out, err = cli("--apply", "--branch")
    assert code == 0, out + err
    assert not leaks(out + err)
    assert not leaks(git(repo, "log", "-1", "--format=%B%n%an%n%ae"))
    assert not leaks(git(repo, "branch", "--list"))
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert files and not any(".backup-" in f for f in files)
    for f in files:
        assert not leaks(git(repo, "show", f"HEAD:{f}")), f


def test_pull_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, github: Any) -> None:  # noqa: F811
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    root = _write_tree(tmp_path / "work")
    git(root, "remote", "add", "origin", GH_URL)
    git(root, "config", f"url.{bare}.insteadOf", GH_URL)
    git(root, "push", "-q", "origin", "main")
    monkeypatch.chdir(root)
    api, url = github("create")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, out, err = cli("--pr", "--github-api-url", url)
    assert code == 0, out + err
    assert not leaks(out + err)
    assert api.requests
    for req in api.requests:
        assert not leaks(json.dumps(req, ensure_ascii=False)), req["path"]
    assert not leaks(git(bare, "log", "--all", "--format=%B"))


def test_docs_command(repo: Path, cli) -> None:
    code, out, err = cli("docs")
    assert code in (0, 1), out + err
    assert not leaks(out + err)
    for p in (repo / "docs").rglob("*"):
        if p.is_file():
            assert not leaks(p.read_bytes()), p


def test_refused_run_outputs(repo: Path, tmp_path: Path, cli) -> None:
    """A run that refuses a file still reports the others: nothing leaks from either."""
    (repo / "bad").mkdir()
    (repo / "bad" / "Dockerfile").write_bytes(
        b"FROM alpine\nARG API_TOKEN=ghp_Zq7Xw2Lm9Rt4Vb6Np3Ks8Hd1Jf5Gc0Ya2Ue7\nRUN <<EOF\necho $API_TOKEN\n")
    for args in (("--apply",), ("--format", "json"), ("--check",), ("--format", "diff")):
        code, out, err = cli(*args, "--report", str(tmp_path / "r.json"))
        assert code == 2, out + err
        assert not leaks(out + err), args
        assert not leaks((tmp_path / "r.json").read_bytes())


def test_write_error_message(repo: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    import errno

    import codemod.write as write_mod

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(write_mod.os, "fsync", full)
    code, out, err = cli("--apply", "-v")
    assert code == 2
    assert not leaks(out + err)


CRASH = """
import sys
import codemod.fix.dockerfile as rewrite
def boom(*args, **kwargs):
    raise RuntimeError("boom inside the rewrite")
rewrite.plan_edits = boom
import codemod.fix.loop as migrate
migrate.plan_edits = boom
from codemod.cli import app
app(args={args!r}, prog_name="migrate-secrets")
"""


@pytest.mark.parametrize("args", [["."], ["--apply", "-v", "."]])
def test_traceback_of_a_crash(args: list[str], repo: Path) -> None:
    """An unexpected exception mid-run: the traceback (typer's pretty one) shows no values (no locals)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200", TERM="dumb")
    proc = subprocess.run([sys.executable, "-c", CRASH.format(args=args)], cwd=repo, env=env,
                          capture_output=True, timeout=60)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert b"boom inside the rewrite" in text, text[-2000:]
    assert not leaks(text)
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE


# --- known leaks (strict xfail: they fail the day the leak is fixed) -----------------------------

URL_SECRET = "Xk29vLq7Rm4tZp8w"


def test_credential_inside_a_url_is_redacted_in_the_diff(repo: Path, cli) -> None:
    df = repo / "svc" / "Dockerfile"
    df.write_bytes(df.read_bytes().replace(b"USER app\n",
                                           f"ENV DATABASE_URL=postgres://app:{URL_SECRET}@db:5432/app\nUSER app\n"
                                           .encode()))
    code, out, err = cli(".")
    assert code == 1
    assert "MS003 ENV DATABASE_URL" in out  # a URL with a password is a secret value under any name (issue 15)
    assert URL_SECRET not in out + err


def test_credentials_in_commands_are_redacted_in_the_diff(repo: Path, cli) -> None:
    df = repo / "svc" / "Dockerfile"
    df.write_bytes(df.read_bytes().replace(b"USER app\n", (
        f"RUN export DB_PASS={URL_SECRET} && gpg --batch --passphrase {URL_SECRET[::-1]} --import k.asc\n"
        f"CMD [\"redis-server\", \"--requirepass\", \"{URL_SECRET}x\"]\nUSER app\n").encode()))
    code, out, err = cli(".")
    assert code == 1
    assert "MS010" in out and "DB_PASS holds a literal credential" in out
    for secret in (URL_SECRET, URL_SECRET[::-1], URL_SECRET + "x"):
        assert secret not in out + err


def test_parse_command_redacts_values(repo: Path, cli) -> None:
    code, out, err = cli("parse", "svc/Dockerfile")
    assert code == 0
    assert not leaks(out + err)
