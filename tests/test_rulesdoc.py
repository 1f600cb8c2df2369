"""Rule docs: the table, ``explain``, and docs/rules/MSxxx.md kept current with the rule modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.output.rulesdoc import (
    GENERATED,
    all_rule_docs,
    explain,
    parse_docstring,
    rule_doc,
    rule_page,
    rules_table,
    write_rule_docs,
)
from codemod.rules import ALL_RULES, DOCKERFILE_RULES, RULE_CODES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules"
CODES = sorted(RULE_CODES.values())


def test_docs_on_disk_are_current(tmp_path: Path) -> None:
    """Regenerate with ``python -m codemod.output.rulesdoc`` when this fails."""
    fresh = {p.name: p.read_text(encoding="utf-8") for p in write_rule_docs(tmp_path)}
    assert sorted(fresh) == [f"{c}.md" for c in CODES]
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("MS*.md"))}
    assert sorted(on_disk) == sorted(fresh), "docs/rules holds pages for unknown codes, or misses some"
    stale = [name for name in fresh if on_disk[name] != fresh[name]]
    assert not stale, f"stale rule docs (run `python -m codemod.output.rulesdoc`): {stale}"


def test_write_rule_docs_leaves_current_files_alone(tmp_path: Path) -> None:
    write_rule_docs(tmp_path)
    page = tmp_path / "MS001.md"
    import os

    old = page.stat().st_mtime_ns - 10**9
    os.utime(page, ns=(old, old))
    write_rule_docs(tmp_path)
    assert page.stat().st_mtime_ns == old
    assert page.read_text(encoding="utf-8") == GENERATED + "\n" + explain("MS001") == rule_page("MS001")


def test_table_lists_every_code_once_with_fix_availability() -> None:
    lines = rules_table().splitlines()
    assert lines[0] == "| Code | Kind | Summary | Fix |"
    rows = [line.split(" | ") for line in lines[2:]]
    assert [r[0].lstrip("| ") for r in rows] == CODES
    for row in rows:
        code, kind, summary, fix = (c.strip("| ") for c in row)
        assert RULE_CODES[kind] == code
        assert summary and "\n" not in summary and not summary.lower().startswith("flags")
        assert fix in ("always", "sometimes", "none")


@pytest.mark.parametrize("rule", DOCKERFILE_RULES, ids=lambda r: r.code)
def test_fix_availability_is_derived_from_the_examples(rule) -> None:  # type: ignore[no-untyped-def]
    with_fix = [c for c in rule.INVALID if c.expected is not None]
    expected = "none" if not with_fix else "always" if len(with_fix) == len(rule.INVALID) else "sometimes"
    assert rule_doc(rule.code).fix_availability == expected
    assert f"| {rule.code} | {rule.KIND} |" in rules_table()
    assert rules_table().split(f"| {rule.code} |")[1].splitlines()[0].endswith(f"| {expected} |")


@pytest.mark.parametrize("rule", DOCKERFILE_RULES, ids=lambda r: r.code)
def test_explain_mirrors_the_rule_docstring_and_an_invalid_example(rule) -> None:  # type: ignore[no-untyped-def]
    page = explain(rule.code)
    parts = parse_docstring(rule.__doc__)
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix", "## References"):
        assert heading in page
    for key in ("What it does", "Why", "Fix"):
        first_words = " ".join(parts[key].split()[1:6])
        assert first_words and first_words in page, (key, first_words)
    example = next((c for c in rule.INVALID if c.expected is not None), rule.INVALID[0])
    assert example.code in page
    if example.expected is not None:
        assert "Use instead" in page and example.expected in page
    else:
        assert "No automatic fix" in page


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.SOURCE != "dockerfile"], ids=lambda r: r.code)
def test_rules_of_other_files_document_their_own_example(rule) -> None:  # type: ignore[no-untyped-def]
    d = rule_doc(rule.code)
    assert not d.implemented and "checker of those files" in explain(rule.code)
    assert d.what and d.why and d.fix and d.references and d.lang != "dockerfile"
    assert d.fix_availability == rule.FIX_AVAILABILITY in ("always", "sometimes", "none")
    before, after = rule.EXAMPLE
    if before:
        assert before in explain(rule.code)
    assert "src=-" not in before + (after or "")


def test_every_code_has_a_rule_with_severity_and_words() -> None:
    assert CODES == [r.CODE for r in ALL_RULES]
    for r in ALL_RULES:
        level, severity = r.SEVERITY
        assert level in ("note", "warning", "error") and 0.1 <= float(severity) <= 10.0
        assert bool(r.WORDS) == (r.SOURCE == "dockerfile"), r.CODE
    assert "src=-` reads a file named `-`" in rule_doc("MS007").fix


def test_lookup_by_code_any_case_or_kind_and_keyerror_for_unknown() -> None:
    assert explain("ms002") == explain("MS002") == explain("env-from-secret-arg")
    for bad in ("MS999", "DL3064", "", "arg-default"):
        with pytest.raises(KeyError):
            explain(bad)


def test_every_doc_has_a_summary_sentence() -> None:
    for d in all_rule_docs():
        assert d.summary[0].isupper() or d.summary[0] == "`", d.code
        assert not d.summary.endswith((".", ":")), d.code
