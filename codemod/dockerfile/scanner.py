"""A Dockerfile scanner that reads a file the way BuildKit's parser does.

It follows moby/buildkit ``frontend/dockerfile/parser`` rule for rule (see
``docs/scanner.md``) and adds what a codemod needs and BuildKit throws away:
the byte span of every instruction and of every ENV/ARG/LABEL key and value.
Concatenating the spans and the gaps between them gives the input back.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from codemod.dockerfile.errors import ParseError
from codemod.dockerfile.words import (
    ASCII_WS,
    GO_SPACE_CHARS,
    extract_flags,
    go_quote,
    is_space,
    json_array,
    lexes,
    lstrip_space,
    parse_words,
    process_word,
    shell_words,
    strip_space,
)
from codemod.source import decode, encode, split_lines

__all__ = ["BOM", "MAX_LINE", "Dockerfile", "Heredoc", "Instruction", "KeyValue", "ParseError", "parse",
           "process_word", "parse_words", "is_space", "lstrip_space", "strip_space"]

MAX_LINE = 65535
BOM = b"\xef\xbb\xbf"

_DIRECTIVE = re.compile(r"^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$", re.S)
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$", re.S)
_DIRECTIVE_NAMES = ("syntax", "escape", "check")
_HEREDOC_CMDS = frozenset({"run", "copy", "add"})


def _trim_newline(s: str) -> str:
    return s.rstrip("\r\n")


@dataclass
class Heredoc:
    name: str
    fd: int
    content: str
    expand: bool
    chomp: bool


@dataclass
class KeyValue:
    """One ENV/ARG/LABEL pair. Offsets are bytes into the file, end exclusive.

    ``value_start == value_end`` for an empty value; both are -1 for ``ARG X``.
    """

    key: str
    raw: str
    value: str
    has_value: bool
    legacy: bool
    start: int
    key_end: int
    value_start: int
    value_end: int
    line: int  # 0-based physical line of the key


@dataclass
class Instruction:
    """One instruction: keyword, BuildKit's view of it, and its byte span."""

    cmd: str
    sub_cmd: str
    json: bool
    original: str
    start_line: int  # 0-based, inclusive
    end_line: int  # 0-based, inclusive
    start: int  # byte offset of its first line's first byte
    end: int  # byte offset just after its last line (or EOF)
    flags: list[str]
    value: list[str]
    heredocs: list[Heredoc]
    kvs: list[KeyValue]
    #: byte offset where the keyword starts (after indentation / BOM)
    cmd_start: int = 0
    #: flags of the sub-command under ONBUILD
    sub_flags: list[str] = field(default_factory=list)
    #: index in :attr:`original` of the ONBUILD sub-command keyword
    sub_index: int = -1
    #: index in :attr:`original` where the (effective) arguments start, after flags
    args_index: int = 0
    #: byte offset in the file of each logical-line character, for edits
    _segments: list[tuple[int, str, int]] = field(default_factory=list, repr=False)

    # Both are read many times per instruction by the analysis and the rules; an instruction's keyword never
    # changes once the scanner has built it, so each is worked out once (kept in the instance's ``__dict__``).
    @functools.cached_property
    def keyword(self) -> str:
        return self.cmd.upper()

    @functools.cached_property
    def effective(self) -> str:
        """The instruction that runs: the sub-command under ONBUILD."""
        return (self.sub_cmd or self.cmd).upper() if self.keyword == "ONBUILD" else self.keyword

    def byte_offset(self, index: int) -> int:
        """File byte offset of character ``index`` of :attr:`original`."""
        seg = self._segments
        lo, hi = 0, len(seg) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if seg[mid][0] <= index:
                lo = mid
            else:
                hi = mid - 1
        logical, text, file_off = seg[lo]
        return file_off + len(encode(text[: index - logical]))

    def end_offset(self, index: int) -> int:
        """File byte offset just after character ``index - 1`` of :attr:`original`."""
        if index <= 0:
            return self.byte_offset(0)
        return self.byte_offset(index - 1) + len(encode(self.original[index - 1]))


@dataclass
class Dockerfile:
    data: bytes
    instructions: list[Instruction]
    escape: str
    directives: dict[str, str]
    directive_lines: dict[str, int]  # name -> 0-based line
    warnings: list[str]
    lines: list[bytes]
    starts: list[int]


