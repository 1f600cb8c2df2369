"""Shell text of a RUN cut into simple commands: words (quotes removed), assignments and redirections.

Enough of POSIX sh for the migration to tell which programs a RUN runs and where it writes: ``;``,
``&&``, ``||``, ``|``, ``&``, newlines, subshells and groups end commands; ``$(...)`` and backquotes
are read as commands of their own; quotes are removed from words but kept in :attr:`Word.raw`.
What it cannot read (an unterminated quote) makes :func:`split_commands` return None, and the
caller then assumes the worst (the RUN may read anything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")
#: redirection operators, longest first; the number before them (2>) is part of the operator
_REDIRECT = re.compile(r"[0-9]*(?:>>|>\||&>>|&>|>&|<<<|<>|>|<)")


@dataclass
class Word:
    raw: str  # as written, quotes included
    text: str  # quotes removed (expansions left as written)


@dataclass
class Command:
    """One simple command: ``NAME=v ... word word ... > file``."""

    assigns: list[Word] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    #: (operator, target word) for each redirection
    redirects: list[tuple[str, Word]] = field(default_factory=list)
    #: the operator that ended it (``&&``, ``|``, ``;``, ``\n``, ``)``... or "" at the end)
    then: str = ""

    @property
    def argv(self) -> list[str]:
        return [w.text for w in self.words]

    @property
    def raw(self) -> str:
        return " ".join(w.raw for w in (*self.assigns, *self.words))


def split_commands(text: str) -> list[Command] | None:
    """The simple commands of ``text`` in order, nested ``$(...)``/backquote commands after their host;
    None when the text cannot be read (an unterminated quote or substitution)."""
    out: list[Command] = []
    try:
        _parse(_join_continuations(text), 0, out)
    except _Unreadable:
        return None
    return out


class _Unreadable(Exception):
    pass


def _join_continuations(text: str) -> str:
    return re.sub(r"\\\r?\n", "", text)


def _parse(text: str, i: int, out: list[Command], close: str = "") -> int:
    """Parse from ``i`` until ``close`` (")" or "`") or the end; append commands to ``out``; return the index
    after ``close``."""
    cmd = Command()
    nested: list[Command] = []
    n = len(text)

    def finish(op: str) -> None:
        nonlocal cmd, nested
        if cmd.words or cmd.assigns or cmd.redirects:
            cmd.then = op
            out.append(cmd)
        out.extend(nested)
        cmd, nested = Command(), []

    pending_redirect: str | None = None
    while i < n:
        c = text[i]
        if close and text.startswith(close, i):
            finish(close)
            return i + len(close)
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if c == "\n" or c == ";":
            finish(c)
            i += 1
            continue
        if c in "&|":
            m = _REDIRECT.match(text, i)
            if c == "&" and m is not None and m.group().startswith("&>"):
                pending_redirect = m.group()
                i = m.end()
                continue
            op = text[i : i + 2] if text[i : i + 2] in ("&&", "||") else c
            finish(op)
            i += len(op)
            continue
        if c in "()" or (c in "{}" and _word_boundary(text, i)):
            finish(c)
            i += 1
            continue
        m = _REDIRECT.match(text, i)
        if m is not None and (not text[i].isdigit() or _word_boundary(text, i)):
            op = m.group()
            i = m.end()
            if op.endswith(("<<", "<<<")) and not op.endswith("<<<"):
                pending_redirect = op
                continue
            if op.endswith("&") and i < n and (text[i].isdigit() or text[i] == "-"):
                i += 1  # 2>&1, >&-: a descriptor, not a file
                continue
            pending_redirect = op
            continue
        word, i = _word(text, i, nested)
        if pending_redirect is not None:
            cmd.redirects.append((pending_redirect, word))
            pending_redirect = None
        elif not cmd.words and _ASSIGN.match(word.raw):
            cmd.assigns.append(word)
        else:
            cmd.words.append(word)
    if close:
        raise _Unreadable(f"missing {close}")
    finish("")
    return i


def _word_boundary(text: str, i: int) -> bool:
    return i == 0 or text[i - 1] in " \t\r\n;&|()"


def _word(text: str, i: int, nested: list[Command]) -> tuple[Word, int]:
    start = i
    parts: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n;&|<>()":
            break
        if c == "\\":
            parts.append(text[i + 1 : i + 2])
            i += 2
            continue
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise _Unreadable("unterminated '")
            parts.append(text[i + 1 : j])
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= n:
                    raise _Unreadable('unterminated "')
                d = text[j]
                if d == '"':
                    break
                if d == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if text.startswith("$(", j) and not text.startswith("$((", j):
                    k = _parse(text, j + 2, nested, ")")
                    buf.append(text[j:k])
                    j = k
                    continue
                if d == "`":
                    k = _parse(text, j + 1, nested, "`")
                    buf.append(text[j:k])
                    j = k
                    continue
                buf.append(d)
                j += 1
            parts.append("".join(buf))
            i = j + 1
            continue
        if text.startswith("$((", i):
            j = text.find("))", i)
            if j < 0:
                raise _Unreadable("unterminated $((")
            parts.append(text[i : j + 2])
            i = j + 2
            continue
        if text.startswith("$(", i):
            k = _parse(text, i + 2, nested, ")")
            parts.append(text[i:k])
            i = k
            continue
        if text.startswith("${", i):
            j = _brace_end(text, i + 2)
            parts.append(text[i:j])
            i = j
            continue
        if c == "`":
            k = _parse(text, i + 1, nested, "`")
            parts.append(text[i:k])
            i = k
            continue
        parts.append(c)
        i += 1
    return Word(text[start:i], "".join(parts)), i


def _brace_end(text: str, i: int) -> int:
    depth = 1
    n = len(text)
    while i < n:
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _Unreadable("unterminated ${")
