"""The first page a user reads (issue 17): ``migrate-secrets --help`` shows the root run's options and the
subcommands; text output gives each needs-a-human finding's reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def _help(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "codemod", *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_shows_the_main_job_and_the_subcommands(flag: str) -> None:
    page = _help(flag)
    assert page.startswith("Usage: migrate-secrets [OPTIONS] [PATH]...\n")
    options = page.split("Options:")[1].split("Commands:")[0]
    for option in ("--apply", "--check", "--dry-run", "--format", "--output", "--backup-dir", "--branch", "--pr",
                   "--show-values", "--exit-zero"):
        assert f"  {option} " in options or f", {option} " in options, option
    commands = page.split("Commands:")[1]
    names = [line.split()[0] for line in commands.splitlines() if line.strip()]
    assert names == ["verify", "rollback", "docs", "parse", "rules", "explain"]
    assert "dry run" in page and "Exit codes" in page


def test_subcommand_help_still_works() -> None:
    assert "--image-archive" in _help("verify", "--help")
    assert "--backup-dir" in _help("rollback", "--help")


def test_text_output_gives_each_needs_a_human_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\nARG DB_PASSWORD\nENV BROKER_URL=amqp://u:${DB_PASSWORD}@h/v\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli()
    assert code == 1
    line = next(x for x in out.splitlines() if "MS012" in x)
    assert line.endswith("[needs a human: read DB_PASSWORD at runtime separately]"), line
    code, out, _ = cli("--check")
    assert "needs a human" in out and "(read DB_PASSWORD at runtime separately)" in out
