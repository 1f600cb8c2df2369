"""Words of a Dockerfile line as BuildKit reads them: spaces as Go's ``unicode.IsSpace``, flags
(``extractBuilderFlags``), words (``parseWords``), ``process_word`` (quotes and escapes of a value), JSON
arrays, and the shell-word lexer that decides whether a line can carry a heredoc.

Ports of BuildKit's own functions (``frontend/dockerfile/parser``); the scanner (:mod:`.scanner`) uses
them to cut instructions and pairs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from codemod.dockerfile.errors import ParseError

# Go's unicode.IsSpace (Python's str.isspace also accepts \x1c-\x1f).
GO_SPACE_CHARS = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


_GO_SPACE = frozenset(GO_SPACE_CHARS)


#: a run of characters that are not Go spaces (a word of :func:`parse_words` without quotes or escapes)
_GO_WORD = re.compile("[^" + GO_SPACE_CHARS + "]+")


ASCII_WS = re.compile(r"[\t\v\f\r ]+")


def is_space(ch: str) -> bool:
    return ch in _GO_SPACE


def lstrip_space(s: str) -> str:
    return s.lstrip(GO_SPACE_CHARS)


def strip_space(s: str) -> str:
    return s.strip(GO_SPACE_CHARS)


@dataclass
class _Word:
    text: str
    start: int  # index into the string the word was split from


def extract_flags(line: str) -> tuple[str, list[str], int]:
    rest = line.lstrip(GO_SPACE_CHARS)
    if not rest.startswith("--"):
        return rest, [], len(line) - len(rest)  # no flag: where the loop stops at once
    return _extract_flags_loop(line)


def _extract_flags_loop(line: str) -> tuple[str, list[str], int]:
    words: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word = ""
    quote = ""
    blank_ok = False
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if is_space(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words, pos
            phase = in_word
        if phase in (in_word, in_quote) and pos == n:
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == in_word:
            if is_space(ch):
                phase = in_spaces
                if word == "--":
                    return line[pos:], words, pos
                if blank_ok or word:
                    words.append(word)
                word = ""
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word += ch
            pos += 1
            continue
        if phase == in_quote:
            if ch == quote:
                phase = in_word
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    phase = in_word
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word += ch
            pos += 1
    return "", words, n


def parse_words(rest: str, escape: str) -> list[_Word]:
    """BuildKit's parseWords: whitespace-split words keeping quotes and escapes."""
    if "'" not in rest and '"' not in rest and escape not in rest:
        # no quote and no escape: a word is a run of non-spaces, exactly what the loop finds
        return [_Word(m.group(), m.start()) for m in _GO_WORD.finditer(rest)]
    return _parse_words_loop(rest, escape)


def _parse_words_loop(rest: str, escape: str) -> list[_Word]:
    words: list[_Word] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word: list[str] = []
    start = 0
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if is_space(ch):
                pos += 1
                continue
            phase = in_word
            start = pos
        if phase in (in_word, in_quote) and pos == n:
            if blank_ok or word:
                words.append(_Word("".join(word), start))
            break
        if phase == in_word:
            if is_space(ch):
                phase = in_spaces
                if blank_ok or word:
                    words.append(_Word("".join(word), start))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            word.append(ch)
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def process_word(s: str, escape: str) -> str:
    """Quote and escape removal as BuildKit's shell lexer does it, variables kept as written."""
    out: list[str] = []
    i, n = 0, len(s)
    try:
        while i < n:
            ch = s[i]
            if ch == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    raise ValueError("unterminated single quote")
                out.append(s[i + 1 : j])
                i = j + 1
            elif ch == '"':
                i += 1
                while True:
                    if i >= n:
                        raise ValueError("unterminated double quote")
                    c = s[i]
                    if c == '"':
                        i += 1
                        break
                    if c == "$":
                        j = _dollar_end(s, i)
                        out.append(s[i:j])
                        i = j
                        continue
                    i += 1
                    if c == escape:
                        if i >= n:
                            continue
                        if s[i] in ('"', "$", escape):
                            c = s[i]
                            i += 1
                    out.append(c)
            elif ch == "$":
                j = _dollar_end(s, i)
                out.append(s[i:j])
                i = j
            else:
                i += 1
                if ch == escape:
                    if i >= n:
                        break
                    ch = s[i]
                    i += 1
                out.append(ch)
    except ValueError:
        return s
    return "".join(out)


def _dollar_end(s: str, i: int) -> int:
    """End of the ``$name`` / ``${...}`` expression at ``s[i] == "$"``."""
    j = i + 1
    if j < len(s) and s[j] == "{":
        depth = 0
        while j < len(s):
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return len(s)
    while j < len(s) and (s[j].isalnum() or s[j] == "_"):
        j += 1
    if j == i + 1 and j < len(s) and (s[j].isdigit() or s[j] in "@*#?$!-"):
        j += 1
    return j


