"""Issue 4 end to end through the CLI: the Dockerfile and every file that builds it change together."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codemod.dockerfile.scanner import parse

from conftest import git

TOKEN = "npm_" + "AbCdEfGhIjKlMnOpQrStUvWxYz" + "0123456789"
DOCKERFILE = """FROM node:20
WORKDIR /app
ARG NPM_TOKEN
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY . .
"""
COMPOSE = """services:
  web:
    build:
      context: .
      args:
        NPM_TOKEN: ${NPM_TOKEN}
        NODE_ENV: production
    ports:
      - "3000:3000"
  worker:
    build: .
"""
WORKFLOW = """name: build
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/build-push-action@v6
        with:
          context: .
          build-args: |
            NPM_TOKEN=${{ secrets.NPM_TOKEN }}
            NODE_ENV=production
"""
MAKEFILE = f"""image:
\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) -t web .
literal:
\tdocker build --build-arg NPM_TOKEN={TOKEN} -t web .
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = tmp_path / "repo"
    (r / ".github/workflows").mkdir(parents=True)
    (r / "Dockerfile").write_text(DOCKERFILE)
    (r / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    (r / "compose.yaml").write_text(COMPOSE)
    (r / ".github/workflows/build.yml").write_text(WORKFLOW)
    (r / "Makefile").write_text(MAKEFILE)
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "app")
    monkeypatch.chdir(r)
    return r


def test_one_run_changes_the_dockerfile_and_every_invocation(repo: Path, cli) -> None:
    code, out, err = cli()
    assert code == 1
    assert TOKEN not in out + err
    kinds = re.findall(r"^\S+:\d+:\d+: (MS\d{3}) ", out, re.M)
    assert {"MS004", "MS005", "MS006", "MS007"} <= set(kinds)
    assert ("Dockerfile: build secrets (not runtime configuration): export NPM_TOKEN where the image is built, "
            "then build with --secret id=npm_token,env=NPM_TOKEN") in out

    code, out, err = cli("--apply")
    assert code == 0, out + err
    df = (repo / "Dockerfile").read_bytes()
    assert b"ARG NPM_TOKEN" not in df
    mount_ids = set(re.findall(rb"--mount=type=secret,id=([^,\s]+)", df))
    assert mount_ids == {b"npm_token"}
    parse(df)

    compose = (repo / "compose.yaml").read_text()
    assert "NPM_TOKEN: ${NPM_TOKEN}" not in compose and "NODE_ENV: production" in compose
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(compose)
    assert doc["secrets"] == {"npm_token": {"environment": "NPM_TOKEN"}}
    for svc in ("web", "worker"):  # the worker never passed the arg, but builds the same Dockerfile
        assert doc["services"][svc]["build"]["secrets"] == ["npm_token"]
    workflow = (repo / ".github/workflows/build.yml").read_text()
    assert "npm_token=${{ secrets.NPM_TOKEN }}" in workflow and "NODE_ENV=production" in workflow
    assert "NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n            NODE_ENV" not in workflow
    makefile = (repo / "Makefile").read_text()
    assert "--secret id=npm_token,env=NPM_TOKEN" in makefile
    ids = set(re.findall(r"id=([A-Za-z0-9_.-]+)", makefile)) | set(doc["secrets"])
    assert ids == {"npm_token"}
    # the ports list, comments and the other build args are untouched: only changed lines differ
    assert compose.count('- "3000:3000"') == 1
    assert TOKEN not in makefile
    assert cli("--check") == (0, "", "")
    again = {p: p.read_bytes() for p in (repo / "Dockerfile", repo / "compose.yaml", repo / "Makefile")}
    assert cli("--apply")[0] == 0
    assert again == {p: p.read_bytes() for p in again}


def test_json_and_sarif_outputs_validate(repo: Path, cli) -> None:
    import json

    import jsonschema

    root = Path(__file__).resolve().parents[1]
    schema = json.loads((root / "docs" / "schema" / "findings.schema.json").read_text())
    code, out, _ = cli("--format", "json")
    doc = json.loads(out)
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert {f["rule"] for f in doc["findings"]} >= {"MS004", "MS005", "MS006", "MS007"}
    code, out, _ = cli("--format", "sarif")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"MS004", "MS005", "MS006", "MS007"}
    assert TOKEN not in out


def test_a_broken_compose_file_refuses_the_whole_run(repo: Path, cli) -> None:
    (repo / "compose.yaml").write_text(COMPOSE + "  bad: [unclosed\n")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    code, out, _ = cli("--apply")
    assert code == 2 and "compose.yaml:" in out
    assert before == {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
