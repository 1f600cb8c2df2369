"""A runtime secret that compose fed in as a build arg is passed at runtime instead, under its ENV name."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import git

DOCKERFILE = (
    "FROM python:3.12-slim\nARG DB_PASSWORD_DEFAULT\nENV DB_PASSWORD=${DB_PASSWORD_DEFAULT} \\\n    PORT=8000\n"
)
COMPOSE = """services:
  api:
    build:
      context: .
      args:
        DB_PASSWORD_DEFAULT: ${DB_PASSWORD}
    environment:
      - PORT=8000
"""


def test_build_arg_becomes_runtime_environment(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    git(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("--apply")
    assert code == 0, out + err
    doc = YAML(typ="safe").load((tmp_path / "compose.yaml").read_text())
    api = doc["services"]["api"]
    assert "args" not in api["build"]
    assert api["environment"] == ["PORT=8000", "DB_PASSWORD=${DB_PASSWORD}"]
    assert "DB_PASSWORD_DEFAULT" not in (tmp_path / "Dockerfile").read_text()
