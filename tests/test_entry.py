"""The console script answers --version without loading the CLI framework, and hands the rest to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codemod import __version__

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "codemod", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_version_skips_typer(tmp_path: Path) -> None:
    done = _run("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"migrate-secrets {__version__}\n")
    assert " typer" not in done.stderr  # -X importtime lists every module imported


def test_everything_else_goes_to_the_cli(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\nARG DB_PASSWORD=hunter2hunter2\n")
    done = _run("--check", ".", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "would migrate Dockerfile\n"
