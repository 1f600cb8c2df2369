"""Suppression pragmas: per instruction and per file; suppressed findings are counted, never fixed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemod.config import Config
from codemod.fix.loop import migrate

LEAKY = "FROM a\n{pragma}ARG DB_PASSWORD=postgres\nARG API_TOKEN=changeme-now\nUSER app\n"


def test_ignore_covers_the_next_instruction_only() -> None:
    data = LEAKY.format(pragma="# migrate-secrets: ignore=MS001\n").encode()
    result = migrate(data, "Dockerfile", Config())
    assert [(h.finding.line, h.finding.suppressed) for h in result.hits] == [(3, True), (4, False)]
    assert result.new is not None
    assert b"ARG DB_PASSWORD=postgres\n" in result.new and b"API_TOKEN" not in result.new


def test_other_codes_are_not_covered() -> None:
    data = LEAKY.format(pragma="# migrate-secrets: ignore=MS003\n").encode()
    assert not any(h.finding.suppressed for h in migrate(data, "Dockerfile", Config()).hits)


def test_global_ignore_covers_the_file() -> None:
    data = ("# migrate-secrets: global ignore=MS001\n" + LEAKY.format(pragma="")).encode()
    result = migrate(data, "Dockerfile", Config())
    assert [h.finding.suppressed for h in result.hits] == [True, True]
    assert result.new is None


def test_summary_counts_suppressed_and_exit_code_ignores_them(tmp_path: Path, cli,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text("# migrate-secrets: global ignore=MS001\n" + LEAKY.format(pragma=""))
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli()
    assert code == 0
    assert "0 findings" in out and "2 suppressed" in out
    code, out, _ = cli("--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["suppressed"] == 2
    assert all(f["suppressed"] for f in doc["findings"])


def test_exit_zero(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text(LEAKY.format(pragma=""))
    monkeypatch.chdir(tmp_path)
    assert cli()[0] == 1
    assert cli("--exit-zero")[0] == 0
    assert cli("--check", "--exit-zero")[0] == 0
