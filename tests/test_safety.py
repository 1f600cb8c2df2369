"""design.md section 5: all or nothing, refusals touch nothing, writes keep what they must."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from codemod.app import run
from codemod.config import Config
from codemod.write import WriteError, apply_changes

from conftest import snapshot

LEAKY = b"FROM alpine\nARG DB_PASSWORD=hunter2hunter2\nENV DB_PASSWORD=${DB_PASSWORD}\nUSER app\n"
CLEAN_EXPECTED_TAIL = b"USER app\n"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "Dockerfile").write_bytes(LEAKY)
    (tmp_path / "b" / "Dockerfile").write_bytes(LEAKY.replace(b"DB_", b"API_").replace(b"PASSWORD", b"TOKEN"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_refused_file_leaves_every_file_byte_identical(tree: Path, cli) -> None:
    (tree / "c").mkdir()
    (tree / "c" / "Dockerfile").write_bytes(b"FROM alpine\nENV A=1 # B=2\n")
    before = snapshot(tree)
    code, out, _ = cli("--apply")
    assert code == 2
    assert "c/Dockerfile:2: Syntax error - can't find = in \"#\"" in out
    assert "nothing written" in out
    assert snapshot(tree) == before
    # the other files were still analysed and reported
    assert "a/Dockerfile:2:1: MS001" in out and "b/Dockerfile:2:1: MS001" in out


def test_exit_codes(tree: Path, cli) -> None:
    assert cli()[0] == 1
    assert cli("--check")[0] == 1
    assert cli("--exit-zero")[0] == 0
    assert cli("--apply")[0] == 0
    assert cli()[0] == 0
    assert cli("--check")[0] == 0
    assert cli("missing-dir")[0] == 2
    assert cli("--dry-run", "--apply")[0] == 2


def test_symlink_is_edited_through_and_kept(tree: Path, cli) -> None:
    link = tree / "a" / "Dockerfile.prod"
    link.symlink_to("Dockerfile")
    assert cli("--apply", "a/Dockerfile.prod")[0] == 0
    assert link.is_symlink() and os.readlink(link) == "Dockerfile"
    assert (tree / "a" / "Dockerfile").read_bytes().endswith(CLEAN_EXPECTED_TAIL)
    assert b"hunter2" not in (tree / "a" / "Dockerfile").read_bytes()


def test_symlink_outside_the_tree_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_bytes(LEAKY)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").symlink_to(outside / "Dockerfile")
    monkeypatch.chdir(repo)
    code, out, _ = cli("--apply", ".")
    assert code == 0 and "0 findings" in out
    assert (outside / "Dockerfile").read_bytes() == LEAKY


def test_mode_is_kept(tree: Path, cli) -> None:
    f = tree / "a" / "Dockerfile"
    os.chmod(f, 0o640)
    assert cli("--apply", "a")[0] == 0
    assert stat.S_IMODE(f.stat().st_mode) == 0o640


def test_file_changed_since_read_is_not_overwritten(tree: Path) -> None:
    result = run(["a", "b"], Config())
    assert sorted(str(c.path) for c in result.changes) == [
        "a/.env.example", "a/Dockerfile", "b/.env.example", "b/Dockerfile"]
    (tree / "b" / "Dockerfile").write_bytes(LEAKY + b"# edited meanwhile\n")
    before = snapshot(tree)
    with pytest.raises(WriteError, match="changed on disk since it was read"):
        apply_changes(result.changes)
    assert snapshot(tree) == before


def test_read_only_directory_refuses_before_writing(tree: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere; covered by the access check below")
    os.chmod(tree / "b", 0o555)
    before = snapshot(tree)
    with pytest.raises(WriteError, match="not writable"):
        apply_changes(run(["a", "b"], Config()).changes)
    assert snapshot(tree) == before


def test_failure_midway_restores_the_files_already_written(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import codemod.write as w

    result = run(["a", "b"], Config())
    before = snapshot(tree)
    real = w.atomic_write
    calls = {"n": 0}

    def flaky(target: Path, data: bytes, *, like: os.stat_result | None = None, private: bool = False) -> None:
        if not private:  # a file of the tree, not a backup or the journal
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device", str(target))
        real(target, data, like=like, private=private)

    monkeypatch.setattr(w, "atomic_write", flaky)
    with pytest.raises(WriteError, match="No space left on device"):
        apply_changes(result.changes)
    monkeypatch.setattr(w, "atomic_write", real)
    assert snapshot(tree) == before


def test_directory_named_dockerfile_and_binary_file(tree: Path, cli) -> None:
    (tree / "d" / "Dockerfile").mkdir(parents=True)
    (tree / "e").mkdir()
    (tree / "e" / "Dockerfile").write_bytes(b"\x7fELF\x00\x00binary")
    code, out, _ = cli("--apply", "d/Dockerfile", "e/Dockerfile", "a")
    assert code == 2
    assert "d/Dockerfile: is a directory" in out
    assert "e/Dockerfile: binary file" in out
    assert (tree / "a" / "Dockerfile").read_bytes() == LEAKY


def test_size_cap_is_configurable(tree: Path, cli) -> None:
    (tree / "pyproject.toml").write_text("[tool.migrate-secrets]\nmax-file-size = 20\n")
    code, out, _ = cli("a")
    assert code == 2 and "over the 20-byte cap" in out


def test_unknown_config_key_is_refused(tree: Path, cli) -> None:
    (tree / ".migrate-secrets.toml").write_text("secret-wrods = ['x']\n")
    code, _, err = cli("a")
    assert code == 2 and "unknown key 'secret-wrods'" in err


def test_line_of_64k_is_refused(tree: Path, cli) -> None:
    (tree / "f").mkdir()
    (tree / "f" / "Dockerfile").write_bytes(b"FROM alpine\nRUN echo " + b"x" * 65536 + b"\n")
    code, out, _ = cli("f")
    assert code == 2 and "f/Dockerfile:2: dockerfile line greater than max allowed size of 65535" in out
