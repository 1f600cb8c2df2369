"""A small shell lexer: the simple commands of a shell text, each a list of words with their spans.

It knows quotes, ``$(...)``, ``${...}``, ``${{ ... }}``, backticks, continuations, comments and heredocs,
and it lexes command substitutions as commands of their own (``docker run $(docker build -q ...)``; in a
Makefile ``$$(...)`` and ``$(shell ...)``). Words keep the spans of the text they were read from.

A NUL character is invisible to it: it belongs to no word's text but keeps every span where it was. Views
of quoted strings (:mod:`codemod.invocations.views`) use it to stand for the characters an escape sequence
drops (Groovy's ``\\$`` is the shell's ``$``), so that a view has the length of the original text and its
spans are the original's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEREDOC_WORD = re.compile(r"""(['"]?)([A-Za-z0-9_.-]+)\1""")
_MAKE_SHELL = re.compile(r"\$\(shell[ \t]")


@dataclass
class Word:
    start: int
    end: int
    text: str

    @property
    def bare(self) -> str:
        """The word without quotes around all of it (``"--build-arg"`` -> ``--build-arg``)."""
        t = self.text
        if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
            return t[1:-1]
        return t


class _Lexer:
    def __init__(self, text: str, start: int, end: int, make: bool) -> None:
        self.text, self.end, self.make = text, end, make
        self.i = start
        self.out: list[list[Word]] = []
        self.words: list[Word] = []
        self.heredocs: list[str] = []
        self.wstart: int | None = None
        #: spans of command substitutions met on the way, lexed after the text itself
        self.subs: list[tuple[int, int]] = []

    def flush(self, j: int) -> None:
        if self.wstart is not None:
            self.words.append(Word(self.wstart, j, self.text[self.wstart : j].replace("\0", "")))
            self.wstart = None

    def end_command(self, j: int) -> None:
        self.flush(j)
        if self.words:
            self.out.append(self.words)
        self.words = []

    def run(self) -> list[list[Word]]:
        text, end = self.text, self.end
        while self.i < end:
            c = text[self.i]
            if c == "\\":
                self._backslash()
            elif c in " \t\r":
                self.flush(self.i)
                self.i += 1
            elif c == "\n":
                self.end_command(self.i)
                self.i += 1
                if self.heredocs:
                    self.i = _skip_heredocs(text, self.i, end, self.heredocs)
                    self.heredocs = []
            elif c == "#" and self.wstart is None:
                nl = text.find("\n", self.i, end)
                self.i = end if nl < 0 else nl
            elif self._operator(c):
                self.end_command(self.i)
                self.i += 1
            elif c == "<" and text.startswith("<<", self.i) and not text.startswith("<<<", self.i):
                self.flush(self.i)
                self.i, delim = _heredoc_delimiter(text, self.i + 2, end)
                if delim:
                    self.heredocs.append(delim)
            else:
                self._word_char(c)
        self.end_command(end)
        for a, b in self.subs:
            self.out.extend(commands(text, a, b, make=self.make))
        return self.out

    def _operator(self, c: str) -> bool:
        if c in ";|()":
            return True
        text, i = self.text, self.i
        return c == "&" and not (i > 0 and text[i - 1] in "<>") and not text.startswith("&>", i)

    def _backslash(self) -> None:
        text, i = self.text, self.i
        if text.startswith("\n", i + 1) or text.startswith("\r\n", i + 1):
            self.flush(i)
            self.i += 2 if text[i + 1] == "\n" else 3
            return
        if self.wstart is None:
            self.wstart = i
        self.i += 2

    def _word_char(self, c: str) -> None:
        text, i, end = self.text, self.i, self.end
        if self.wstart is None:
            self.wstart = i
        if c == "'":
            j = text.find("'", i + 1, end)
            self.i = end if j < 0 else j + 1
        elif c == '"':
            self.i = _skip_dquote(text, i + 1, end, self.make, self.subs)
        elif c == "`":
            self.i = _skip_backtick(text, i + 1, end)
            self.subs.append((i + 1, self.i - 1))
        elif c == "$":
            self.i = _skip_dollar(text, i, end, self.make, self.subs)
        else:
            self.i += 1


def commands(text: str, start: int, end: int, *, make: bool) -> list[list[Word]]:
    """Simple commands (lists of words with their spans) of a shell text; continuations join lines.
    Commands inside command substitutions follow the text's own."""
    return _Lexer(text, start, end, make).run()


def _skip_dquote(text: str, i: int, end: int, make: bool, subs: list[tuple[int, int]] | None = None) -> int:
    while i < end:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "$":
            i = _skip_dollar(text, i, end, make, subs)
        elif c == "`":
            j = _skip_backtick(text, i + 1, end)
            if subs is not None:
                subs.append((i + 1, j - 1))
            i = j
        else:
            i += 1
    return end


def _skip_backtick(text: str, i: int, end: int) -> int:
    while i < end:
        if text[i] == "\\":
            i += 2
        elif text[i] == "`":
            return i + 1
        else:
            i += 1
    return end


def _skip_dollar(text: str, i: int, end: int, make: bool, subs: list[tuple[int, int]] | None = None) -> int:
    j = i + 1
    doubled = make and text.startswith("$", j)
    if doubled:
        j += 1  # make's $$ is the shell's $
    if j >= end:
        return end
    if text.startswith("{{", j):
        k = text.find("}}", j + 2, end)
        return end if k < 0 else k + 2
    if text[j] in "({":
        stop = _skip_group(text, j, end, make)
        # a command substitution: $(...) in shell; in make $$(...) or $(shell ...); never $((...))
        is_sub = text[j] == "(" and not text.startswith("((", j) and (
            not make or doubled or _MAKE_SHELL.match(text, i) is not None)
        if is_sub and subs is not None and stop <= end:
            inner = j + 1 + (len("shell ") if make and not doubled else 0)
            subs.append((inner, max(inner, stop - 1)))
        return stop
    return j


def _skip_group(text: str, i: int, end: int, make: bool) -> int:
    close = {"(": ")", "{": "}"}
    stack = [close[text[i]]]
    i += 1
    while i < end and stack:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and stack[-1] == ")":
            j = text.find("'", i + 1, end)
            i = end if j < 0 else j + 1
            continue
        if c == '"':
            i = _skip_dquote(text, i + 1, end, make)
            continue
        if c in close:
            stack.append(close[c])
        elif c == stack[-1]:
            stack.pop()
        i += 1
    return i


def _heredoc_delimiter(text: str, i: int, end: int) -> tuple[int, str]:
    if text.startswith("-", i):
        i += 1
    while i < end and text[i] in " \t":
        i += 1
    m = _HEREDOC_WORD.match(text, i, end)
    if m is None:
        return i, ""
    return m.end(), m.group(2)


def _skip_heredocs(text: str, i: int, end: int, heredocs: list[str]) -> int:
    for delim in heredocs:
        while i < end:
            nl = text.find("\n", i, end)
            stop = end if nl < 0 else nl + 1
            # inside a YAML run block every line carries the block's indentation: compare stripped
            done = text[i:stop].strip() == delim
            i = stop
            if done:
                break
    return i
