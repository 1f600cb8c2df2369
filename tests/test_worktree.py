"""--apply and rollback in a linked git worktree, whose .git is a file naming its own git directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import git

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = b"FROM alpine:3.20\nARG DB_PASSWORD=hunter2hunter2\nENV DB_PASSWORD=${DB_PASSWORD}\nRUN true\n"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = cwd.parent / "home"  # ~/.local/state/migrate-secrets: the default state directory
    return subprocess.run([sys.executable, "-m", "codemod", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(home)})


def test_apply_and_rollback_in_a_linked_worktree(tmp_path: Path) -> None:
    main = tmp_path / "main"
    main.mkdir()
    (main / "Dockerfile").write_bytes(ORIGINAL)
    git(main, "init", "-q", "-b", "main")
    git(main, "add", "-A")
    git(main, "commit", "-qm", "base")
    wt = tmp_path / "wt"
    git(main, "worktree", "add", "-q", "-b", "fix", str(wt))
    assert (wt / ".git").is_file()

    done = _cli(wt, "--apply")
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert (wt / "Dockerfile").read_bytes() != ORIGINAL
    own = Path(git(wt, "rev-parse", "--absolute-git-dir").strip())
    assert own == (main / ".git" / "worktrees" / "wt").resolve()
    # the journal and the backup sit in the user's state directory, keyed by the worktree's own path
    runs = list((tmp_path / "home/.local/state/migrate-secrets").glob("wt-*/*/journal.json"))
    assert len(runs) == 1 and (runs[0].parent / "files" / "Dockerfile").read_bytes() == ORIGINAL
    assert git(wt, "status", "--porcelain", "--ignored") == " M Dockerfile\n?? .env.example\n"
    assert not (own / "migrate-secrets").exists()
    # the main work tree saw nothing
    assert (main / "Dockerfile").read_bytes() == ORIGINAL and git(main, "status", "--porcelain") == ""

    back = _cli(wt, "rollback")
    assert back.returncode == 0, back.stderr
    assert (wt / "Dockerfile").read_bytes() == ORIGINAL
