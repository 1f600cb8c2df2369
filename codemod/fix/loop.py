"""The fix loop for one Dockerfile (ruff's ``fix_file``): rules -> fixes -> edits -> rescan, until nothing
changes; every output checked before anything is written (:mod:`codemod.fix.checks`).

Fixes whose edits overlap one already taken in a pass wait for the next pass; a pass that would not
parse, or an output that fails a check, leaves the whole file as it was and its findings go to a human
(ruff's "Reverting all changes").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from codemod.analysis.contextfiles import EMPTY, ContextFiles, read_context
from codemod.analysis.flow import Flow, analyse
from codemod.config import Config
from codemod.dockerfile.instructions import check_instructions
from codemod.dockerfile.scanner import Dockerfile, ParseError, parse
from codemod.fix.apply import OverlapError, apply_edits
from codemod.fix.checks import RewriteError, check_pairs, check_runs, check_served
from codemod.fix.dockerfile import plan_edits
from codemod.model import Action, Hit, InlineEnv, Mount
from codemod.rules import DOCKERFILE_RULES, migration, trigger_pattern
from codemod.rules.base import Context, Rule
from codemod.rules.pragmas import suppressions

__all__ = ["MAX_PASSES", "DockerfileResult", "RewriteError", "check", "migrate"]

MAX_PASSES = 8


@dataclass
class DockerfileResult:
    hits: list[Hit]
    new: bytes | None  # None: nothing to write
    passes: int = 0
    notes: list[str] = field(default_factory=list)
    before: Dockerfile | None = field(default=None, repr=False)
    after: Dockerfile | None = field(default=None, repr=False)
    #: the analysis of ``before`` the rules read (None when they did not run): the caller need not redo it
    flow: Flow | None = field(default=None, repr=False, compare=False)


def _maybe_secret(data: bytes, config: Config, rules: Sequence[Rule]) -> bool:
    """Could any of ``rules`` find anything here? A cheap look before the analysis, for the trigger words the
    rules declare (:func:`codemod.rules.trigger_pattern`, in the lower-cased bytes: ASCII case folding, as
    ``(?i)`` does for bytes): most files have none."""
    low = data.lower()
    if trigger_pattern(tuple(rules)).search(low):
        return True
    extra = config.extra_secret_words | config.extra_secret_names
    if any(w.lower().encode() in low for w in extra):
        return True
    # a known secret format is a secret under any name: the catalogue decides, not a copy of it
    from codemod.analysis.values import known_format

    return known_format(data.decode("utf-8", "surrogateescape")) is not None


def check(df: Dockerfile, path: str, config: Config, rules: Sequence[Rule] = DOCKERFILE_RULES,
          files: ContextFiles = EMPTY, targets: frozenset[str] = frozenset(),
          keep: Mapping[str, str] | None = None) -> list[Hit]:
    return _check(Context(path, analyse(df), config, files, targets, keep), rules)


def _check(ctx: Context, rules: Sequence[Rule]) -> list[Hit]:
    hits: list[Hit] = []
    for rule in rules:
        hits.extend(rule.check(ctx))
    file_codes, per_line = suppressions(ctx.flow.df)
    if file_codes or per_line:
        for h in hits:
            f = h.finding
            if f.rule in file_codes or f.rule in per_line.get(f.line - 1, ()) or "ALL" in file_codes:
                h.finding = replace(f, suppressed=True, fixable=False)
                h.actions = []
                h.build_secrets = {}
                h.moved = {}
    hits.sort(key=lambda h: h.finding.sort_key())
    return hits


def migrate(data: bytes, path: str, config: Config, rules: Sequence[Rule] = DOCKERFILE_RULES,
            context_dir: Path | None = None, *, plan_only: bool = False,
            keep: Mapping[str, str] | None = None, targets: frozenset[str] = frozenset()) -> DockerfileResult:
    """Findings of ``data`` and its migrated bytes. Raises ParseError for a file BuildKit rejects.

    ``context_dir`` is the build context: its tool configuration (``.npmrc``) says which variables a
    build step reads without naming them, and what COPY takes from it. ``targets`` are the stage names
    other files build (``--target``): their ENV reaches an image someone runs. ``keep`` maps ARG names
    to the reason they must stay as they are (a file that passes the build arg cannot be rewritten):
    their secrets are reported for a human and left unchanged. ``plan_only`` (``--check``) stops at the
    findings: ``new`` is then ``b""`` when a fix is pending, never the rewritten bytes.
    """
    df = parse(data)
    check_instructions(df)  # BuildKit's instruction set: a file it refuses is refused here too
    if not _maybe_secret(data, config, rules):
        return DockerfileResult([], None, 0, before=df)
    files = read_context(context_dir, df)
    flow = analyse(df)
    ctx = Context(path, flow, config, files, targets, keep)
    first = _check(ctx, rules)
    if plan_only:
        pending = any(h.fix.applies() for h in first)
        return DockerfileResult(first, b"" if pending else None, 0, before=df, flow=flow)
    served = _consumers(ctx, first)
    passes = 0
    try:
        current, after, passes = _passes(df, first, path, config, rules, files, targets, keep)
        if current != data:
            check_served(after, check_runs(df, after), served)
    except RewriteError as e:
        for h in first:
            if h.finding.fixable:
                h.finding = replace(h.finding, fixable=False, fix=f"not rewritten: {e}")
                h.actions, h.build_secrets, h.moved = [], {}, {}
        return DockerfileResult(first, None, passes, notes=[f"left unchanged: {e}"], before=df, flow=flow)
    changed = current != data
    return DockerfileResult(first, current if changed else None, passes, before=df,
                            after=after if changed else None, flow=flow)


def _consumers(ctx: Context, hits: list[Hit]) -> list[tuple[int, str, str]]:
    """(RUN, variable, secret id) for each consumer the fixes being applied must keep serving."""
    applied = {a for h in hits if h.fix.applies() for a in h.fix.actions}
    out = []
    for sp in migration.secret_plans(ctx):
        if not sp.ok or not any(a in applied for a in sp.actions):
            continue
        served = {(a.ins, a.var) for a in sp.actions if isinstance(a, Mount)}
        served |= {(a.ins, a.text.split("=", 1)[0]) for a in sp.actions if isinstance(a, InlineEnv)}
        out += [(c.ins, c.var, sp.id) for c in sp.consumers if (c.ins, c.var) in served]
    return out


def _passes(df: Dockerfile, hits: list[Hit], path: str, config: Config, rules: Sequence[Rule],
            files: ContextFiles, targets: frozenset[str], keep: Mapping[str, str] | None
            ) -> tuple[bytes, Dockerfile, int]:
    """Apply the safe fixes pass after pass until nothing changes: (bytes, their scan, passes)."""
    current = df.data
    passes = 0
    while passes < MAX_PASSES:
        fixes = [list(h.fix.actions) for h in hits if h.fix.applies()]
        if not fixes:
            return current, df, passes
        passes += 1
        new, applied = _apply(df, fixes)
        if new == current:
            return current, df, passes
        try:
            out = parse(new)
        except ParseError as e:
            raise RewriteError(f"the rewritten file would not parse (line {e.line}: {e.reason})") from None
        check_pairs(df, out, applied)
        df, current = out, new
        hits = check(df, path, config, rules, files, targets, keep)
    raise RewriteError(f"the rewrite did not settle after {MAX_PASSES} passes")


def _apply(df: Dockerfile, fixes: list[list[Action]]) -> tuple[bytes, list[Action]]:
    """The file with as many fixes as apply together, and their actions: a fix whose edits would overlap
    those already taken waits for the next pass (ruff's ``apply_fixes``)."""
    every = [a for fix in fixes for a in fix]
    try:
        return apply_edits(df.data, plan_edits(df, every)), every
    except OverlapError:
        pass
    taken: list[Action] = []
    new = df.data
    for fix in fixes:
        try:
            new = apply_edits(df.data, plan_edits(df, [*taken, *fix]))
        except OverlapError:
            continue
        taken.extend(fix)
    if not taken:
        raise RewriteError("the fixes of this file overlap each other")
    return new, taken
