"""Terminal output: colour on a real TTY only (a pseudo-terminal), never when piped or with NO_COLOR."""

from __future__ import annotations

import io
import os
import pty
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from codemod.app import RunResult, run
from codemod.config import Config
from codemod.output.report import Redactor, unified_diff
from codemod.output.term import PROGRESS_MIN, progress, render_diff, render_summary, use_color
from codemod.rules.base import Hit

from conftest import FIXTURES, ROOT, finding

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DIFF = (
    "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,3 +1,2 @@\n FROM a\n-ARG DB_PASSWORD=***\r\n"
    "+USER app\n\\ No newline at end of file\n"
)
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")}
    env.update(TERM="xterm-256color", COLUMNS="100", PYTHONPATH=str(ROOT), **extra)
    return env


def run_on_pty(argv: list[str], *, env: dict[str, str], cwd: Path | None = None, tty_out: bool = True,
               tty_err: bool = False) -> tuple[int, str, str, str]:
    """Run ``argv`` with stdout and/or stderr on a pseudo-terminal: (exit code, pty text, piped out, piped err)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=slave if tty_out else subprocess.PIPE, stderr=slave if tty_err else subprocess.PIPE,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the slave
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, err = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    tty_text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return proc.returncode, tty_text, (out or b"").decode(), (err or b"").decode()


SNIPPET = textwrap.dedent(
    """
    import sys
    from codemod.output.term import render_diff, use_color
    sys.stdout.write(render_diff(sys.argv[1], color=use_color(sys.stdout)))
    """
)


def test_use_color_follows_tty_no_color_and_force_color() -> None:
    tty, pipe = _Stream(True), _Stream(False)
    assert use_color(tty, {}) is True
    assert use_color(pipe, {}) is False
    assert use_color(tty, {"NO_COLOR": "1"}) is False
    assert use_color(tty, {"NO_COLOR": ""}) is True  # no-color.org: only a non-empty value counts
    assert use_color(pipe, {"FORCE_COLOR": "1"}) is True
    assert use_color(pipe, {"FORCE_COLOR": "0"}) is False
    assert use_color(pipe, {"FORCE_COLOR": "1", "NO_COLOR": "1"}) is False
    assert use_color(tty, {"TERM": "dumb"}) is False
    assert use_color(object(), {}) is False  # no isatty at all


def test_render_diff_colours_only_when_asked_and_keeps_every_byte() -> None:
    assert render_diff(DIFF, color=False) == DIFF
    coloured = render_diff(DIFF, color=True)
    assert ANSI.sub("", coloured) == DIFF
    assert "\x1b[31m-ARG DB_PASSWORD=***\x1b[0m\r\n" in coloured  # CRLF stays outside the colour
    assert "\x1b[32m+USER app\x1b[0m\n" in coloured
    assert "\x1b[36m@@ -1,3 +1,2 @@\x1b[0m" in coloured
    assert "\n FROM a\n" in coloured  # context lines untouched


@pytest.fixture
def archon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    shutil.copytree(FIXTURES / "archon" / "input", tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return run(["."], Config())


def test_summary_table_counts(archon: RunResult) -> None:
    text = render_summary(archon, Redactor(archon), color=False)
    assert not ANSI.search(text)
    rows = {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"^\|\s*([^|]+?)\s*\|\s*(\d+)\s*\|$", text, re.M)}
    assert rows == {
        "files scanned": 3, "findings": 9, "MS001 arg-default-secret": 4, "MS002 env-from-secret-arg": 5,
        "fixes to write": 9, "files to change": 2, "needing a human": 0, "suppressed": 0,
    }
    applied = render_summary(archon, Redactor(archon), color=False, applied=True)
    assert "fixes written" in applied and "files changed" in applied
    coloured = render_summary(archon, Redactor(archon), color=True)
    assert ANSI.search(coloured)
    assert "MS002 env-from-secret-arg" in ANSI.sub("", coloured)


def test_real_diff_keeps_its_text_and_its_redaction(archon: RunResult) -> None:
    diff = unified_diff(archon, Redactor(archon))
    coloured = render_diff(diff, color=True)
    assert ANSI.sub("", coloured) == diff and coloured != diff
    assert "\x1b[31m-ARG POSTGRES_PASSWORD_DEFAULT=***\x1b[0m" in coloured
    for secret in ("replace-with-service-role-key", "replace-with-anon-key", "replace-with-mcp-secret"):
        assert secret not in coloured


def test_summary_counts_suppressed_and_human_apart() -> None:
    result = RunResult()
    result.hits = [
        Hit(finding("Dockerfile", 2, "A_TOKEN", "secret-arg-unused", "m")),
        Hit(finding("Dockerfile", 3, "B_TOKEN", "secret-arg-unused", "m", suppressed=True)),
        Hit(finding("Dockerfile", 4, "URL", "credential-in-value", "m", fixable=False)),
    ]
    text = render_summary(result, Redactor(result), color=False)
    rows = {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"^\|\s*([^|]+?)\s*\|\s*(\d+)\s*\|$", text, re.M)}
    assert rows["findings"] == 2 and rows["suppressed"] == 1 and rows["needing a human"] == 1
    assert rows["fixes to write"] == 1 and rows["MS013 secret-arg-unused"] == 1


def test_progress_is_a_noop_off_a_tty_or_for_short_runs() -> None:
    for stream, total in ((_Stream(False), 500), (_Stream(True), PROGRESS_MIN - 1)):
        with progress(total, stream) as bar:
            assert not bar.active
            bar.advance(3)
        assert stream.getvalue() == ""


def test_diff_on_a_pty_is_coloured() -> None:
    code, tty, _, err = run_on_pty([sys.executable, "-c", SNIPPET, DIFF], env=_env())
    assert code == 0, err
    assert "\x1b[32m+USER app\x1b[0m" in tty and "\x1b[31m-ARG" in tty


def test_diff_on_a_pty_with_no_color_is_plain() -> None:
    code, tty, _, err = run_on_pty([sys.executable, "-c", SNIPPET, DIFF], env=_env(NO_COLOR="1"))
    assert code == 0, err
    assert not ANSI.search(tty) and "+USER app" in tty


def test_diff_piped_is_plain_even_with_stderr_on_a_tty() -> None:
    code, tty, out, err = run_on_pty([sys.executable, "-c", SNIPPET, DIFF], env=_env(), tty_out=False, tty_err=True)
    assert code == 0, err
    assert out == DIFF and tty == ""


PROGRESS = textwrap.dedent(
    """
    import sys, time
    from codemod.output.term import progress
    n = int(sys.argv[1])
    with progress(n) as bar:
        for _ in range(n):
            bar.advance()
        time.sleep(0.3)
    print("done")
    """
)


def test_progress_bar_on_a_tty_stderr_for_long_runs_only() -> None:
    code, tty, out, err = run_on_pty([sys.executable, "-c", PROGRESS, "60"], env=_env(), tty_out=False, tty_err=True)
    assert code == 0, err
    assert "60/60" in tty and "scanning" in tty
    assert out == "done\n"  # stdout never gets the bar

    code, tty, out, _ = run_on_pty([sys.executable, "-c", PROGRESS, "10"], env=_env(), tty_out=False, tty_err=True)
    assert code == 0 and tty == "" and out == "done\n"

    code, tty, out, err = run_on_pty([sys.executable, "-c", PROGRESS, "60"], env=_env(), tty_out=True, tty_err=False)
    assert code == 0 and err == "" and tty == "done\n"


def _console_script() -> str:
    exe = shutil.which("migrate-secrets")
    if exe is None:
        pytest.skip("the migrate-secrets console script is not installed (pip install -e .)")
    return exe



@pytest.fixture
def archon_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "archon" / "input", tmp_path / "repo"))


def test_cli_never_colours_a_pipe(archon_dir: Path) -> None:
    proc = subprocess.run([_console_script()], cwd=archon_dir, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "MS001" in proc.stdout
    assert not ANSI.search(proc.stdout + proc.stderr)


def test_cli_on_a_pty_with_no_color_is_plain(archon_dir: Path) -> None:
    code, tty, _, err = run_on_pty([_console_script()], cwd=archon_dir, env=_env(NO_COLOR="1"), tty_err=True)
    assert code == 1, err
    assert "MS001" in tty and not ANSI.search(tty)


def test_cli_on_a_pty_is_coloured(archon_dir: Path) -> None:
    code, tty, _, err = run_on_pty([_console_script()], cwd=archon_dir, env=_env())
    assert code == 1, err
    assert ANSI.search(tty) and "MS001" in ANSI.sub("", tty)
    for secret in ("replace-with-service-role-key", "replace-with-anon-key", "replace-with-mcp-secret"):
        assert secret not in tty