def json_array(rest: str) -> list[str] | None:
    """Exec-form JSON, or None. Raises ParseError for a non-string element."""
    body = lstrip_space(rest)
    if not body.startswith("["):
        return None

    def _reject(_: str) -> object:
        raise ValueError("not JSON")

    try:
        parsed = json.loads(body, parse_constant=_reject)
    except ValueError:
        return None
    if not isinstance(parsed, list):
        return None
    if not all(isinstance(x, str) for x in parsed):
        raise ParseError("when using JSON array syntax, arrays must be comprised of strings only", 0)
    return parsed


def go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 0xDC80 <= ord(ch) <= 0xDCFF:
            out.append("\\x%02x" % (ord(ch) - 0xDC00))
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def shell_words(s: str, raw: bool = True) -> list[str]:
    """Shell-word split with backslash escapes; ``raw`` keeps quotes and escapes."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch in _GO_SPACE:
            if in_word:
                words.append("".join(cur))
                cur = []
                in_word = False
            i += 1
            continue
        in_word = True
        if ch == "'":
            j = s.find("'", i + 1)
            j = n if j < 0 else j
            cur.append(s[i : j + 1] if raw else s[i + 1 : j])
            i = j + 1
        elif ch == '"':
            j = i + 1
            buf: list[str] = []
            while j < n and s[j] != '"':
                if s[j] == "\\" and j + 1 < n:
                    if raw:
                        buf.append(s[j])
                    elif s[j + 1] not in '"$\\':
                        buf.append(s[j])
                    j += 1
                buf.append(s[j])
                j += 1
            cur.append(('"' + "".join(buf) + '"') if raw else "".join(buf))
            i = j + 1
        elif ch == "\\":
            if raw:
                cur.append(ch)
            if i + 1 < n:
                cur.append(s[i + 1])
            i += 2
        else:
            cur.append(ch)
            i += 1
    if in_word:
        words.append("".join(cur))
    return words


class _LexError(Exception):
    pass


def lexes(line: str) -> bool:
    """Does BuildKit's shell lexer split ``line`` without an error (raw quotes and escapes, unset variables
    kept as written)? An unterminated quote or a malformed ``${...}`` anywhere makes the split fail, and a
    line that fails has no heredocs (``RUN <<"EOF" \\`` continued by ``RUN echo "unterminated <<EOF``)."""
    if "'" not in line and '"' not in line and "${" not in line:
        return True  # the only ways to fail
    try:
        _lex_until(line, 0, "")
    except _LexError:
        return False
    return True


def _lex_until(s: str, i: int, stop: str) -> int:
    """Index just after ``stop`` (or the end of ``s`` when ``stop`` is empty); raises :class:`_LexError`."""
    n = len(s)
    while i < n:
        ch = s[i]
        if stop and ch == stop:
            return i + 1
        if ch == "$":
            i = _lex_dollar(s, i + 1)
        elif ch == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise _LexError("unterminated single quote")
            i = j + 1
        elif ch == '"':
            i = _lex_double_quote(s, i + 1)
        elif ch == "\\":
            if i + 1 >= n:
                break  # an escape at the very end is dropped
            i += 2
        else:
            i += 1
    if stop:
        raise _LexError(f"no matching {stop}")
    return n


def _lex_double_quote(s: str, i: int) -> int:
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == '"':
            return i + 1
        if ch == "$":
            i = _lex_dollar(s, i + 1)
        elif ch == "\\" and i + 1 < n and s[i + 1] in '"$\\':
            i += 2
        else:
            i += 1
    raise _LexError("unterminated double quote")


_SPECIAL_PARAMS = frozenset("@*#?-$!0")


def _lex_name(s: str, i: int) -> int:
    """The end of the variable name at ``s[i:]`` (digits, one special parameter, or a word)."""
    n = len(s)
    if i < n and s[i].isdigit():
        while i < n and s[i].isdigit():
            i += 1
        return i
    if i < n and s[i] in _SPECIAL_PARAMS:
        return i + 1
    while i < n and (s[i].isalnum() or s[i] == "_"):
        i += 1
    return i


def _lex_dollar(s: str, i: int) -> int:
    """``s[i - 1]`` is a ``$``: the index after the reference."""
    n = len(s)
    if i >= n or s[i] != "{":
        return _lex_name(s, i)
    i += 1
    if i >= n or s[i] in "{}:":
        raise _LexError("bad substitution")
    i = _lex_name(s, i)
    if i >= n:
        raise _LexError("missing '}'")
    ch = s[i]
    i += 1
    if ch == "}":
        return i
    if ch == ":":
        i += 1  # the modifier after ':' (any character)
        return _lex_until(s, i, "}")
    if ch in "+-?#%":
        return _lex_until(s, i, "}")
    if ch == "/":
        if i < n and s[i] == "/":
            i += 1
        i = _lex_until(s, i, "/")
        return _lex_until(s, i, "}")
    raise _LexError("unsupported modifier")
