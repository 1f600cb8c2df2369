"""Migrate one Dockerfile: rules -> actions -> edits -> rescanned output."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from codemod.analysis.flow import Flow, analyse
from codemod.config import Config
from codemod.dockerfile.scanner import Dockerfile, ParseError, parse, process_word
from codemod.fix.apply import OverlapError, apply_edits
from codemod.fix.dockerfile import plan_edits
from codemod.model import Action, Hit, RemovePair, SetValue
from codemod.rules import ALL_RULES
from codemod.rules.base import Context, Rule
from codemod.rules.pragmas import suppressions

MAX_PASSES = 8


class RewriteError(Exception):
    """The rewrite would not be faithful; the file is left as it was."""


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


def _maybe_secret(data: bytes, config: Config) -> bool:
    """Could any rule find anything here? A cheap look before the analysis: most files have no secret word."""
    low = data.lower()
    if _PREFILTER.search(low):
        return True
    extra = config.extra_secret_words | config.extra_secret_names
    if any(w.lower().encode() in low for w in extra):
        return True
    # a known secret format is a secret under any name: the catalogue decides, not a copy of it
    from codemod.analysis.values import known_format

    return known_format(data.decode("utf-8", "surrogateescape")) is not None


#: searched in the lower-cased bytes (ASCII case folding, as ``(?i)`` does for bytes): a pattern without
#: ``(?i)`` lets the regex engine skip ahead on the first characters, three times faster on a typical file
_PREFILTER = re.compile(
    rb"pass|pwd|pword|psw|secret|token|key|auth|cred|cookie|salt|pin|private|session|api|"
    rb"akia|asia|gh[pousr]_|github_pat|glpat|xox|sk_live|rk_live|sk-|npm_|pypi-|dckr_|eyj|aiza|sg\.|"
    rb"://[^/\s@]*:[^/\s@]*@|bearer|basic|webhook|sig=|"
    # credential files (MS011), named or swept in by `COPY . .`
    rb"netrc|id_rsa|id_dsa|id_ecdsa|id_ed25519|credential|\.env|npmrc|yarnrc|pypirc|service-account|"
    rb"(?m:^[ \t]*(?:onbuild[ \t]+)?(?:copy|add)\b[^\n]*[ \t]\.\/?[ \t])"
)


def check(df: Dockerfile, path: str, config: Config, rules: Sequence[Rule] = ALL_RULES,
          context_dir: Path | None = None, keep: Mapping[str, str] | None = None) -> list[Hit]:
    return _check(df, analyse(df), path, config, rules, context_dir, keep or {})


def _check(df: Dockerfile, flow: Flow, path: str, config: Config, rules: Sequence[Rule],
           context_dir: Path | None, keep: Mapping[str, str]) -> list[Hit]:
    ctx = Context(path, flow, config, context_dir)
    hits: list[Hit] = []
    for rule in rules:
        hits.extend(rule.check(ctx))
    if keep:
        _keep(flow, hits, keep)
    file_codes, per_line = suppressions(df)
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


def _keep(flow: Flow, hits: list[Hit], keep: Mapping[str, str]) -> None:
    """Leave the secrets of the ARGs named in ``keep`` as they are: every fix that removes such an ARG, or
    is about it, goes to a human with the reason (a file that builds the image cannot be rewritten)."""
    arg_pairs = {(p.ins_index, p.kv_index): p.name for p in flow.pairs if p.what == "ARG"}
    for h in hits:
        names = {arg_pairs.get((a.ins, a.kv), "") for a in h.actions if isinstance(a, RemovePair)}
        names.add(h.finding.variable)
        held = sorted(n for n in names if n in keep)
        if held and h.finding.fixable:
            h.finding = replace(h.finding, fixable=False, fix=f"left unchanged: {keep[held[0]]}")
            h.actions, h.build_secrets, h.moved = [], {}, {}


def migrate(data: bytes, path: str, config: Config, rules: Sequence[Rule] = ALL_RULES,
            context_dir: Path | None = None, *, plan_only: bool = False,
            keep: Mapping[str, str] | None = None) -> DockerfileResult:
    """Findings of ``data`` and its migrated bytes. Raises ParseError for a file BuildKit rejects.

    ``keep`` maps ARG names to the reason they must stay as they are (a file that passes the build arg
    cannot be rewritten): their secrets are reported for a human and left unchanged.

    ``context_dir`` is the build context, where committed tool configuration (``.npmrc``) says which
    variables a build step reads without naming them. ``plan_only`` (``--check``) stops at the
    findings: ``new`` is then ``b""`` when a fix is pending, never the rewritten bytes.
    """
    df = parse(data)
    if not _maybe_secret(data, config):
        return DockerfileResult([], None, 0, before=df)
    before = df
    flow = analyse(df)
    keep = keep or {}
    first = _check(df, flow, path, config, rules, context_dir, keep)
    if plan_only:
        pending = any(h.finding.fixable and h.actions for h in first)
        return DockerfileResult(first, b"" if pending else None, 0, before=df, flow=flow)
    hits = first
    current = data
    passes = 0
    try:
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
            hits = check(df, path, config, rules, context_dir, keep)
        else:
            raise RewriteError(f"the rewrite did not settle after {MAX_PASSES} passes")
    except RewriteError as e:
        # ruff's "Reverting all changes": the file stays as it is, its findings go to a human
        for h in first:
            if h.finding.fixable:
                h.finding = replace(h.finding, fixable=False, fix=f"not rewritten: {e}")
                h.actions, h.build_secrets, h.moved = [], {}, {}
        return DockerfileResult(first, None, passes, notes=[f"left unchanged: {e}"], before=before, flow=flow)
    changed = current != data
    return DockerfileResult(first, current if changed else None, passes, before=before,
                            after=df if changed else None, flow=flow)


def _apply(df: Dockerfile, actions: list[Action]) -> bytes:
    try:
        new = apply_edits(df.data, plan_edits(df, actions))
    except OverlapError as e:
        raise RewriteError(str(e)) from None
    try:
        out = parse(new)
    except ParseError as e:
        raise RewriteError(f"the rewritten file would not parse (line {e.line}: {e.reason})") from None
    except UnicodeError as e:  # pragma: no cover - bytes are decoded with surrogateescape
        raise RewriteError(f"the rewritten file would not decode ({e})") from None
    _check_pairs(df, out, actions)
    return new


def _pairs(df: Dockerfile) -> list[tuple[str, str, str]]:
    return [(ins.effective, kv.key, kv.value) for ins in df.instructions for kv in ins.kvs]


def _check_pairs(before: Dockerfile, after: Dockerfile, actions: list[Action]) -> None:
    """The output's pairs are the input's minus the removed ones, with the set values."""
    removed = {(a.ins, a.kv) for a in actions if isinstance(a, RemovePair)}
    sets = {(a.ins, a.kv): a.text for a in actions if isinstance(a, SetValue)}
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
