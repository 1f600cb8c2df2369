"""Env files: committed secrets and live files git does not ignore (design.md section 3, "Values").

The migration moves secrets out of the image into runtime configuration,
usually a compose ``env_file``. That only helps if the live file stays out of
git: a committed ``.env`` holding a real-looking credential is reported
(``committed-env-secret``, "rotate this credential"), and so is a live env file
a compose file names that ``.gitignore`` does not ignore
(``env-file-not-ignored``). Example files (``.env.example``...) are meant to be
committed: they are reported only when they hold a real-looking value.

Lines are parsed as Docker Compose reads them (formats.md section 3):
``KEY=VAL``, ``export KEY=VAL``, single quotes literal, double quotes with
``\\n \\t \\\\`` escapes (both may span lines), ``#`` comments, and an
inline comment after an unquoted value only when a space precedes the ``#``.
Values never appear in messages. Nothing here is fixable by the codemod.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.analysis.names import NameClass, classify_name
from codemod.analysis.values import ValueKind, is_secret_value, known_format
from codemod.model import Finding
from codemod.rules import RULE_CODES

if TYPE_CHECKING:
    from codemod.config import Config

__all__ = [
    "EnvPair",
    "envfile_findings",
    "is_example",
    "is_reference",
    "parse_env",
]

COMMITTED = "committed-env-secret"
NOT_IGNORED = "env-file-not-ignored"

#: Name parts that make an env file an example meant to be committed.
EXAMPLE_PARTS = frozenset({"example", "sample", "template", "dist"})

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_EXPORT = re.compile(r"export[ \t]+")
# Whole value made of references: $X, ${X...}, and GitHub's ${{ secrets.X }} expressions.
_REFERENCES = re.compile(r"(?:\$\{\{[^}]*\}\}|\$\{[^{}]*\}|\$[A-Za-z_][A-Za-z0-9_]*)+")
_FALLBACK = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^{}]*)\}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}


@dataclass(frozen=True)
class EnvPair:
    """One ``KEY=VALUE`` of an env file; ``line`` (1-based) is the line of the key."""

    line: int
    key: str
    value: str
    quote: str  # "", "'" or '"'


def is_example(path: Path | str) -> bool:
    """``.env.example``, ``env.sample``, ``prod.env.template``, ``.env.dist``, ``example.env``."""
    parts = [p.lower() for p in Path(path).name.split(".") if p]
    return any(p in EXAMPLE_PARTS for p in parts)


def is_reference(value: str) -> bool:
    """The whole value only names other variables (``${X}``, ``$X``, ``${{ secrets.X }}``)."""
    return bool(_REFERENCES.fullmatch(value.strip()))


def _unescape_double(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw, flags=re.S)


def _quoted(text: str, start: int, quote: str) -> int:
    """Index of the closing quote, or -1 (a backslash escapes it inside double quotes)."""
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\" and quote == '"':
            i += 2
            continue
        if c == quote:
            return i
        i += 1
    return -1


def parse_env(data: bytes) -> list[EnvPair]:
    """The ``KEY=VALUE`` pairs of an env file (``KEY`` alone, unset, is no pair)."""
    text = data.decode("utf-8", "surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    pairs: list[EnvPair] = []
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].rstrip("\r\n")
        i += 1
        body = line.lstrip(" \t")
        if not body or body.startswith("#"):
            continue
        m = _EXPORT.match(body)
        if m is not None and "=" in body[m.end():]:
            body = body[m.end():]
        key_m = _KEY.match(body)
        if key_m is None:
            continue
        rest = body[key_m.end():].lstrip(" \t")
        if not rest.startswith("="):
            continue
        key = key_m.group()
        value = rest[1:].lstrip(" \t")
        quote = value[:1] if value[:1] in ("'", '"') else ""
        if quote:
            # A quoted value may run over several lines until its closing quote.
            buf = value[1:]
            end = _quoted(buf, 0, quote)
            while end < 0 and i < len(lines):
                buf += "\n" + lines[i].rstrip("\r\n")
                i += 1
                end = _quoted(buf, 0, quote)
            raw = buf if end < 0 else buf[:end]
            value = _unescape_double(raw) if quote == '"' else raw
        else:
            comment = re.search(r"[ \t]#", value)
            if comment is not None:
                value = value[: comment.start()]
            value = value.strip(" \t")
        pairs.append(EnvPair(lineno, key, value, quote))
    return pairs


def _git(repo_root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(
            ["git", "-C", str(repo_root), *args], input=stdin, capture_output=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _in_work_tree(repo_root: Path) -> bool:
    r = _git(repo_root, "rev-parse", "--is-inside-work-tree")
    return r is not None and r.returncode == 0 and r.stdout.strip() == b"true"


def _rel(repo_root: Path, p: Path) -> str | None:
    try:
        return Path(os.path.abspath(p)).relative_to(repo_root).as_posix()
    except ValueError:
        return None


def _tracked(repo_root: Path, rels: Iterable[str]) -> set[str]:
    rels = sorted(set(rels))
    if not rels:
        return set()
    r = _git(repo_root, "ls-files", "-z", "--", *(":(literal)" + p for p in rels))
    if r is None or r.returncode != 0:
        return set()
    return {os.fsdecode(p) for p in r.stdout.split(b"\0") if p}


def _ignored(repo_root: Path, rels: Iterable[str]) -> set[str] | None:
    """Which paths ``.gitignore`` (and info/exclude, core.excludesFile) ignore; None when git cannot say."""
    rels = sorted(set(rels))
    if not rels:
        return set()
    r = _git(repo_root, "check-ignore", "-z", "--stdin", stdin=b"".join(os.fsencode(p) + b"\0" for p in rels))
    if r is None or r.returncode not in (0, 1):
        return None
    return {os.fsdecode(p) for p in r.stdout.split(b"\0") if p}


def _classifier(config: Config | None) -> Callable[[str], NameClass]:
    return config.classify if config is not None else classify_name


def _secret_pairs(data: bytes, config: Config | None) -> list[tuple[EnvPair, str]]:
    """Pairs holding a real-looking secret, with what it looks like (a format name or ``real-looking``)."""
    classify = _classifier(config)
    out: list[tuple[EnvPair, str]] = []
    for pair in parse_env(data):
        # ${X:-fallback}: only the fallback is a value held by this file
        values = _FALLBACK.findall(pair.value) if is_reference(pair.value) else [pair.value]
        for value in values:
            if not value.strip():
                continue
            fmt = known_format(value)
            if fmt is None:
                secret, kind = is_secret_value(classify(pair.key), value)
                if not secret or kind is not ValueKind.REAL:
                    continue
            out.append((pair, fmt or ValueKind.REAL.value))
            break
    return out


def envfile_findings(
    repo_root: Path,
    files: list[tuple[Path, str]],
    compose_env_files: list[Path],
    *,
    config: Config | None = None,
) -> list[Finding]:
    """Findings for the discovered env files ``(path, display)`` and the env files compose names.

    ``committed-env-secret``: a live env file tracked by git holding a
    real-looking secret (a known format, or a real-looking value under a secret
    name), and any example file holding one. ``env-file-not-ignored``: a live
    env file named by compose (``compose_env_files``) that exists or is
    tracked and that git does not ignore. Outside a git work tree nothing is
    committed and nothing is ignored, so only example files are reported.
    """
    root = Path(os.path.abspath(repo_root))
    in_git = _in_work_tree(root)
    rel_of = {Path(os.path.abspath(p)): _rel(root, p) for p, _ in files}
    tracked = _tracked(root, [r for r in rel_of.values() if r]) if in_git else set()
    findings: list[Finding] = []

    for path, display in files:
        rel = rel_of[Path(os.path.abspath(path))]
        example = is_example(path)
        committed = rel is not None and rel in tracked
        if not example and not committed:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for pair, what in _secret_pairs(data, config):
            looks = "a real-looking value" if what == ValueKind.REAL.value else f"a {what} value"
            if example:
                message = (f"{pair.key} holds {looks} in an example file, which is meant to be shared and "
                           f"committed: replace it with an empty value; rotate this credential")
                fix = f"leave {pair.key}= empty in the example; keep real values in the ignored live env file"
            else:
                message = (f"{pair.key} holds {looks} in an env file committed to git: rotate this credential, "
                           f"then remove the file from git and ignore it")
                fix = f"rotate {pair.key}; git rm --cached {display}; add it to .gitignore"
            findings.append(Finding(
                path=display, line=pair.line, variable=pair.key, kind=COMMITTED, code=RULE_CODES[COMMITTED],
                message=message,
                fixable=False, value_class=ValueKind.REAL.value, fix=fix,
            ))

    if in_git:
        findings.extend(_not_ignored(root, files, compose_env_files))
    findings.sort(key=Finding.sort_key)
    return findings


def _not_ignored(root: Path, files: list[tuple[Path, str]], compose_env_files: list[Path]) -> list[Finding]:
    shown = {Path(os.path.abspath(p)): d for p, d in files}
    live: dict[str, Path] = {}
    for p in compose_env_files:
        absolute = Path(os.path.abspath(p))
        rel = _rel(root, absolute)
        if rel is None or is_example(absolute) or rel in live:
            continue
        live[rel] = absolute
    if not live:
        return []
    tracked = _tracked(root, live)
    ignored = _ignored(root, live)
    if ignored is None:
        return []
    out: list[Finding] = []
    for rel, absolute in live.items():
        is_tracked = rel in tracked
        if rel in ignored or not (is_tracked or absolute.is_file()):
            continue
        display = shown.get(absolute) or os.path.relpath(absolute)
        if is_tracked:
            message = (f"{display} is the live env file compose reads (env_file) and it is tracked by git: "
                       f"secrets filled in at deploy time would be committed")
            fix = f"git rm --cached {display}; add it to .gitignore; commit an example file instead"
        else:
            message = (f"{display} is the live env file compose reads (env_file) but .gitignore does not "
                       f"ignore it: secrets filled in at deploy time could be committed")
            fix = f"add {rel} to .gitignore"
        out.append(Finding(
            path=display, line=1, variable=absolute.name, kind=NOT_IGNORED, code=RULE_CODES[NOT_IGNORED],
            message=message,
            fixable=False, fix=fix,
        ))
    return out
