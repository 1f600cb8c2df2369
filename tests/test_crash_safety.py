"""Crash safety (issue: robustness, part 3): a real ``--apply`` killed with SIGKILL at random points.

~300 leaky Dockerfiles in a git work tree. After each kill every planned file is
wholly old or wholly new (atomic replace), every backup that exists (in the
state directory, outside the work tree) holds the old bytes, nothing but
``*.migrate-secrets.tmp`` temp files is left over in the tree (their count is
reported), and a rerun of ``--apply`` finishes the job. Seeds are
fixed. Deterministic crash points (``os._exit`` injected at a chosen write) pin
the cases a random kill only sometimes hits.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codemod.app import run
from codemod.config import Config
from codemod.model import FileChange

from conftest import ROOT, git

N_FILES = 300
SEEDS = [11, 23, 37, 41, 59]
TMP_SUFFIX = ".migrate-secrets.tmp"
STAMP = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


def _backups(root: Path) -> dict[str, list[Path]]:
    """Backups of the runs in ``root`` (relative path in the repository -> backup files): in the state directory."""
    from codemod.write import runs_dir

    out: dict[str, list[Path]] = {}
    base = runs_dir(root)
    for run_dir in sorted(base.iterdir()) if base.is_dir() else []:
        assert STAMP.match(run_dir.name), run_dir
        files = run_dir / "files"
        for b in files.rglob("*") if files.is_dir() else []:
            if b.is_file() and not b.name.endswith(TMP_SUFFIX):
                out.setdefault(b.relative_to(files).as_posix(), []).append(b)
    return out


def _dockerfile(i: int) -> bytes:
    shapes = [
        b"FROM alpine\n# the db\nARG DB_PASSWORD=changeme-db-%03d\nENV DB_PASSWORD=${DB_PASSWORD} LOG_LEVEL=info\n"
        b"USER app\n",
        b"FROM node:20\r\nARG NPM_TOKEN\r\nRUN echo $NPM_TOKEN > /dev/null\r\n"
        b"ENV API_TOKEN=replace-with-token-%03d\r\n",
        b"\xef\xbb\xbfFROM python:3.12\nENV LOG_LEVEL=debug \\\n    SECRET_KEY=django-insecure-q9Lm2Zp8Wk5J-%03d \\\n"
        b"    APP_DIR=/app\nCMD [\"python\"]",
    ]
    return shapes[i % len(shapes)] % i


def _template(root: Path, n: int) -> Path:
    for i in range(n):
        d = root / f"svc{i:03d}"
        d.mkdir(parents=True)
        (d / "Dockerfile").write_bytes(_dockerfile(i))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "fixture")
    return root


def _expected(template: Path, n: int) -> dict[str, FileChange]:
    """What a complete run writes, computed in-process: relative path -> change."""
    cwd = os.getcwd()
    os.chdir(template)
    try:
        changes = run(["."], Config()).changes
    finally:
        os.chdir(cwd)
    assert sum(c.kind == "dockerfile" for c in changes) == n
    return {c.path.as_posix(): c for c in changes}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory.mktemp("crash") / "template", N_FILES)


@pytest.fixture(scope="module")
def expected(template: Path) -> dict[str, FileChange]:
    return _expected(template, N_FILES)


#: the deterministic crash points need fewer files
N_SMALL = 40


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FileChange]]:
    root = _template(tmp_path_factory.mktemp("crash-small") / "template", N_SMALL)
    return root, _expected(root, N_SMALL)


def _copy(template: Path, dst: Path) -> Path:
    shutil.copytree(template, dst, symlinks=True)
    return dst


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _apply(cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "codemod.cli", "--apply", "."], cwd=cwd, env=_env(),
                          capture_output=True, timeout=timeout)


def _start(cwd: Path, prelude: str = "") -> subprocess.Popen[bytes]:
    code = prelude + "\nimport sys\nfrom codemod.cli import main\nsys.exit(main(['--apply', '.']))\n"
    return subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _state(root: Path, expected: dict[str, FileChange]) -> dict[str, object]:
    """Check the invariants after a crash; the counts of what is where."""
    old = new = 0
    for rel, c in expected.items():
        p = root / rel
        now = p.read_bytes() if p.exists() else None
        if now == c.old:
            old += 1
        elif now == c.new:
            new += 1
        else:
            raise AssertionError(f"{rel}: neither the old nor the new bytes: {now[:200] if now else now!r}")
    backups = _backups(root)
    for rel, copies in backups.items():
        assert rel in expected and expected[rel].old is not None, copies
        for b in copies:
            assert b.read_bytes() == expected[rel].old, f"incomplete backup {b}"
    temps = [p for p in root.rglob("*") if p.name.endswith(TMP_SUFFIX)]
    known = set(expected) | {p.relative_to(root).as_posix() for p in temps}
    others = [p.relative_to(root).as_posix() for p in root.rglob("*")
              if p.is_file() and ".git" not in p.relative_to(root).parts
              and p.relative_to(root).as_posix() not in known]
    # the originals that were never part of a change are still there and untouched
    assert not others, f"unexpected files: {others[:10]}"
    return {"old": old, "new": new, "backups": sum(map(len, backups.values())), "temps": len(temps)}


def _git_untracked(root: Path) -> list[str]:
    out = git(root, "status", "--porcelain", "--untracked-files=all")
    return [line for line in out.splitlines() if line.startswith("??")]


def _calibrate(template: Path, tmp_path: Path) -> tuple[float, float]:
    """(seconds until the first backup appears, seconds until the run ends) for an uninterrupted run."""
    root = _copy(template, tmp_path / "calibrate")
    t0 = time.monotonic()
    proc = _start(root)
    seen = None
    while proc.poll() is None:
        if seen is None and _backups(root):
            seen = time.monotonic() - t0
        time.sleep(0.001)
    total = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return (seen if seen is not None else total * 0.7), total


def test_sigkill_at_random_points_leaves_files_whole_and_a_rerun_finishes(
        template: Path, expected: dict[str, FileChange], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    first_backup, total = _calibrate(template, tmp_path)
    report = []
    for n, seed in enumerate(SEEDS):
        rng = random.Random(seed)
        root = _copy(template, tmp_path / f"run{seed}")
        proc = _start(root)
        t0 = time.monotonic()
        if n % 3 == 0:  # anywhere in the run
            time.sleep(rng.uniform(0, total))
        else:  # inside the write phase: after the first backup appears
            while proc.poll() is None and not _backups(root):
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, max(total - first_backup, 0.05)))
        killed_at = time.monotonic() - t0
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
        state = _state(root, expected)
        state["seed"], state["killed_at"] = seed, round(killed_at, 3)
        state["killed"] = proc.returncode == -signal.SIGKILL
        state["untracked"] = len(_git_untracked(root))
        rerun = _apply(root)
        assert rerun.returncode in (0, 1), rerun.stderr.decode(errors="replace")
        for rel, c in expected.items():
            if c.kind == "dockerfile":
                assert (root / rel).read_bytes() == c.new, f"seed {seed}: {rel} not migrated by the rerun"
        after = _state(root, expected)
        state["env_missing_after_rerun"] = sum(
            1 for rel, c in expected.items()
            if c.kind != "dockerfile" and (not (root / rel).exists() or (root / rel).read_bytes() != c.new))
        state["temps_after_rerun"] = after["temps"]
        report.append(state)
        shutil.rmtree(root)
    with capsys.disabled():
        print(f"\ncalibration: first backup at {first_backup:.2f}s, run ends at {total:.2f}s")
        for s in report:
            print(f"  {s}")
    assert any(s["killed"] and 0 < s["new"] < len(expected) for s in report) or any(
        s["killed"] and s["backups"] for s in report), "no kill landed inside the write phase"


# --- deterministic crash points: os._exit at a chosen write (SIGKILL semantics: no cleanup) --------

CRASH_AT = """
import os
import codemod.write as w
_real_write, _real_replace = w.atomic_write, os.replace
_n = {{"writes": 0}}
_state = os.environ["XDG_STATE_HOME"]
def _crash(target, data, *, like=None, private=False):
    kind = ("journal" if target.name == "journal.json" else "backup" if str(target).startswith(_state)
            else "env" if target.name.startswith(".env") else "file")
    if kind == {kind!r}:
        _n["writes"] += 1
        if _n["writes"] == {nth}:
            if {mid_temp!r}:
                os.replace = lambda a, b: os._exit(137)
            else:
                os._exit(137)
    return _real_write(target, data, like=like, private=private)
