"""Migrate one Dockerfile: rules -> actions -> edits -> rescanned output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codemod.analysis.flow import analyse
from codemod.config import Config
from codemod.dockerfile.scanner import Dockerfile, ParseError, parse, process_word
from codemod.edits import OverlapError, apply_edits
from codemod.rewrite import plan_edits
from codemod.rules import ALL_RULES
from codemod.rules.base import Action, Context, Hit, Rule

MAX_PASSES = 8


class RewriteError(Exception):
    """The rewrite would not be faithful; the file is left as it was."""


@dataclass
class DockerfileResult:
    hits: list[Hit]
    new: bytes | None  # None: nothing to write
    passes: int = 0
    notes: list[str] = field(default_factory=list)


def check(df: Dockerfile, path: str, config: Config, rules: Sequence[Rule] = ALL_RULES,
          context_dir: Path | None = None) -> list[Hit]:
    ctx = Context(path, analyse(df), config, context_dir)
    hits: list[Hit] = []
    for rule in rules:
        hits.extend(rule.check(ctx))
    hits.sort(key=lambda h: h.finding.sort_key())
    return hits


def migrate(data: bytes, path: str, config: Config, rules: Sequence[Rule] = ALL_RULES,
            context_dir: Path | None = None) -> DockerfileResult:
    """Findings of ``data`` and its migrated bytes. Raises ParseError for a file BuildKit rejects.

    ``context_dir`` is the build context, where committed tool configuration (``.npmrc``) says which
    variables a build step reads without naming them.
    """
    df = parse(data)
    first = check(df, path, config, rules, context_dir)
    hits = first
    current = data
    passes = 0
    while passes < MAX_PASSES:
        actions = [a for h in hits if h.finding.fixable for a in h.actions]
        if not actions:
            break
        passes += 1
        new = _apply(df, actions)
        if new == current:
            break
        df = parse(new)
        current = new
        hits = check(df, path, config, rules, context_dir)
    else:
        raise RewriteError(f"{path}: the rewrite did not settle after {MAX_PASSES} passes")
    return DockerfileResult(first, current if current != data else None, passes)


def _apply(df: Dockerfile, actions: list[Action]) -> bytes:
    try:
        new = apply_edits(df.data, plan_edits(df, actions))
    except OverlapError as e:
        raise RewriteError(str(e)) from None
    try:
        out = parse(new)
    except ParseError as e:
        raise RewriteError(f"the rewritten file would not parse (line {e.line}: {e.reason})") from None
    _check_pairs(df, out, actions)
    return new


def _pairs(df: Dockerfile) -> list[tuple[str, str, str]]:
    return [(ins.effective, kv.key, kv.value) for ins in df.instructions for kv in ins.kvs]


def _check_pairs(before: Dockerfile, after: Dockerfile, actions: list[Action]) -> None:
    """The output's pairs are the input's minus the removed ones, with the set values."""
    removed = {(a.ins_index, a.kv_index) for a in actions if a.op == "remove"}
    sets = {(a.ins_index, a.kv_index): a.text for a in actions if a.op == "set"}
    expected = []
    for i, ins in enumerate(before.instructions):
        for k, kv in enumerate(ins.kvs):
            if (i, k) in removed:
                continue
            value = process_word(sets[(i, k)], before.escape) if (i, k) in sets else kv.value
            expected.append((ins.effective, kv.key, value))
    got = _pairs(after)
    if got != expected:
        missing = [p[1] for p in expected if p not in got]
        extra = [p[1] for p in got if p not in expected]
        raise RewriteError(
            "the rewrite changed pairs it should have kept "
            f"(missing: {', '.join(missing) or '-'}; unexpected: {', '.join(extra) or '-'})"
        )
