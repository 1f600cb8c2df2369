"""Every rule's own VALID/INVALID examples, run through the real pipeline."""

from __future__ import annotations

import pytest

from codemod.config import Config
from codemod.fix.dockerfile import KEPT_ENV_COMMENT, SECURE_BLOCK
from codemod.fix.loop import migrate
from codemod.model import RULE_CODES
from codemod.rules import ALL_RULES
from codemod.rules.base import Invalid, Rule

VALID = [pytest.param(r, code, id=f"{r.code}-valid-{i}") for r in ALL_RULES for i, code in enumerate(r.VALID)]
INVALID = [pytest.param(r, case, id=f"{r.code}-invalid-{i}") for r in ALL_RULES for i, case in enumerate(r.INVALID)]


def _strip_comments_we_add(data: bytes) -> bytes:
    drop = {line.encode() for line in SECURE_BLOCK} | {KEPT_ENV_COMMENT.encode()}
    return b"".join(line for line in data.splitlines(keepends=True) if line.rstrip(b"\r\n") not in drop)


@pytest.mark.parametrize(("rule", "code"), VALID)
def test_valid(rule: Rule, code: str) -> None:
    result = migrate(code.encode(), "Dockerfile", Config(), rules=(rule,))
    assert [h.finding for h in result.hits] == []
    assert result.new is None


@pytest.mark.parametrize(("rule", "case"), INVALID)
def test_invalid(rule: Rule, case: Invalid) -> None:
    result = migrate(case.code.encode(), "Dockerfile", Config())
    mine = [h.finding for h in result.hits if h.finding.kind == rule.KIND]
    assert mine, "the rule must report its INVALID example"
    assert case.line in [f.line for f in mine]
    if case.variable:
        assert case.variable in [f.variable for f in mine]
    for f in mine:
        assert f.message and f.rule == rule.code
    if case.expected is not None:
        assert result.new is not None
        assert _strip_comments_we_add(result.new).decode() == case.expected
    else:
        assert all(not f.fixable for f in mine)


def test_one_code_per_kind_and_every_rule_has_examples() -> None:
    assert len(set(RULE_CODES.values())) == len(RULE_CODES)
    for rule in ALL_RULES:
        assert rule.VALID and rule.INVALID, rule.code
        assert rule.__doc__ and "What it does" in rule.__doc__ and "Fix" in rule.__doc__
    codes = [r.code for r in ALL_RULES]
    assert codes == sorted(codes)


@pytest.mark.parametrize(("fmt", "value"), __import__("test_values").KNOWN)
def test_a_known_format_is_found_under_any_name(fmt: str, value: str) -> None:
    # the cheap look before the rules must never hide a catalogued token under a plain name
    value = value.replace("\n", " ")
    data = f'FROM a\nENV BUILD_LABEL="{value}"\n'.encode()
    kinds = {h.finding.kind for h in migrate(data, "Dockerfile", Config()).hits}
    assert kinds & {"env-literal-secret", "credential-in-value"}, fmt
