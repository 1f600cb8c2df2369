"""Golden fixtures: whole files in, bytes out, compared byte for byte."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from codemod.config import Config
from codemod.dockerfile.scanner import parse
from codemod.fix.apply import apply_edits
from codemod.fix.dockerfile import plan_edits
from codemod.fix.loop import migrate
from codemod.model import SetValue

from goldens import cases, findings_text

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_output_is_the_expected_bytes(case: Path) -> None:
    data = (case / "input.Dockerfile").read_bytes()
    result = migrate(data, "input.Dockerfile", Config())
    out = result.new if result.new is not None else data
    assert out == (case / "expected.Dockerfile").read_bytes()
    assert findings_text(data) == (case / "findings.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_round_trip_through_the_fix_machinery(case: Path) -> None:
    """Every pair of the input set to its own value, through the planner and the one applier: the same bytes.
    (The planner places a value's edit; a wrong span or a lost byte around it would show here.)"""
    data = (case / "input.Dockerfile").read_bytes()
    df = parse(data)
    same = [SetValue(i, k, kv.raw) for i, ins in enumerate(df.instructions) for k, kv in enumerate(ins.kvs)
            if kv.has_value and kv.value_start >= 0]
    assert same or not any(kv.has_value for ins in df.instructions for kv in ins.kvs)
    assert apply_edits(data, plan_edits(df, same)) == data
    assert migrate(data, "input.Dockerfile", Config(), rules=()).new is None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_idempotent(case: Path) -> None:
    expected = (case / "expected.Dockerfile").read_bytes()
    again = migrate(expected, "input.Dockerfile", Config())
    assert again.new is None
    assert not [h for h in again.hits if h.finding.fixable]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lines_outside_edited_instructions_survive_in_order(case: Path) -> None:
    data = (case / "input.Dockerfile").read_bytes()
    out = (case / "expected.Dockerfile").read_bytes()
    df = parse(data)
    editable = set()
    for ins in df.instructions:
        if ins.effective in ("ENV", "ARG", "RUN"):
            editable.update(range(ins.start_line, ins.end_line + 1))
    old_lines = data.split(b"\n")
    sm = difflib.SequenceMatcher(a=old_lines, b=out.split(b"\n"), autojunk=False)
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag in ("delete", "replace"):
            for i in range(i1, i2):
                line = old_lines[i].lstrip(b"\xef\xbb\xbf")
                assert i in editable or line.strip().startswith(b"#") or not line.strip(), (case.name, i + 1)


def test_golden_cases_cover_the_required_shapes() -> None:
    names = {c.name for c in CASES}
    assert {
        "crlf", "bom", "latin1", "comments_in_continuation", "secret_first", "secret_middle", "secret_last",
        "legacy_env", "one_line_multi", "backtick_escape", "heredoc_lookalikes", "onbuild", "multi_stage", "traps",
    } <= names
    # the traps and the heredoc bodies are never findings and never change
    for name in ("traps", "heredoc_lookalikes"):
        case = next(c for c in CASES if c.name == name)
        assert (case / "findings.txt").read_text() == ""
        assert (case / "expected.Dockerfile").read_bytes() == (case / "input.Dockerfile").read_bytes()