class _Lines:
    """BuildKit's bufio.Scanner: lines on \\n, and a stop at an over-long line."""

    def __init__(self, data: bytes) -> None:
        self.raw = split_lines(data)
        self.starts: list[int] = []
        pos = 0
        for line in self.raw:
            self.starts.append(pos)
            pos += len(line)
        self.i = 0
        self.too_long = False
        #: index of the first over-long line (the scanner stops there), else the line count
        self.limit = len(self.raw)
        if len(data) > MAX_LINE:
            self.limit = next((k for k, line in enumerate(self.raw) if len(line.rstrip(b"\n")) > MAX_LINE),
                              len(self.raw))

    def next(self) -> int | None:
        i = self.i
        if i >= self.limit:
            if i < len(self.raw):
                self.too_long = True
            return None
        self.i = i + 1
        return i


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: dict[str, str] = {}
        self.where: dict[str, int] = {}
        self._set_cont()

    def _set_cont(self) -> None:
        e = re.escape(self.escape)
        self.cont = re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$", re.S)

    def feed(self, line: str, lineno: int) -> None:
        if self.done:
            return
        m = _DIRECTIVE.match(line)
        if not m:
            self.done = True
            return
        name = m.group(1).lower()
        if name not in _DIRECTIVE_NAMES:
            self.done = True
            return
        if name in self.seen:
            raise ParseError(f"only one {name} parser directive can be used", lineno + 1)
        self.seen[name] = m.group(2)
        self.where[name] = lineno
        if name == "escape":
            value = m.group(2)
            if value not in ("`", "\\"):
                raise ParseError(f"invalid escape token '{value}' does not match ` or \\", lineno + 1)
            self.escape = value
            self._set_cont()

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        if not line.rstrip(" \t").endswith(self.escape):
            return line, True  # the pattern needs the escape before trailing blanks: most lines end otherwise
        return self._trim_continuation_re(line)

    def _trim_continuation_re(self, line: str) -> tuple[str, bool]:
        m = self.cont.search(line)
        if m:
            return line[: m.start()] + (m.group(1) or ""), False
        return line, True


def parse(data: bytes) -> Dockerfile:
    """Scan ``data``; raise :class:`ParseError` where BuildKit would fail."""
    lines = _Lines(data)
    d = _Directives()
    instructions: list[Instruction] = []
    warnings: list[str] = []

    while True:
        i = lines.next()
        if i is None:
            break
        logical = _logical_line(lines, d, i, warnings)
        if logical is None:
            continue
        line, segments, offset = logical
        end_line = lines.i - 1
        try:
            ins = _new_instruction(line, d.escape, segments)
        except ParseError as e:
            raise ParseError(e.reason, i + 1) from None
        ins.start_line = i
        ins.cmd_start = offset
        ins.start = lines.starts[i]
        if "<<" in line and _can_contain_heredoc(ins):
            _read_heredocs(lines, ins, line)
            end_line = lines.i - 1
        ins.end_line = end_line
        ins.end = lines.starts[end_line] + len(lines.raw[end_line])
        for kv in ins.kvs:
            kv.line = bisect.bisect_right(lines.starts, kv.start) - 1
        instructions.append(ins)

    if not instructions:
        raise ParseError("file with no instructions", max(lines.i, 1))
    if lines.too_long:
        raise ParseError(f"dockerfile line greater than max allowed size of {MAX_LINE}", lines.i + 1)
    return Dockerfile(
        data=data,
        instructions=instructions,
        escape=d.escape,
        directives=dict(d.seen),
        directive_lines=dict(d.where),
        warnings=warnings,
        lines=lines.raw,
        starts=lines.starts,
    )


