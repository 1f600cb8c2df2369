"""discover.real_path is Path.resolve, with directories remembered for one run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemod.discover import forget_real_paths, real_path


def test_real_path_is_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "df").symlink_to("b/Dockerfile")
    (tmp_path / "a" / "up").symlink_to("..")
    (tmp_path / "loop").symlink_to("loop")
    monkeypatch.chdir(tmp_path / "a")
    forget_real_paths()
    cases = [tmp_path / "a" / "b" / "Dockerfile", tmp_path / "link" / "b" / "Dockerfile", tmp_path / "link" / "df",
             tmp_path / "link" / "up" / "link" / "b", tmp_path / "link" / "b" / ".." / "df", tmp_path / "missing" / "x",
             Path("b/Dockerfile"), Path("."), Path("../link/./b"), tmp_path / "link" / "b" / "Dockerfile"]
    for p in cases:
        assert real_path(p) == p.resolve(), p
    assert real_path(tmp_path / "loop") == Path(os.path.realpath(tmp_path / "loop"))  # no RuntimeError


def test_dotdot_after_a_symlink_leaves_from_the_target(tmp_path: Path) -> None:
    # deploy -> infra/deploy: deploy/../app is infra/app, as Path.resolve and the compose CLI read it
    (tmp_path / "infra" / "deploy").mkdir(parents=True)
    (tmp_path / "infra" / "app").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "deploy").symlink_to(tmp_path / "infra" / "deploy")
    forget_real_paths()
    for p in (tmp_path / "deploy" / ".." / "app", tmp_path / "deploy" / ".." / "app" / "Dockerfile"):
        assert real_path(p) == p.resolve()
        assert "infra" in real_path(p).parts


def test_a_new_run_sees_a_changed_symlink(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "ctx").symlink_to(tmp_path / "one")
    forget_real_paths()
    assert real_path(tmp_path / "ctx" / "Dockerfile") == tmp_path.resolve() / "one" / "Dockerfile"
    (tmp_path / "ctx").unlink()
    (tmp_path / "ctx").symlink_to(tmp_path / "two")
    forget_real_paths()  # engine.run does this first
    assert real_path(tmp_path / "ctx" / "Dockerfile") == tmp_path.resolve() / "two" / "Dockerfile"
