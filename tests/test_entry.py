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


# The root run skips typer's coercion (pydantic) when its arguments need none of it: click's own parser, from
# run_cmd's typer declarations, parses them. It must hand run_cmd exactly what typer would, and leave to typer
# everything the parser refuses.

AGREE = [
    [], ["Dockerfile"], ["run"], ["run", "a", "b"], ["--check", "x/Dockerfile"], ["x", "--apply", "-v", "y"],
    ["--dry-run", "--show-values", "--exit-zero", "--no-backup", "--fix-python", "--verbose", "."],
    ["--format", "json", "a"], ["--format=sarif", "a"], ["--output", "out.txt", "--report=r.json", "."],
    ["--secret-style", "env", "--branch", "--branch-name", "b/x", "--force-branch", "--remote", "up"],
    ["--pr", "--base", "main", "--pr-provider", "gitlab", "--github-api-url", "http://127.0.0.1:1/api"],
    ["--", "--check", "-v"], ["a", "--", "run"], ["-"], ["run", "docs"], ["--format", "a", "--format", "b"],
    ["--version", "x"], ["--output=-x", "."], ["-vv"], ["--backup-dir", "/tmp/b", "--apply", "."],
    ["--format", "--check"],
]
TO_TYPER = [
    ["docs"], ["parse", "Dockerfile"], ["--help"], ["-h"], ["run", "--help"], ["--check=true"],
    ["--chec"], ["--format"], ["--output", ""], ["--nope", "."], ["x", "-q"],
]


def _typer_kwargs(args: list[str]) -> dict[str, object]:
    """What typer itself passes run_cmd: the real declarations, a recording callback."""
    import functools

    import typer

    from codemod import cli

    seen: dict[str, object] = {}

    @functools.wraps(cli.run_cmd)
    def record(**kwargs: object) -> None:
        seen.update(kwargs)

    probe = typer.Typer(cls=cli._FirstWordGroup, add_completion=False)
    probe.command("run")(record)
    probe.command("docs")(lambda: None)
    probe.command("parse")(lambda: None)
    typer.main.get_command(probe).main(args, prog_name="migrate-secrets", standalone_mode=False)
    return seen


def test_fast_path_passes_what_typer_passes() -> None:
    from codemod.cli import fast_run_kwargs

    for args in AGREE:
        assert fast_run_kwargs(args) == _typer_kwargs(args), args


def test_fast_path_leaves_the_rest_to_typer() -> None:
    from codemod.cli import fast_run_kwargs

    for args in TO_TYPER:
        assert fast_run_kwargs(args) is None, args


def test_one_file_run_does_not_build_typer_parameters(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\nARG DB_PASSWORD=hunter2hunter2\n")
    for args in (["Dockerfile"], ["--check", "Dockerfile"], ["--format", "json", "Dockerfile"]):
        done = _run(*args, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stderr[-500:])
        assert "hunter2" not in done.stdout
        assert " pydantic" not in done.stderr, args
    helped = _run("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--apply" in helped.stdout
    bad = _run("--format", cwd=tmp_path)
    assert bad.returncode == 2 and "requires an argument" in bad.stderr


def test_closed_pipe_exits_1_quietly(tmp_path: Path) -> None:
    # more output than a pipe holds, so the write meets the closed end
    args = "".join(f"ARG DB_PASSWORD{i}=hunter2hunter2\n" for i in range(800))
    (tmp_path / "Dockerfile").write_text("FROM a\n" + args)
    proc = subprocess.Popen([sys.executable, "-m", "codemod", "Dockerfile"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 1 and "Traceback" not in err and "BrokenPipe" not in err, err
