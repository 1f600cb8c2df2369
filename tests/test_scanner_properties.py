"""Properties of the scanner over generated files."""

from __future__ import annotations

import re

from hypothesis import given, settings

from codemod.dockerfile.scanner import ParseError, parse

from strategies import dockerfiles

_DIRECTIVE = re.compile(rb"^\s*#\s*[a-zA-Z][a-zA-Z0-9]*\s*=")


@settings(max_examples=400, deadline=None)
@given(dockerfiles())
def test_spans_cover_instructions_and_gaps_are_blank_or_comment(data: bytes) -> None:
    try:
        df = parse(data)
    except ParseError as e:
        assert e.line >= 1 and e.reason
        return
    pos = 0
    pieces = []
    for ins in df.instructions:
        assert pos <= ins.start < ins.end <= len(data), "spans ordered, disjoint, non-empty"
        gap = data[pos : ins.start]
        pieces.append(gap)
        for line in gap.split(b"\n"):
            text = line.removeprefix(b"\xef\xbb\xbf") if pos == 0 else line
            assert text.strip() == b"" or text.lstrip().startswith(b"#"), (gap, data)
        pieces.append(data[ins.start : ins.end])
        # a span starts at a line start and ends after a newline or at EOF
        assert ins.start == 0 or data[ins.start - 1 : ins.start] == b"\n"
        assert ins.end == len(data) or data[ins.end - 1 : ins.end] == b"\n"
        for kv in ins.kvs:
            assert ins.start <= kv.start < kv.key_end <= ins.end
            if kv.has_value:
                assert kv.key_end < kv.value_start + 1 and kv.value_end <= ins.end
        pos = ins.end
    tail = data[pos:]
    pieces.append(tail)
    for line in tail.split(b"\n"):
        assert line.strip() == b"" or line.lstrip().startswith(b"#")
    assert b"".join(pieces) == data


@settings(max_examples=200, deadline=None)
@given(dockerfiles())
def test_key_bytes_match_key(data: bytes) -> None:
    try:
        df = parse(data)
    except ParseError:
        return
    for ins in df.instructions:
        for kv in ins.kvs:
            assert data[kv.start : kv.key_end].decode("utf-8", "surrogateescape") == kv.key
            if kv.has_value and "\n" not in data[kv.value_start : kv.value_end].decode("latin-1"):
                assert data[kv.value_start : kv.value_end].decode("utf-8", "surrogateescape") == kv.raw
