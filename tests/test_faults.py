"""Faults (issue: robustness, parts 2 and 4): each gets ``file: reason`` and exit 2, and nothing changes.

"Nothing changes" is a snapshot of every file under the tree (bytes, symlink
targets, directories; ``.git/info`` and ``.git/migrate-secrets`` included) before
and after: no edit, no backup, no stray ``*.migrate-secrets.tmp``, no journal.
The tree always holds a leaky Dockerfile that a clean run would migrate, its
compose file, workflow, Makefile and env example, so a refusal anywhere must
also block every one of those writes (all or nothing per run).

As root, permission bits do not stop writes: read-only cases run three ways,
the immutable attribute (``chattr +i``, skipped where unsupported), a forked
child that drops to ``nobody`` (skipped when not root), and the access check
itself patched (always).
"""

from __future__ import annotations

import errno
import io
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import codemod.write as write_mod
from codemod.app import run
from codemod.config import Config

from conftest import git

LEAKY = b"FROM alpine\nARG DB_PASSWORD=changeme-db-password\nENV DB_PASSWORD=${DB_PASSWORD}\nUSER app\n"
COMPOSE = b"""services:
  app:
    build:
      context: good
      args:
        DB_PASSWORD: ${DB_PASSWORD}
"""
WORKFLOW = b"""on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: good
          build-args: |
            DB_PASSWORD=${{ secrets.DB_PASSWORD }}
"""
MAKEFILE = b"build:\n\tdocker build --build-arg DB_PASSWORD=$(DB_PASSWORD) good\n"
ENV_EXAMPLE = b"# settings\nLOG_LEVEL=info\n"


