"""Compose ``environment:`` after a runtime secret leaves the image (issue 17, design.md 3.6): merged into the
service's own block, one key per name, its form kept; a literal never carried; every rewritten file loads
under a strict YAML loader (duplicate keys rejected, as compose rejects them)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from conftest import git

DOCKERFILE = ("FROM python:3.12\nARG DB_PASSWORD\nARG API_KEY\n"
              "ENV DB_PASSWORD=${DB_PASSWORD} API_KEY=${API_KEY}\nCMD [\"python\"]\n")
LITERAL = "hunter2-literal-db-pw"


def strict_load(text: str) -> Any:
    """Compose's view: a duplicate key is an error (ruamel's safe loader raises DuplicateKeyError)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml.load(io.StringIO(text))


def _repo(tmp_path: Path, compose: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "Dockerfile").write_text(DOCKERFILE)
    (repo / "compose.yaml").write_text(compose)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app")
    monkeypatch.chdir(repo)
    return repo


CASES = {
    # two runtime secrets, no environment: one new block with both (today: two `environment:` keys)
    "no-block": ("services:\n  app:\n    build:\n      context: app\n      args:\n"
                 "        DB_PASSWORD: ${DB_PASSWORD}\n        API_KEY: ${API_KEY}\n    image: app\n",
                 {"DB_PASSWORD": "${DB_PASSWORD}", "API_KEY": "${API_KEY}"}),
    # an existing map block keeps its form and its entries
    "map": ("services:\n  app:\n    build:\n      context: app\n      args:\n"
            "        DB_PASSWORD: ${DB_PASSWORD}\n        API_KEY: ${API_KEY}\n"
            "    environment:\n      LOG_LEVEL: info\n",
            {"LOG_LEVEL": "info", "DB_PASSWORD": "${DB_PASSWORD}", "API_KEY": "${API_KEY}"}),
    # an existing list block keeps its form
    "list": ("services:\n  app:\n    build:\n      context: app\n      args:\n"
             "        - DB_PASSWORD=${DB_PASSWORD}\n        - API_KEY\n"
             "    environment:\n      - LOG_LEVEL=info\n",
             ["LOG_LEVEL=info", "DB_PASSWORD=${DB_PASSWORD}", "API_KEY=${API_KEY}"]),
    # a name already there is not added twice
    "present": ("services:\n  app:\n    build:\n      context: app\n      args:\n"
                "        DB_PASSWORD: ${DB_PASSWORD}\n        API_KEY: ${API_KEY}\n"
                "    environment:\n      API_KEY: ${API_KEY}\n",
                {"API_KEY": "${API_KEY}", "DB_PASSWORD": "${DB_PASSWORD}"}),
    # a literal is never carried: it becomes ${DB_PASSWORD}
    "literal": ("services:\n  app:\n    build:\n      context: app\n      args:\n"
                f"        DB_PASSWORD: {LITERAL}\n        API_KEY: ${{API_KEY}}\n    image: app\n",
                {"DB_PASSWORD": "${DB_PASSWORD}", "API_KEY": "${API_KEY}"}),
    # `environment:` with nothing under it
    "empty-block": ("services:\n  app:\n    build:\n      context: app\n      args:\n"
                    "        DB_PASSWORD: ${DB_PASSWORD}\n        API_KEY: ${API_KEY}\n    environment:\n",
                    {"DB_PASSWORD": "${DB_PASSWORD}", "API_KEY": "${API_KEY}"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_environment_is_merged_one_key_per_name(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 cli) -> None:
    compose, want = CASES[case]
    repo = _repo(tmp_path, compose, monkeypatch)
    code, out, err = cli("--apply")
    assert code == 0, out + err
    text = (repo / "compose.yaml").read_text()
    doc = strict_load(text)  # raises on a duplicate key
    assert text.count("environment:") == 1, text
    assert doc["services"]["app"]["environment"] == want, text
    assert "args" not in doc["services"]["app"]["build"]
    assert LITERAL not in text and LITERAL not in out + err
    # the second run finds nothing left to do, and no literal anywhere in the work tree
    code, out, err = cli("--check")
    assert (code, out) == (0, ""), out + err
    for p in repo.rglob("*"):
        if p.is_file() and ".git" not in p.parts:
            assert LITERAL.encode() not in p.read_bytes(), p


def test_a_literal_build_arg_is_reported_with_a_rotate_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             cli) -> None:
    _repo(tmp_path, CASES["literal"][0], monkeypatch)
    code, out, err = cli()
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("compose.yaml:6:"))
    assert "rotate" in line and "${DB_PASSWORD}" in line
    assert LITERAL not in out + err
    code, out, _ = cli("--format", "json")
    assert LITERAL not in out and '"value_class"' in out


def test_a_literal_already_in_environment_goes_to_a_human(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          cli) -> None:
    compose = ("services:\n  app:\n    build:\n      context: app\n      args:\n"
               f"        DB_PASSWORD: {LITERAL}\n    environment:\n      DB_PASSWORD: {LITERAL}\n")
    repo = _repo(tmp_path, compose, monkeypatch)
    (repo / "app" / "Dockerfile").write_text("FROM python:3.12\nARG DB_PASSWORD\nENV DB_PASSWORD=${DB_PASSWORD}\n")
    git(repo, "commit", "-qam", "one secret")
    code, out, err = cli("--apply")
    assert code == 1, out + err  # left for a human: the literal in environment is not ours to move
    assert "sets DB_PASSWORD to a literal value" in out and "[needs a human:" in out
    assert LITERAL not in out + err
    strict_load((repo / "compose.yaml").read_text())


def test_two_services_each_get_their_own_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    compose = ("services:\n"
               "  app:\n    build:\n      context: app\n      args:\n        - DB_PASSWORD\n        - API_KEY\n"
               "  worker:\n    build: app\n    image: worker\n")
    repo = _repo(tmp_path, compose, monkeypatch)
    (repo / "compose.yaml").write_text(compose.replace("    build: app\n", "    build:\n      context: app\n"
                                                       "      args:\n        API_KEY: ${API_KEY}\n"))
    git(repo, "commit", "-qam", "worker passes one")
    assert cli("--apply")[0] == 0
    doc = strict_load((repo / "compose.yaml").read_text())
    assert doc["services"]["app"]["environment"] == {"DB_PASSWORD": "${DB_PASSWORD}", "API_KEY": "${API_KEY}"}
    assert doc["services"]["worker"]["environment"] == {"API_KEY": "${API_KEY}"}
