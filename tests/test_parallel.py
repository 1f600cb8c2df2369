"""A big run in processes gives the serial run's result, file for file, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.config import Config
from codemod.engine import PARALLEL_MIN, run

from generate import generate


def test_parallel_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(tmp_path / "repo", PARALLEL_MIN + 50, unrelated=0)
    monkeypatch.chdir(tmp_path)
    serial = run(["repo"], Config(), jobs=1)
    parallel = run(["repo"], Config(), jobs=2)
    assert len(serial.findings) > 100
    assert parallel.findings == serial.findings
    assert [(c.path, c.old, c.new) for c in parallel.changes] == [(c.path, c.old, c.new) for c in serial.changes]
    assert parallel.errors == serial.errors
    assert parallel.secret_values == serial.secret_values