def _logical_line(lines: _Lines, d: _Directives, i: int, warnings: list[str]
                  ) -> tuple[str, list[tuple[int, str, int]], int] | None:
    """The logical line that starts at physical line ``i`` (continuations joined, comment lines inside it
    skipped): its text, its segments (logical index, text, file byte offset of ``text[0]``), and the byte
    offset of its first character; None for a blank or comment line."""
    raw = lines.raw[i]
    offset = lines.starts[i]
    if i == 0 and raw.startswith(BOM):
        raw = raw[3:]
        offset += 3
    text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")  # _trim_newline(decode(raw)), inlined
    stripped = text.lstrip(GO_SPACE_CHARS)
    indent = len(text) - len(stripped)
    lead = len(encode(text[:indent])) if indent else 0
    d.feed(stripped, i)
    if stripped.startswith("#"):
        stripped = ""
    line, eol = d.trim_continuation(stripped)
    if eol and line == "":
        return None
    segments = [(0, line, offset + lead)]
    empty_cont = False
    while not eol:
        j = lines.next()
        if j is None:
            break
        t = lines.raw[j].decode("utf-8", "surrogateescape").rstrip("\r\n")
        d.feed(t, j)
        lt = t.lstrip(GO_SPACE_CHARS)
        if lt.startswith("#"):
            continue
        if lt == "":
            empty_cont = True
            continue
        seg, eol = d.trim_continuation(t)
        segments.append((len(line), seg, lines.starts[j]))
        line += seg
    if empty_cont:
        warnings.append("Empty continuation line found in: " + line)
    return line, segments, offset + lead


def _read_heredocs(lines: _Lines, ins: Instruction, line: str) -> None:
    """Read the bodies of the heredocs ``line`` opens, from the lines after it."""
    for doc in _heredocs_from_line(line):
        terminated = False
        body: list[str] = []
        while True:
            k = lines.next()
            if k is None:
                break
            b = decode(lines.raw[k])
            cand = _trim_newline(b)
            if doc.chomp:
                cand = cand.lstrip("\t")
            if cand == doc.name:
                terminated = True
                break
            body.append(b)
        if not terminated:
            raise ParseError("unterminated heredoc", ins.start_line + 1)
        doc.content = "".join(body)
        ins.heredocs.append(doc)


def _can_contain_heredoc(ins: Instruction) -> bool:
    cmd = ins.cmd.lower()
    if cmd == "onbuild":
        if not ins.sub_cmd:
            return False
        cmd = ins.sub_cmd.lower()
    return cmd in _HEREDOC_CMDS and not ins.json


def _split_command(line: str) -> tuple[str, list[str], str, int]:
    """cmd, flags, args, and the index of args in ``line``."""
    lead = line.lstrip(GO_SPACE_CHARS)
    trimmed = lead.rstrip(GO_SPACE_CHARS)
    base = len(line) - len(lead)
    m = ASCII_WS.search(trimmed)  # the first blank run: ASCII_WS.split(trimmed, maxsplit=1)
    if m is None:
        return trimmed, [], "", len(line)
    cmd = trimmed[: m.start()]
    rest_at = base + m.end()
    args, flags, consumed = extract_flags(trimmed[m.end() :])
    args_at = rest_at + consumed
    stripped = args.lstrip(GO_SPACE_CHARS)
    args_at += len(args) - len(stripped)
    return cmd, flags, stripped.rstrip(GO_SPACE_CHARS), args_at


def _new_instruction(line: str, escape: str, segments: list[tuple[int, str, int]]) -> Instruction:
    cmd, flags, args, args_at = _split_command(line)
    ins = Instruction(
        cmd=cmd, sub_cmd="", json=False, original=line, start_line=0, end_line=0, start=0, end=0,
        flags=flags, value=[], heredocs=[], kvs=[], _segments=segments,
    )
    _dispatch(ins, cmd.lower(), args, args_at, escape, top=True)
    # the keyword never changes from here on: fill both cached properties now (no lazy first look later)
    keyword = ins.__dict__["keyword"] = cmd.upper()
    ins.__dict__["effective"] = (ins.sub_cmd or cmd).upper() if keyword == "ONBUILD" else keyword
    return ins


def _dispatch(ins: Instruction, cmd: str, args: str, args_at: int, escape: str, top: bool) -> None:
    ins.args_index = args_at
    if cmd in ("add", "copy", "volume"):
        arr = json_array(args)
        if arr is not None:
            ins.json, ins.value = True, arr
        elif args:
            ins.value = ASCII_WS.split(args)
    elif cmd in ("cmd", "entrypoint", "run", "shell"):
        if args:
            arr = json_array(args)
            if arr is not None:
                ins.json, ins.value = True, arr
            else:
                ins.value = [args]
    elif cmd in ("expose", "from"):
        if args:
            ins.value = ASCII_WS.split(args)
    elif cmd in ("maintainer", "stopsignal", "user", "workdir"):
        if args:
            ins.value = [args]
    elif cmd == "healthcheck":
        _healthcheck(ins, args)
    elif cmd == "arg":
        _parse_arg(ins, args, args_at, escape)
    elif cmd in ("env", "label"):
        _parse_name_val(ins, args, args_at, escape, "ENV" if cmd == "env" else "LABEL")
    elif cmd == "onbuild":
        if top and args:
            sub, sflags, sargs, sat = _split_command(args)
            ins.sub_cmd = sub
            ins.sub_flags = sflags
            ins.sub_index = args_at
            _dispatch(ins, sub.lower(), sargs, args_at + sat, escape, top=False)
        elif args:
            sub, _, sargs, sat = _split_command(args)
            ins.sub_cmd = ins.sub_cmd or sub
            _dispatch(ins, sub.lower(), sargs, args_at + sat, escape, top=False)
    else:
        ins.value = [""]


