"""A big run in processes gives the serial run's result, file for file, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod import app as engine
from codemod.app import PARALLEL_MIN, run
from codemod.config import Config

from generate import generate


def test_parallel_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(tmp_path / "repo", PARALLEL_MIN + 50, unrelated=0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "INVOCATIONS_PARALLEL_MIN", 2)  # the compose files and workflows go to processes too
    serial = run(["repo"], Config(), jobs=1)
    parallel = run(["repo"], Config(), jobs=2)
    assert len(serial.findings) > 100
    kinds = {c.kind for c in serial.changes}
    assert {"dockerfile", "compose", "workflow", "envfile"} <= kinds, kinds
    assert parallel.findings == serial.findings
    assert [(c.path, c.old, c.new) for c in parallel.changes] == [(c.path, c.old, c.new) for c in serial.changes]
    assert parallel.errors == serial.errors
    assert parallel.secret_values == serial.secret_values


def test_check_plans_the_same_files_as_a_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # --check stops at the plan (no rewrite, no bytes kept); it must name exactly the files a dry run rewrites
    generate(tmp_path / "repo", 120, unrelated=0)
    for case in sorted((Path(__file__).resolve().parents[1] / "fixtures" / "golden").iterdir()):
        (tmp_path / "repo" / "golden" / case.name).mkdir(parents=True)
        (tmp_path / "repo" / "golden" / case.name / "Dockerfile").write_bytes((case / "input.Dockerfile").read_bytes())
    monkeypatch.chdir(tmp_path)
    dry = run(["repo"], Config(), jobs=1)
    check = run(["repo"], Config(), jobs=1, keep_bytes=False)
    assert [c.path for c in check.changes] == [c.path for c in dry.changes]
    assert check.findings == dry.findings
    assert [c.kind for c in check.changes] == [c.kind for c in dry.changes]
    assert [c.old is None for c in check.changes] == [c.old is None for c in dry.changes]  # new files stay new
    assert all(c.new == b"" and not c.old for c in check.changes)  # no file's bytes are kept
