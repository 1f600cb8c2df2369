"""Shell text inside quoted strings, as the shell will see it, at the spans of the original.

A view is the whole text with one string's content replaced by what the string's value is, character for
character: an escape sequence becomes the character it stands for, padded with NULs (which the shell lexer
ignores: :mod:`codemod.invocations.shellwords`), and a line break that YAML folds into a space becomes a
space. A view therefore has the original's length, and every span the lexer finds in it is the span to edit
in the original. An edit writes only characters that need no escaping in any of these strings (letters,
digits, ``_-=,.``), so it can go straight into the original.

None means the string holds something a view cannot stand for (a ``\\u`` escape, a flow-style plain
scalar an edit could break): its build args are then blocked, not rewritten.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from codemod.invocations.yamlnodes import block_scalar_lines

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

#: what the shell sees for YAML double-quoted escapes (two characters each)
_YAML_DQ = {"\\\\": "\0\\", '\\"': '\0"', "\\/": "\0/", "\\t": "\0\t", "\\n": "\0;", "\\ ": "\0 "}
#: Groovy escapes in any of its string kinds; ``\\$`` is the shell's ``$``
_GROOVY = {"\\\\": "\0\\", "\\'": "\0'", '\\"': '\0"', "\\$": "\0$", "\\t": "\0\t", "\\n": "\0;"}
_GSTRING_ENV = re.compile(r"\$\{(env\.)[A-Za-z_][A-Za-z0-9_]*\}")


def yaml_view(text: str, node: Node, *, flow: bool) -> tuple[str, int, int] | None:
    """(view, start, end) of a YAML scalar's value; None when no faithful view exists."""
    style = getattr(node, "style", None)
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    if style == "|":
        lines = block_scalar_lines(text, node)
        return (text, lines[0][0], lines[-1][1]) if lines else None
    if style == ">":
        lines = block_scalar_lines(text, node)
        return _folded_block(text, lines) if lines else None
    if style is None and flow:
        return None  # a comma written into a plain scalar of a flow collection would split it
    if style is None:
        view = _fold(text, start, end, {})
    elif style == "'":
        start, end = start + 1, end - 1
        view = _fold(text, start, end, {"''": "\0'"})
    elif style == '"':
        start, end = start + 1, end - 1
        view = _fold(text, start, end, _YAML_DQ, escaped_breaks=True)
    else:
        return None
    return None if view is None else (view, start, end)


def _fold(text: str, start: int, end: int, escapes: dict[str, str], *, escaped_breaks: bool = False
          ) -> str | None:
    """The text with ``[start, end)`` replaced by its flow scalar value's view: escapes mapped, a line break
    followed by a non-empty line folded into a space (YAML's line folding)."""
    out: list[str] = []
    i = start
    while i < end:
        c = text[i]
        if c == "\\" and escaped_breaks and text.startswith(("\n", "\r\n"), i + 1):
            j = text.index("\n", i) + 1
            while j < end and text[j] in " \t":
                j += 1
            out.append("\0" * (j - i))  # an escaped line break joins the lines, indentation dropped
            i = j
            continue
        pair = text[i : i + 2]
        if pair in escapes:
            out.append(escapes[pair])
            i += 2
            continue
        if c == "\\" and escaped_breaks:
            return None  # an escape the view cannot stand for (\x, \u, \0, ...)
        if c == "\n":
            nxt = text.find("\n", i + 1, end)
            following = text[i + 1 : end if nxt < 0 else nxt]
            out.append(" " if following.strip() else "\n")
            i += 1
            continue
        out.append(c)
        i += 1
    return text[:start] + "".join(out) + text[end:]


def _folded_block(text: str, lines: list[tuple[int, int]]) -> tuple[str, int, int]:
    """A ``>`` scalar: a line break between two lines at the block's indentation is a space."""
    indents = [len(text[a:b]) - len(text[a:b].lstrip(" ")) for a, b in lines if text[a:b].strip()]
    base = min(indents) if indents else 0
    chars = list(text[lines[0][0] : lines[-1][1]])
    offset = lines[0][0]
    for (a, b), (c, d) in zip(lines, lines[1:], strict=False):
        here, there = text[a:b], text[c:d]
        plain_here = here.strip() and len(here) - len(here.lstrip(" ")) == base
        plain_there = there.strip() and len(there) - len(there.lstrip(" ")) == base
        nl = b - 1 - offset
        if plain_here and plain_there and chars[nl] == "\n":
            chars[nl] = " "
    return text[: lines[0][0]] + "".join(chars) + text[lines[-1][1] :], lines[0][0], lines[-1][1]


def groovy_view(text: str, start: int, end: int, interpolating: bool) -> str | None:
    """The text with a Groovy string's content ``[start, end)`` as the shell sees it; ``${env.X}`` reads as
    ``${X}`` (the NULs stand for ``env.``). None on an escape the view cannot stand for."""
    out: list[str] = []
    i = start
    while i < end:
        pair = text[i : i + 2]
        if pair in _GROOVY:
            out.append(_GROOVY[pair])
            i += 2
            continue
        if text[i] == "\\" and not text.startswith(("\n", "\r\n"), i + 1):
            return None
        if interpolating:
            m = _GSTRING_ENV.match(text, i, end)
            if m is not None:
                out.append("${" + "\0" * len(m.group(1)) + text[m.end(1) : m.end()])
                i = m.end()
                continue
        out.append(text[i])
        i += 1
    return text[:start] + "".join(out) + text[end:]