def _healthcheck(ins: Instruction, args: str) -> None:
    sep = 0
    while sep < len(args) and not is_space(args[sep]):
        sep += 1
    if sep == 0:
        return
    nxt = sep
    while nxt < len(args) and is_space(args[nxt]):
        nxt += 1
    rest = args[nxt:]
    ins.value = [args[:sep]]
    if rest:
        arr = json_array(rest)
        if arr is not None:
            ins.json = True
            ins.value += arr
        else:
            ins.value.append(rest)


def _parse_arg(ins: Instruction, args: str, args_at: int, escape: str) -> None:
    for w in parse_words(args, escape):
        ins.value.append(w.text)
        at = args_at + w.start
        key, eq, raw = w.text.partition("=")
        start = ins.byte_offset(at)
        key_end = ins.end_offset(at + len(key))
        if eq:
            vs = ins.byte_offset(at + len(key) + 1) if raw else key_end + 1
            ve = ins.end_offset(at + len(w.text)) if raw else vs
        else:
            vs = ve = -1
        ins.kvs.append(
            KeyValue(key, raw, process_word(raw, escape), bool(eq), False, start, key_end, vs, ve, 0)
        )


def _parse_name_val(ins: Instruction, args: str, args_at: int, escape: str, what: str) -> None:
    words = parse_words(args, escape)
    if not words:
        return
    if "=" not in words[0].text:
        parts = ASCII_WS.split(args, maxsplit=1)
        if len(parts) < 2:
            raise ParseError(f"{what} must have two arguments", 0)
        key, raw = parts
        m = ASCII_WS.search(args)
        assert m is not None
        start = ins.byte_offset(args_at)
        key_end = ins.end_offset(args_at + len(key))
        vs = ins.byte_offset(args_at + m.end())
        ve = ins.end_offset(args_at + len(args))
        ins.value += [key, raw, ""]
        ins.kvs.append(KeyValue(key, raw, process_word(raw, escape), True, True, start, key_end, vs, ve, 0))
        return
    for w in words:
        if "=" not in w.text:
            raise ParseError(
                f"Syntax error - can't find = in {go_quote(w.text)}. Must be of the form: name=value", 0
            )
    for w in words:
        key, _, raw = w.text.partition("=")
        at = args_at + w.start
        start = ins.byte_offset(at)
        key_end = ins.end_offset(at + len(key))
        vs = ins.byte_offset(at + len(key) + 1) if raw else key_end + 1
        ve = ins.end_offset(at + len(w.text)) if raw else vs
        ins.value += [key, raw, "="]
        ins.kvs.append(KeyValue(key, raw, process_word(raw, escape), True, False, start, key_end, vs, ve, 0))


def _heredocs_from_line(line: str) -> list[Heredoc]:
    if not lexes(line):
        return []  # BuildKit's word split fails on the line, and it then finds no heredoc in it
    docs: list[Heredoc] = []
    words = shell_words(line)
    for k, word in enumerate(words):
        if re.fullmatch(r"\d*<<-?", word) and k + 1 < len(words):
            word += words[k + 1]
        m = _HEREDOC.match(word)
        if not m:
            continue
        rest = m.group(3)
        if not rest:
            continue
        plain = shell_words(rest, raw=False)
        if len(plain) != 1:
            continue
        raw_words = shell_words(rest)
        name = plain[0]
        quotes = name.count("'") + name.count('"')
        raw_quotes = raw_words[0].count("'") + raw_words[0].count('"') if raw_words else 0
        docs.append(
            Heredoc(name=name, fd=int(m.group(1) or 0), content="", expand=quotes == raw_quotes,
                    chomp=m.group(2) == "-")
        )
    return docs