def tree_snapshot(root: Path) -> dict[str, object]:
    """Every entry under ``root``: file bytes, symlink targets, directories; .git internals except ours."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        parts = rel_dir.parts
        if parts[:1] == (".git",) and parts[1:2] not in (("info",), ("migrate-secrets",)) and len(parts) > 1:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(rel_dir / name)
            if parts == (".git",) and name not in ("info", "migrate-secrets"):
                continue
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = "dir"
            else:
                try:
                    out[rel] = p.read_bytes()
                except OSError as e:
                    out[rel] = ("unreadable", e.errno)
    return out


def assert_untouched(root: Path, before: dict[str, object]) -> None:
    """Nothing changed in the tree, and no backup or journal was left in the state directory."""
    from codemod.write import runs_dir

    base = runs_dir(root)
    left = sorted(p.name for p in base.iterdir()) if base.is_dir() else []
    assert not left, f"runs left in {base}: {left}"
    after = tree_snapshot(root)
    stray = [k for k in after if k not in before]
    assert not stray, f"new entries: {stray}"
    changed = [k for k in before if after.get(k) != before[k]]
    assert not changed, f"changed: {changed}"


def assert_refused(result: tuple[int, str, str], path: str, reason: str) -> None:
    code, out, err = result
    text = out + err
    assert code == 2, text
    assert f"{path}: " in text or f"{path}:" in text, text
    assert reason in text, text
    assert "Traceback" not in text


def _make_tree(root: Path, *, use_git: bool) -> Path:
    (root / "good").mkdir(parents=True)
    (root / "good" / "Dockerfile").write_bytes(LEAKY)
    (root / "good" / ".env.example").write_bytes(ENV_EXAMPLE)
    (root / "compose.yaml").write_bytes(COMPOSE)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "build.yml").write_bytes(WORKFLOW)
    (root / "Makefile").write_bytes(MAKEFILE)
    if use_git:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "fixture")
    return root


@pytest.fixture(params=[True, False], ids=["git", "plain"])
def repo(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = _make_tree(tmp_path / "repo", use_git=request.param)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = _make_tree(tmp_path / "repo", use_git=False)
    monkeypatch.chdir(root)
    return root


def test_the_tree_would_be_migrated_without_the_fault(repo: Path) -> None:
    """Sanity: without a fault the run plans the Dockerfile and its env example (and whatever else it edits)."""
    kinds = {(str(c.path), c.kind) for c in run(["."], Config()).changes}
    assert ("good/Dockerfile", "dockerfile") in kinds
    assert ("good/.env.example", "envfile") in kinds
    print(f"planned without a fault: {sorted(kinds)}")


# --- 4. all or nothing: any refusal blocks every write ---------------------------------------

def _bad_parse(root: Path) -> tuple[str, str]:
    (root / "bad").mkdir()
    (root / "bad" / "Dockerfile").write_bytes(b"FROM alpine\nENV A=1 # B=2\n")
    return "bad/Dockerfile:2", "Syntax error - can't find = in \"#\""


def _bad_binary(root: Path) -> tuple[str, str]:
    (root / "bin").mkdir()
    (root / "bin" / "Dockerfile").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    return "bin/Dockerfile", "binary file"


def _bad_loop(root: Path) -> tuple[str, str]:
    (root / "loop").mkdir()
    (root / "loop" / "Dockerfile").symlink_to("Dockerfile.b")
    (root / "loop" / "Dockerfile.b").symlink_to("Dockerfile")
    return "loop/Dockerfile", "symlink loop"


def _bad_heredoc(root: Path) -> tuple[str, str]:
    (root / "bad").mkdir()
    (root / "bad" / "Dockerfile").write_bytes(b"FROM alpine\r\nARG NPM_TOKEN=changeme-npm\r\nRUN <<EOF\r\nx\r\n")
    return "bad/Dockerfile:3", "unterminated heredoc"


def _bad_long_line(root: Path) -> tuple[str, str]:
    (root / "bad").mkdir()
    (root / "bad" / "Dockerfile").write_bytes(b"FROM alpine\nARG DB_PASSWORD=x\nRUN echo " + b"x" * 70000 + b"\n")
    return "bad/Dockerfile:3", "dockerfile line greater than max allowed size of 65535"


def _bad_utf16(root: Path) -> tuple[str, str]:
    (root / "win").mkdir()
    (root / "win" / "Dockerfile").write_bytes("FROM alpine\r\nARG DB_PASSWORD=x\r\n".encode("utf-16"))
    return "win/Dockerfile", "binary file"


REFUSALS: dict[str, Callable[[Path], tuple[str, str]]] = {
    "parse error": _bad_parse, "binary": _bad_binary, "symlink loop": _bad_loop,
    "unterminated heredoc": _bad_heredoc, "64 KiB line": _bad_long_line, "utf-16": _bad_utf16,
}


@pytest.mark.parametrize("fault", sorted(REFUSALS))
def test_any_refused_file_blocks_every_write(fault: str, repo: Path, cli) -> None:
    path, reason = REFUSALS[fault](repo)
    if (repo / ".git").exists():
        git(repo, "add", "-A")
    before = tree_snapshot(repo)
    result = cli("--apply", ".")
    assert_refused(result, path, reason)
    assert "nothing written" in result[1]
    assert_untouched(repo, before)


@pytest.mark.parametrize("fault", sorted(REFUSALS))
def test_refusal_is_reported_the_same_by_check_and_dry_run(fault: str, plain: Path, cli) -> None:
    path, reason = REFUSALS[fault](plain)
    before = tree_snapshot(plain)
    for mode in ("--check", "--dry-run"):
        assert_refused(cli(mode, "."), path, reason)
    assert_untouched(plain, before)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "diff"])
def test_refusal_is_reported_in_every_format(fmt: str, plain: Path, cli) -> None:
    path, reason = _bad_heredoc(plain)
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "--format", fmt, "."), path, reason)
    assert_untouched(plain, before)


# --- 2. read-only file or directory ---------------------------------------------------------

def _chattr(path: Path, flag: str) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    marked: list[Path] = []

    def mark(p: Path) -> None:
        if not _chattr(p, "+i"):
            pytest.skip("chattr +i is not available on this filesystem")
        marked.append(p)

    yield mark
    for p in reversed(marked):
        _chattr(p, "-i")


@pytest.mark.parametrize("target", ["file", "directory"])
def test_immutable_file_or_directory_is_refused(target: str, plain: Path, immutable, cli) -> None:
    p = plain / "good" / "Dockerfile" if target == "file" else plain / "good"
    immutable(p)
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "."), "good/Dockerfile", "not writable")
    assert_untouched(plain, before)


@pytest.mark.parametrize("target", ["file", "directory"])
def test_access_check_refuses_before_any_write(target: str, plain: Path, monkeypatch: pytest.MonkeyPatch,
                                               cli) -> None:
    """The check path itself (root bypasses permission bits): os.access says no."""
    denied = (plain / "good" / "Dockerfile") if target == "file" else (plain / "good")
    real_access = os.access

    def access(path: object, mode: int, **kw: object) -> bool:
        if mode & os.W_OK and Path(os.fspath(path)).resolve() == denied.resolve():  # type: ignore[arg-type]
            return False
        return real_access(path, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(write_mod.os, "access", access)
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "."), "good/Dockerfile", "not writable")
    assert_untouched(plain, before)


_WARM: list[bool] = []


def _warm_up() -> None:
    """Import every module a run needs before forking: the child (nobody) cannot read /root's site-packages."""
    if _WARM:
        return
    import codemod.cli

    d = Path(tempfile.mkdtemp(prefix="ms-warm-"))
    cwd = os.getcwd()
    state = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(d / "state")  # not nobody's: root would own it
    try:
        root = _make_tree(d / "repo", use_git=False)
        (root / "bad").mkdir()
        (root / "bad" / "Dockerfile").write_bytes(b"FROM alpine\nENV A=1 # B=2\n")
        os.chdir(root)
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            codemod.cli.main(["--apply", "."])
            (root / "bad" / "Dockerfile").unlink()
            codemod.cli.main(["--apply", "-v", "."])
    finally:
        os.chdir(cwd)
        if state is None:
            del os.environ["XDG_STATE_HOME"]
        else:
            os.environ["XDG_STATE_HOME"] = state
        shutil.rmtree(d, ignore_errors=True)
    _WARM.append(True)