w.atomic_write = _crash
"""


def _crash_run(template: Path, dst: Path, kind: str, nth: int, mid_temp: bool = False) -> Path:
    root = _copy(template, dst)
    proc = _start(root, CRASH_AT.format(kind=kind, nth=nth, mid_temp=mid_temp))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 137, err.decode(errors="replace")
    return root


@pytest.mark.parametrize(("kind", "nth"), [("backup", 20), ("file", 1), ("file", 30)])
def test_crash_at_a_chosen_write_then_rerun(kind: str, nth: int, small: tuple[Path, dict[str, FileChange]],
                                            tmp_path: Path) -> None:
    template, expected = small
    root = _crash_run(template, tmp_path / "r", kind, nth)
    state = _state(root, expected)
    # env examples (and compose files, workflows) are replaced before the Dockerfiles (written last)
    first = sum(1 for c in expected.values() if c.kind != "dockerfile")
    assert state["new"] == (first + nth - 1 if kind == "file" else 0)
    assert state["temps"] == 0
    rerun = _apply(root)
    assert rerun.returncode == 0, rerun.stderr.decode(errors="replace")
    for rel, c in expected.items():
        if c.kind == "dockerfile":
            assert (root / rel).read_bytes() == c.new, rel


def test_rerun_after_a_crash_writes_the_missing_env_examples(small: tuple[Path, dict[str, FileChange]],
                                                             tmp_path: Path) -> None:
    template, expected = small
    root = _crash_run(template, tmp_path / "r", "env", 1)
    # env examples are written before the Dockerfiles: killed at the first one, nothing is migrated yet,
    # so the rerun still sees every Dockerfile and writes every env example
    assert _state(root, expected)["new"] == 0
    assert _apply(root).returncode == 0
    missing = [rel for rel, c in expected.items() if c.kind != "dockerfile"
               and (not (root / rel).exists() or (root / rel).read_bytes() != c.new)]
    assert not missing, f"{len(missing)} env examples never written, e.g. {missing[:3]}"


def test_backups_left_by_a_crash_are_outside_the_work_tree(small: tuple[Path, dict[str, FileChange]],
                                                           tmp_path: Path) -> None:
    template, expected = small
    root = _crash_run(template, tmp_path / "r", "file", 1)
    assert _state(root, expected)["backups"] > 0  # complete, in the state directory
    # nothing new in the tree but the env examples written first: no backup, no temp file
    assert not [line for line in _git_untracked(root) if not line.endswith("/.env.example")][:5]


def test_temp_file_left_by_a_crash_is_cleaned_by_the_rerun(small: tuple[Path, dict[str, FileChange]],
                                                           tmp_path: Path) -> None:
    template, expected = small
    root = _crash_run(template, tmp_path / "r", "file", 3, mid_temp=True)
    state = _state(root, expected)
    first = sum(1 for c in expected.values() if c.kind != "dockerfile")  # written before the Dockerfiles
    assert state["temps"] == 1 and state["new"] == first + 2
    assert _apply(root).returncode == 0
    assert _state(root, expected)["temps"] == 0
