"""Every rule's own VALID/INVALID examples, run through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.config import Config
from codemod.fix.dockerfile import KEPT_ENV_COMMENT, SECURE_BLOCK
from codemod.fix.loop import migrate
from codemod.rules import ALL_RULES, DOCKERFILE_RULES, RULE_CODES, trigger_pattern
from codemod.rules.base import Invalid, Rule

VALID = [pytest.param(r, code, id=f"{r.code}-valid-{i}") for r in DOCKERFILE_RULES for i, code in enumerate(r.VALID)]
INVALID = [pytest.param(r, case, id=f"{r.code}-invalid-{i}")
           for r in DOCKERFILE_RULES for i, case in enumerate(r.INVALID)]


@pytest.mark.parametrize(("rule", "code"), VALID)
def test_valid(rule: Rule, code: str) -> None:
    result = migrate(code.encode(), "Dockerfile", Config(), rules=(rule,))
    assert [h.finding for h in result.hits] == []
    assert result.new is None


@pytest.mark.parametrize(("rule", "case"), INVALID)
def test_invalid(rule: Rule, case: Invalid) -> None:
    """The rule under test alone reports its example, and its own fixes write ``expected`` byte for byte
    (the plan's comment block aside, which the examples leave out)."""
    result = migrate(case.code.encode(), "Dockerfile", Config(), rules=(rule,))
    mine = [h.finding for h in result.hits]
    assert mine, "the rule must report its INVALID example"
    assert {f.kind for f in mine} == {rule.KIND}
    assert case.line in [f.line for f in mine]
    if case.variable:
        assert case.variable in [f.variable for f in mine]
    for f in mine:
        assert f.message and f.rule == rule.code
    if case.expected is not None:
        assert result.new is not None, [f.fix for f in mine]
        assert _without_secure_block(result.new) == case.expected.encode()
        # nothing is left to fix
        assert migrate(result.new, "Dockerfile", Config(), rules=(rule,)).new is None
    else:
        assert all(not f.fixable for f in mine)
        assert result.new is None


def _without_secure_block(data: bytes) -> bytes:
    """``data`` without the plan's comment block and kept-ENV marker (the examples leave them out); only a
    whole run of the block is taken out, so a stray copy of one of its lines would still show."""
    block = [line.encode() for line in SECURE_BLOCK]
    lines = data.splitlines(keepends=True)
    out: list[bytes] = []
    i = 0
    while i < len(lines):
        if [x.rstrip(b"\r\n") for x in lines[i : i + len(block)]] == block:
            i += len(block)
            continue
        if lines[i].rstrip(b"\r\n") == KEPT_ENV_COMMENT.encode():
            i += 1
            continue
        out.append(lines[i])
        i += 1
    return b"".join(out)


def test_one_code_per_kind_and_every_rule_has_examples() -> None:
    assert len(set(RULE_CODES.values())) == len(RULE_CODES) == len(ALL_RULES)
    for rule in ALL_RULES:
        assert rule.__doc__ and "What it does" in rule.__doc__ and "Fix" in rule.__doc__
        if rule.SOURCE == "dockerfile":
            assert rule.VALID and rule.INVALID, rule.code
        else:
            assert rule.EXAMPLE[0] or rule.FIX_AVAILABILITY == "none", rule.code
    codes = [r.code for r in ALL_RULES]
    assert codes == sorted(codes)


@pytest.mark.parametrize(("rule", "case"), INVALID)
def test_the_prefilter_lets_every_invalid_example_through(rule: Rule, case: Invalid) -> None:
    """A rule whose trigger words miss its own examples would never run: the words are the rule's own."""
    assert trigger_pattern((rule,)).search(case.code.encode().lower()), rule.code


def test_the_registry_is_every_rule_module() -> None:
    import codemod.rules

    files = sorted(p.stem for p in Path(codemod.rules.__file__).parent.glob("ms[0-9][0-9][0-9]_*.py"))
    assert [type(r).__module__.rsplit(".", 1)[1] for r in ALL_RULES] == files


@pytest.mark.parametrize(("fmt", "value"), __import__("test_values").KNOWN)
def test_a_known_format_is_found_under_any_name(fmt: str, value: str) -> None:
    # the cheap look before the rules must never hide a catalogued token under a plain name
    value = value.replace("\n", " ")
    data = f'FROM a\nENV BUILD_LABEL="{value}"\n'.encode()
    kinds = {h.finding.kind for h in migrate(data, "Dockerfile", Config()).hits}
    assert kinds & {"env-literal-secret", "credential-in-value"}, fmt
