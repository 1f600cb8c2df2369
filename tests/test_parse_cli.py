"""`migrate-secrets parse`: BuildKit's JSON per file, errors with BuildKit's reason, values redacted."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES

CASES = FIXTURES / "parser-conformance"


def test_one_json_line_per_file_in_buildkit_schema(cli) -> None:
    good = CASES / "valid" / "heredoc-run.Dockerfile"
    bad = CASES / "invalid" / "heredoc-unterminated.Dockerfile"
    code, out, _ = cli("parse", str(good), str(bad))
    assert code == 2
    first, second = (json.loads(line) for line in out.splitlines())
    answer = json.loads((CASES / "valid" / "heredoc-run.buildkit.json").read_text())
    assert first["file"] == str(good)
    assert [(c["cmd"], c["start_line"], c["end_line"]) for c in first["cmds"]] == [
        (c["cmd"], c["start_line"], c["end_line"]) for c in answer["cmds"]]
    assert first["cmds"][1]["heredocs"][0]["content"] == answer["cmds"][1]["heredocs"][0]["content"]
    assert set(first) == {"file", "cmds", "warnings", "escape"}
    assert second == {"file": str(bad), "error": "unterminated heredoc", "line": 2}


def test_values_are_redacted_unless_asked(tmp_path: Path, cli) -> None:
    f = tmp_path / "Dockerfile"
    f.write_text("FROM a\nENV DB_PASSWORD=hunter2hunter2 APP_ENV=prod\n")
    code, out, _ = cli("parse", str(f))
    assert code == 0 and "hunter2hunter2" not in out
    kvs = json.loads(out)["cmds"][1]["kvs"]
    assert [(k["key"], k["value"]) for k in kvs] == [("DB_PASSWORD", "***"), ("APP_ENV", "prod")]
    code, out, _ = cli("parse", "--show-values", str(f))
    assert "hunter2hunter2" in out
