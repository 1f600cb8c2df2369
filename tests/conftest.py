from __future__ import annotations

import sys
from pathlib import Path

import pytest

from codemod.model import Finding

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # the synthetic-repository generator is shared with make bench
FIXTURES = ROOT / "fixtures"
#: shared/ lies beside the checkout (in CI too); tests that need it skip without it
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own per-user state directory (backups and rollback journals go there, never into the
    work tree): outside every test's tmp_path, so no build context or tree snapshot sees it."""
    home = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home / "migrate-secrets"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def shared_or_skip(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p


def git(cwd: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout


def git_out(cwd: Path, *args: str) -> str:
    """``git`` as a set-up step with its own identity; its output without the final newline."""
    return git(cwd, "-c", "user.name=Setup", "-c", "user.email=setup@example.com", *args).rstrip("\n")


def make_repo(src: Path, dst: Path) -> Path:
    """A real git work tree holding a copy of ``src``, committed."""
    import shutil

    shutil.copytree(src, dst)
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "fixture")
    return dst


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture
def cli():
    """Run the CLI in-process: ``cli(*args) -> (exit_code, stdout, stderr)``."""
    from typer.testing import CliRunner

    from codemod.cli import app

    runner = CliRunner()

    def _run(*args: str) -> tuple[int, str, str]:
        r = runner.invoke(app, list(args), catch_exceptions=False)
        return r.exit_code, r.stdout, r.stderr

    return _run


def finding(*args: object, **kw: object) -> Finding:
    """A :class:`Finding` with the code the registry gives its kind (the 4th argument or ``kind=``)."""
    from codemod.rules import RULE_CODES

    kind = str(args[3] if len(args) > 3 else kw["kind"])
    return Finding(*args, code=RULE_CODES[kind], **kw)  # type: ignore[arg-type]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The build proof's table and summary line (tests/test_corpus_proof.py), once, when it ran."""
    proof = sys.modules.get("buildproof")
    lines = getattr(proof, "REPORT", None) if proof is not None else None
    if lines:
        terminalreporter.section("build proof")
        for line in lines:
            terminalreporter.write_line(line)
