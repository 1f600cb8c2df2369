"""What the run hands over and how it reports it (issue 17): the env example lists run-time consumers only,
under the names the container reads; build-only secrets are passed to the build instead; a symlinked
Dockerfile is planned once; a missing PATH is an error, not a file scanned; ``--check`` says "would create"."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import git

BUILD_ONLY = (
    "FROM node:20 AS build\n"
    "ARG NPM_TOKEN\n"
    "RUN --mount=type=cache,target=/root/.npm echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > .npmrc"
    " && npm ci && rm .npmrc\n"
    "ARG GITHUB_TOKEN\n"
    "RUN curl -fsSL -H \"Authorization: Bearer ${GITHUB_TOKEN}\" https://api.github.com/repos/acme/lib/tarball"
    " -o /tmp/lib.tgz\n"
    "ARG PIP_INDEX_TOKEN\n"
    "RUN pip install --index-url https://__token__:${PIP_INDEX_TOKEN}@pypi.acme.dev/simple acme-lib\n"
    "FROM python:3.12\n"
    "ARG DB_PASSWORD_DEFAULT=changeme-db-password\n"
    "ENV DB_PASSWORD=${DB_PASSWORD_DEFAULT}\n"
    "CMD [\"python\", \"-m\", \"app\"]\n"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    (r / "Dockerfile").write_text(BUILD_ONLY)
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "app")
    monkeypatch.chdir(r)
    return r


def test_env_example_lists_runtime_consumers_under_the_names_the_container_reads(repo: Path, cli) -> None:
    code, out, err = cli("--apply")
    assert code == 0, out + err
    example = (repo / ".env.example").read_text()
    keys = [line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")]
    assert keys == ["DB_PASSWORD"]  # not DB_PASSWORD_DEFAULT (removed), not the build tokens
    runtime = [line for line in out.splitlines() if "provide at runtime" in line]
    assert runtime == ["Dockerfile: provide at runtime (env_file / docker run -e / Kubernetes Secret): DB_PASSWORD"]
    build = next(line for line in out.splitlines() if "build secrets" in line)
    for token in ("NPM_TOKEN", "GITHUB_TOKEN", "PIP_INDEX_TOKEN"):
        assert f"--secret id={token.lower()},env={token}" in build
    assert "not runtime configuration" in build


def test_json_report_says_which_are_build_secrets(repo: Path, cli) -> None:
    doc = json.loads(cli("--format", "json")[1])
    assert [v["variable"] for v in doc["runtime"]["Dockerfile"]] == ["DB_PASSWORD"]
    assert {b["variable"] for b in doc["build_secrets"]["Dockerfile"]} == {"NPM_TOKEN", "GITHUB_TOKEN",
                                                                           "PIP_INDEX_TOKEN"}


def test_build_only_secrets_write_no_env_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    (tmp_path / "Dockerfile").write_text(BUILD_ONLY.split("FROM python")[0])
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("--apply")
    assert code == 0, out + err
    assert not (tmp_path / ".env.example").exists()
    assert "provide at runtime" not in out


# -- a symlinked Dockerfile ---------------------------------------------------------------------------


def test_symlinked_dockerfile_is_planned_once_through_its_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  cli) -> None:
    r = tmp_path / "repo"
    (r / "docker").mkdir(parents=True)
    (r / "docker" / "Dockerfile.prod").write_text("FROM alpine\nARG DB_PASSWORD=changeme-db-password\n"
                                                   "ENV DB_PASSWORD=${DB_PASSWORD}\nUSER app\n")
    (r / "Dockerfile").symlink_to("docker/Dockerfile.prod")
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "app")
    monkeypatch.chdir(r)
    code, out, err = cli("--check")
    assert code == 1 and out.count("would migrate docker/Dockerfile.prod") == 1, out
    assert "would migrate Dockerfile\n" not in out
    code, out, err = cli("--apply")
    assert code == 0, out + err
    assert "changed on disk" not in out + err
    assert (r / "Dockerfile").is_symlink() and os.readlink(r / "Dockerfile") == "docker/Dockerfile.prod"
    assert b"changeme" not in (r / "docker" / "Dockerfile.prod").read_bytes()
    assert cli("--check") == (0, "", "")


# -- smaller ------------------------------------------------------------------------------------------


def test_a_missing_path_is_an_error_not_a_file_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       cli) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("nope")
    assert code == 2
    assert "0 files scanned" in out and "error: nope: no such file or directory" in out
    assert json.loads(cli("--format", "json", "nope")[1])["summary"]["files"] == 0


def test_check_says_would_create_for_a_new_file(repo: Path, cli) -> None:
    code, out, _ = cli("--check")
    assert code == 1
    assert out.splitlines() == ["would migrate Dockerfile", "would create .env.example"]