def _run_as_nobody(cwd: Path, args: list[str]) -> tuple[int, str, str]:
    """The CLI in a forked child that dropped to uid/gid 65534 (modules imported before the fork)."""
    import codemod.cli

    _warm_up()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 99
        try:
            os.close(rfd)
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                code = codemod.cli.main(args)
            os.write(wfd, (out.getvalue() + "\0" + err.getvalue()).encode("utf-8", "surrogateescape"))
        except BaseException as e:  # noqa: BLE001
            os.write(wfd, f"\0child failed: {e!r}".encode())
            code = 98
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    deadline = time.monotonic() + 60
    while True:
        ready, _, _ = select.select([rfd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:  # a child stuck on a lock inherited through fork: do not hang the suite
            os.kill(pid, signal.SIGKILL)
            break
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    out, _, err = b"".join(chunks).decode("utf-8", "replace").partition("\0")
    return os.waitstatus_to_exitcode(status), out, err


@pytest.fixture
def nobody_tree(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody")
    d = Path(tempfile.mkdtemp(prefix="ms-faults-"))
    try:
        os.chmod(d, 0o755)
        (d / "state").mkdir()
        os.chown(d / "state", 65534, 65534)
        monkeypatch.setenv("XDG_STATE_HOME", str(d / "state"))  # nobody's own state directory
        root = _make_tree(d / "repo", use_git=False)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames, "."]:
                os.chown(Path(dirpath) / name, 65534, 65534)
        yield root
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_as_nobody_a_writable_tree_is_migrated(nobody_tree: Path) -> None:
    """The harness itself: as nobody, the same tree migrates (exit 0)."""
    code, out, err = _run_as_nobody(nobody_tree, ["--apply", "."])
    assert code == 0, out + err
    assert b"changeme" not in (nobody_tree / "good" / "Dockerfile").read_bytes()


@pytest.mark.parametrize("target", ["file", "directory"])
def test_as_nobody_read_only_file_or_directory_is_refused(target: str, nobody_tree: Path) -> None:
    if target == "file":
        os.chmod(nobody_tree / "good" / "Dockerfile", 0o444)
    else:
        os.chmod(nobody_tree / "good", 0o555)
    before = tree_snapshot(nobody_tree)
    assert_refused(_run_as_nobody(nobody_tree, ["--apply", "."]), "good/Dockerfile", "not writable")
    assert_untouched(nobody_tree, before)


def test_as_nobody_read_only_tree_root_still_leaves_files_consistent(nobody_tree: Path) -> None:
    """The tree root read-only (no new env example there): refused or written whole, never half."""
    os.chmod(nobody_tree, 0o555)
    before = tree_snapshot(nobody_tree)
    code, out, err = _run_as_nobody(nobody_tree, ["--apply", "."])
    if code == 2:
        assert_untouched(nobody_tree, before)
    else:
        assert code == 0, out + err
        assert b"changeme" not in (nobody_tree / "good" / "Dockerfile").read_bytes()


def test_as_nobody_read_only_state_directory_writes_nothing(nobody_tree: Path) -> None:
    """No place for the backups and the journal: nothing is written (a migration always has its way back)."""
    state = Path(os.environ["XDG_STATE_HOME"])
    os.chmod(state, 0o555)
    before = tree_snapshot(nobody_tree)
    code, out, err = _run_as_nobody(nobody_tree, ["--apply", "."])
    assert code == 2 and "backup directory" in err and "nothing changed" in err, out + err
    assert_untouched(nobody_tree, before)


# --- 2. full disk (ENOSPC) at every write step -------------------------------------------------

def _count_fsyncs(root: Path, monkeypatch: pytest.MonkeyPatch, cli) -> int:
    calls = {"n": 0}
    real = os.fsync

    def counting(fd: int) -> None:
        calls["n"] += 1
        real(fd)

    monkeypatch.setattr(write_mod.os, "fsync", counting)
    code, out, err = cli("--apply", ".")
    assert code == 0, out + err
    monkeypatch.setattr(write_mod.os, "fsync", real)
    return calls["n"]


def _fresh(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = _make_tree(tmp_path / name, use_git=False)
    (root / "second").mkdir()
    (root / "second" / "Dockerfile").write_bytes(LEAKY.replace(b"DB_PASSWORD", b"API_TOKEN"))
    monkeypatch.chdir(root)
    return root


def _fail_at(n: int, real: Callable[..., None], err: int) -> Callable[..., None]:
    """``real``, except that its ``n``-th call raises OSError(``err``) (naming the paths, as the OS would)."""
    calls = {"n": 0}

    def wrapped(*args: object) -> None:
        calls["n"] += 1
        if calls["n"] == n:
            paths = [a for a in args if isinstance(a, str | os.PathLike)]
            raise OSError(err, os.strerror(err), *(paths[:1] + [None] + paths[1:2] if paths else []))
        real(*args)

    return wrapped


def test_full_disk_at_each_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """ENOSPC from fsync at the 1st, 2nd, ... call (backups, then the journal, then the files)."""
    total = _count_fsyncs(_fresh(tmp_path, "count", monkeypatch), monkeypatch, cli)
    assert total >= 5
    failures = 0
    real = os.fsync
    for n in range(1, total + 1):
        root = _fresh(tmp_path, f"n{n}", monkeypatch)
        before = tree_snapshot(root)
        monkeypatch.setattr(write_mod.os, "fsync", _fail_at(n, real, errno.ENOSPC))
        code, out, err = cli("--apply", ".")
        monkeypatch.setattr(write_mod.os, "fsync", real)
        assert code == 2, (n, code, out, err)  # backups, journal and files alike: all or nothing
        failures += 1
        assert "No space left on device" in err, (n, out, err)
        assert_untouched(root, before)
    assert failures == total


def test_failed_replace_at_each_step_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """os.replace failing (ENOSPC on the rename, EXDEV, EIO) at each call."""
    real = os.replace
    for n in range(1, 7):
        root = _fresh(tmp_path, f"r{n}", monkeypatch)
        before = tree_snapshot(root)
        monkeypatch.setattr(write_mod.os, "replace", _fail_at(n, real, errno.EIO))
        code, out, err = cli("--apply", ".")
        monkeypatch.setattr(write_mod.os, "replace", real)
        assert code == 2, (n, out, err)
        assert os.strerror(errno.EIO) in err
        assert_untouched(root, before)


def test_full_disk_message_names_the_file(plain: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(write_mod.os, "fsync", full)
    code, _, err = cli("--apply", ".")
    assert code == 2
    named = err.split(":", 2)[1].strip().removesuffix(" (its backup)")
    assert (plain / named).is_file(), err  # the file being written, as the user knows it
    assert ".migrate-secrets.tmp" not in err and "?:" not in err and "nothing changed" in err


def test_disk_that_stays_full_does_not_leave_files_half_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  cli) -> None:
    root = _fresh(tmp_path, "full", monkeypatch)
    before = tree_snapshot(root)
    real_write, real_fsync = write_mod.atomic_write, os.fsync
    state = {"full": False}

    def write(target: Path, data: bytes, *, like: os.stat_result | None = None, private: bool = False) -> None:
        real_write(target, data, like=like, private=private)
        if not private:
            state["full"] = True  # the disk fills up right after the first file was replaced

    def fsync(fd: int) -> None:
        if state["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(write_mod, "atomic_write", write)
    monkeypatch.setattr(write_mod.os, "fsync", fsync)
    code, _, err = cli("--apply", ".")
    monkeypatch.setattr(write_mod, "atomic_write", real_write)
    monkeypatch.setattr(write_mod.os, "fsync", real_fsync)
    assert code == 2
    after = tree_snapshot(root)
    half = [k for k in before if after.get(k) != before[k]]
    # either nothing changed, or the message owns up and the backup of each changed file is still there
    assert not half or ("nothing changed" not in err and "rollback --force" in err), (half, err)


def test_lost_journal_is_reported(plain: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    real = write_mod.atomic_write

    def no_journal(target: Path, data: bytes, *, like: os.stat_result | None = None, private: bool = False) -> None:
        if target.name == "journal.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        real(target, data, like=like, private=private)

    before = tree_snapshot(plain)
    monkeypatch.setattr(write_mod, "atomic_write", no_journal)
    code, out, err = cli("--apply", ".")
    # the journal is written before any file: without it nothing is, so a rollback is always possible
    assert code == 2, out + err
    assert "rollback journal" in err and "nothing changed" in err
    assert_untouched(plain, before)


# --- 2. a file replaced or edited between read and write --------------------------------------

def _hook_after_run(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` after the engine read every file and before the CLI writes."""
    import codemod.app as engine

    real_run = engine.run

    def run_then(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        result = real_run(*args, **kwargs)
        action()
        return result

    monkeypatch.setattr(engine, "run", run_then)


@pytest.mark.parametrize("how", ["edited", "replaced", "deleted", "truncated"])
def test_file_changed_between_read_and_write(how: str, plain: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    target = plain / "good" / "Dockerfile"

    def meddle() -> None:
        if how == "edited":
            with open(target, "ab") as fh:
                fh.write(b"# edited meanwhile\n")
        elif how == "replaced":
            tmp = target.with_name("new")
            tmp.write_bytes(LEAKY.replace(b"USER app", b"USER root"))
            os.replace(tmp, target)
        elif how == "deleted":
            target.unlink()
        else:
            target.write_bytes(b"")

    _hook_after_run(monkeypatch, meddle)
    expected_reason = "No such file or directory" if how == "deleted" else "changed on disk since it was read"
    result = cli("--apply", ".")
    # the snapshot to compare with is the tree as the meddler left it
    monkeypatch.undo()
    monkeypatch.chdir(plain)
    assert_refused(result, "good/Dockerfile", expected_reason)
    assert not list(plain.rglob("*.migrate-secrets.tmp"))
    assert (plain / "good" / ".env.example").read_bytes() == ENV_EXAMPLE


def test_file_edited_while_writing_restores_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       cli) -> None:
    """Another file is edited after the backups were written: the run stops, backups go, files stay."""
    root = _fresh(tmp_path, "race", monkeypatch)
    other = root / "second" / "Dockerfile"
    real = write_mod.atomic_write
    state = {"done": False}

    def racing(target: Path, data: bytes, *, like: os.stat_result | None = None, private: bool = False) -> None:
        real(target, data, like=like, private=private)
        if private and not state["done"]:  # a backup
            state["done"] = True
            with open(other, "ab") as fh:
                fh.write(b"# someone else\n")

    monkeypatch.setattr(write_mod, "atomic_write", racing)
    before_other = LEAKY.replace(b"DB_PASSWORD", b"API_TOKEN") + b"# someone else\n"
    code, out, err = cli("--apply", ".")
    assert code == 2, out + err
    assert "second/Dockerfile" in err and "changed on disk" in err
    assert other.read_bytes() == before_other
    assert (root / "good" / "Dockerfile").read_bytes() == LEAKY
    assert (root / "good" / ".env.example").read_bytes() == ENV_EXAMPLE
    assert not list(root.rglob("*.backup-*")) and not list(root.rglob("*.migrate-secrets.tmp"))


def test_env_example_created_by_someone_else_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       cli) -> None:
    root = _fresh(tmp_path, "created", monkeypatch)
    _hook_after_run(monkeypatch, lambda: (root / "second" / ".env.example").write_bytes(b"MINE=1\n"))
    code, out, err = cli("--apply", ".")
    assert code == 2, out + err
    assert "second/.env.example" in err and "created by someone else" in err
    assert (root / "second" / ".env.example").read_bytes() == b"MINE=1\n"
    assert (root / "good" / "Dockerfile").read_bytes() == LEAKY
    assert not list(root.rglob("*.backup-*"))


# --- 2. symlink loop, directory named Dockerfile, size cap, long line, binary ----------------

def test_symlink_loop_found_by_the_walk(repo: Path, cli) -> None:
    path, reason = _bad_loop(repo)
    if (repo / ".git").exists():
        git(repo, "add", "-A")
    before = tree_snapshot(repo)
    assert_refused(cli("--apply", "."), path, reason)
    assert_untouched(repo, before)


def test_symlink_loop_named_after_another_path(plain: Path, cli) -> None:
    _bad_loop(plain)
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "good", "loop/Dockerfile"), "loop/Dockerfile", "symbolic links")
    assert_untouched(plain, before)


def test_symlink_loop_named_first(plain: Path, cli) -> None:
    _bad_loop(plain)
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "loop/Dockerfile", "good"), "loop/Dockerfile", "symbolic links")
    assert_untouched(plain, before)


def test_directory_named_dockerfile(repo: Path, cli) -> None:
    (repo / "d" / "Dockerfile").mkdir(parents=True)
    (repo / "d" / "Dockerfile" / "notes.txt").write_text("x\n")
    before = tree_snapshot(repo)
    assert_refused(cli("--apply", "d/Dockerfile", "good"), "d/Dockerfile", "is a directory")
    assert_untouched(repo, before)
    # found by the walk it is a directory, not a file: no crash, the rest is migrated
    code, out, err = cli("--apply", ".")
    assert code == 0, out + err


def test_file_over_the_default_size_cap(plain: Path, cli) -> None:
    big = plain / "big" / "Dockerfile"
    big.parent.mkdir()
    with open(big, "wb") as fh:
        fh.write(b"FROM alpine\nARG DB_PASSWORD=changeme-db-password\n")
        fh.truncate(10 * 1024 * 1024 + 1)  # sparse: NUL bytes past the cap
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "."), "big/Dockerfile", "over the 10485760-byte cap")
    assert_untouched(plain, before)


def test_size_cap_boundary_is_configurable(plain: Path, cli) -> None:
    cap = max(p.stat().st_size for p in plain.rglob("*") if p.is_file()) + 64
    (plain / ".migrate-secrets.toml").write_text(f"max-file-size = {cap}\n")
    at_cap, over = plain / "at" / "Dockerfile", plain / "over" / "Dockerfile"
    for f, size in ((at_cap, cap), (over, cap + 1)):
        f.parent.mkdir()
        pad = size - len(LEAKY) - 3
        f.write_bytes(LEAKY + b"# " + b"x" * pad + b"\n")
        assert f.stat().st_size == size
    before = tree_snapshot(plain)
    code, out, err = cli("--apply", ".")
    assert_refused((code, out, err), "over/Dockerfile", f"over the {cap}-byte cap (max-file-size)")
    assert "error: at/Dockerfile" not in out + err
    assert_untouched(plain, before)
    over.unlink()
    code, out, err = cli("--apply", ".")
    assert code == 0, out + err
    assert b"changeme" not in at_cap.read_bytes()


@pytest.mark.parametrize(("length", "refused"), [(65535, False), (65536, True), (1 << 20, True)])
def test_long_line_boundary(length: int, refused: bool, plain: Path, cli) -> None:
    f = plain / "long" / "Dockerfile"
    f.parent.mkdir()
    # `echo` consumes nothing it does not name: the RUN keeps its length (a step that may read the token
    # would get a mount, and a line at the limit would then be too long to rewrite)
    f.write_bytes(b"FROM alpine\nARG API_TOKEN=changeme-api-token\nRUN echo " + b"x" * (length - 9) + b"\n")
    before = tree_snapshot(plain)
    result = cli("--apply", ".")
    if refused:
        assert_refused(result, "long/Dockerfile:3", "dockerfile line greater than max allowed size of 65535")
        assert_untouched(plain, before)
    else:
        assert result[0] == 0, result
        assert b"changeme" not in f.read_bytes() and f.read_bytes().endswith(b"echo " + b"x" * (length - 9) + b"\n")


@pytest.mark.parametrize("name", ["Dockerfile", "Containerfile", "app.Dockerfile", "Dockerfile.prod"])
@pytest.mark.parametrize("blob", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\x1f\x8b\x08\x00\x00\x00\x00\x00"],
                         ids=["png", "gzip"])
def test_binary_file_with_a_dockerfile_name(name: str, blob: bytes, plain: Path, cli) -> None:
    (plain / "bin").mkdir()
    (plain / "bin" / name).write_bytes(blob + os.urandom(64))
    before = tree_snapshot(plain)
    assert_refused(cli("--apply", "."), f"bin/{name}", "binary file")
    assert_untouched(plain, before)


# --- 2. a path outside the repository through a symlink: not followed ------------------------

@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "Dockerfile").write_bytes(LEAKY)
    return d


def test_symlink_leading_outside_is_not_followed_by_the_walk(repo: Path, outside: Path, cli) -> None:
    (repo / "ext").mkdir()
    (repo / "ext" / "Dockerfile").symlink_to(outside / "Dockerfile")
    (repo / "vendor").symlink_to(outside)
    if (repo / ".git").exists():
        git(repo, "add", "-A")
    code, out, err = cli("-v", "--apply", ".")
    assert code == 0, out + err
    assert "symlink leads outside" in err and "ext/Dockerfile" in err
    assert (outside / "Dockerfile").read_bytes() == LEAKY
    assert sorted(p.name for p in outside.iterdir()) == ["Dockerfile"]


@pytest.mark.parametrize("arg", ["ext/Dockerfile", "vendor/Dockerfile", "vendor"])
def test_symlink_leading_outside_named_as_a_path_is_refused(arg: str, tmp_path: Path, outside: Path,
                                                            monkeypatch: pytest.MonkeyPatch, cli) -> None:
    repo = _make_tree(tmp_path / "repo", use_git=True)
    (repo / "ext").mkdir()
    (repo / "ext" / "Dockerfile").symlink_to(outside / "Dockerfile")
    (repo / "vendor").symlink_to(outside)
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)
    before = tree_snapshot(repo)
    code, out, err = cli("--apply", arg)
    assert (outside / "Dockerfile").read_bytes() == LEAKY
    assert sorted(p.name for p in outside.iterdir()) == ["Dockerfile"]
    assert code == 2 and "outside" in out + err
    assert_untouched(repo, before)
