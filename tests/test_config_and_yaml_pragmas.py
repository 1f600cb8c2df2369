"""Config keys change behaviour; pragmas also work in compose files (the next key and its block)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git

DOCKERFILE = "FROM node:20\nARG NPM_TOKEN\nRUN npm ci --token $NPM_TOKEN\n"
COMPOSE = """services:
  web:
    build:
      context: .
{pragma}      args:
        NPM_TOKEN: ${{NPM_TOKEN}}
"""


def _repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    git(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _findings(cli, *args: str) -> list[dict]:
    code, out, _ = cli("--format", "json", *args)
    return json.loads(out)["findings"]


def test_compose_pragma_covers_the_next_key_and_its_block(tmp_path: Path, cli,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = _repo(tmp_path, monkeypatch, {
        "Dockerfile": DOCKERFILE,
        "compose.yaml": COMPOSE.format(pragma="      # migrate-secrets: ignore=MS005\n"),
    })
    found = {(f["rule"], f.get("suppressed", False)) for f in _findings(cli)}
    assert ("MS005", True) in found and ("MS004", False) in found
    before = (root / "compose.yaml").read_bytes()
    cli("--apply")
    assert (root / "compose.yaml").read_bytes() == before  # never rewritten under a suppression


def test_compose_global_pragma(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, monkeypatch, {
        "Dockerfile": DOCKERFILE,
        "compose.yaml": "# migrate-secrets: global ignore=MS005\n" + COMPOSE.format(pragma=""),
    })
    assert all(f.get("suppressed") for f in _findings(cli) if f["rule"] == "MS005")


def test_secret_words_and_names_extend_detection(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, monkeypatch, {"Dockerfile": "FROM a\nARG SIGNING_SEED=abcdef123456\nARG LICENSE=xyz-1234567\n"})
    assert _findings(cli) == []
    (tmp_path / ".migrate-secrets.toml").write_text('secret-words = ["seed"]\nsecret-names = ["LICENSE"]\n')
    assert {f["variable"] for f in _findings(cli)} == {"SIGNING_SEED", "LICENSE"}


def test_setting_words_and_key_qualifiers_extend_the_name_lists(tmp_path: Path, cli,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, monkeypatch, {"Dockerfile": "FROM a\nARG RELEASE_KEY\nARG API_TOKEN_SHARD=eu-3\n"})
    assert [f["variable"] for f in _findings(cli)] == ["API_TOKEN_SHARD"]
    (tmp_path / ".migrate-secrets.toml").write_text('setting-words = ["shard"]\nkey-qualifiers = ["release"]\n')
    assert [(f["variable"], f["rule"]) for f in _findings(cli)] == [("RELEASE_KEY", "MS013")]


def test_allow_words_clear_a_name(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, monkeypatch, {"Dockerfile": "FROM a\nENV DEMO_API_TOKEN=demo-token-everyone-knows\n"})
    assert [f["variable"] for f in _findings(cli)] == ["DEMO_API_TOKEN"]
    (tmp_path / "pyproject.toml").write_text('[tool.migrate-secrets]\nallow-words = ["demo"]\n')
    assert _findings(cli) == []


def test_exclude_include_backup_and_env_example(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    leaky = "FROM a\nARG DB_PASSWORD=hunter2hunter2\nENV DB_PASSWORD=${DB_PASSWORD}\n"
    root = _repo(tmp_path, monkeypatch, {"app/Dockerfile": leaky, "legacy/Dockerfile": leaky})
    (root / ".migrate-secrets.toml").write_text(
        'exclude = ["legacy/*"]\nbackup = false\nenv-example = "deploy/runtime.env.example"\n')
    (root / "deploy").mkdir()
    assert {f["file"] for f in _findings(cli)} == {"app/Dockerfile"}
    code, out, err = cli("--apply")
    assert code == 0, out + err
    assert not list(root.rglob("*.backup-*"))
    assert (root / "deploy/runtime.env.example").read_text().splitlines()[-1] == "DB_PASSWORD="
    assert b"hunter2" in (root / "legacy/Dockerfile").read_bytes()
    (root / ".migrate-secrets.toml").write_text('include = ["legacy/*"]\n')
    assert {f["file"] for f in _findings(cli)} == {"legacy/Dockerfile"}


def test_secret_style_env(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _repo(tmp_path, monkeypatch, {"Dockerfile": DOCKERFILE, ".migrate-secrets.toml": 'secret-style = "env"\n'})
    assert cli("--apply")[0] == 0
    out = (root / "Dockerfile").read_text()
    assert out.startswith("# syntax=docker/dockerfile:1\n")
    assert "--mount=type=secret,id=npm_token,env=NPM_TOKEN,required=true npm ci" in out


@pytest.mark.parametrize("bad", ['secret-style = "both"\n', "backup = 1\n", 'secret-words = "x"\n', "nope = 1\n"])
def test_bad_values_are_refused(bad: str, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, monkeypatch, {"Dockerfile": DOCKERFILE, ".migrate-secrets.toml": bad})
    code, _, err = cli()
    assert code == 2 and ".migrate-secrets.toml" in err
