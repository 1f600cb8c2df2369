"""Raw file content with a line table on ``b"\\n"``.

Bytes are the truth: text is decoded once with UTF-8 and ``surrogateescape`` so
that any byte survives a round trip, and every offset handed to an edit is a
byte offset into :attr:`SourceFile.data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENCODING = "utf-8"
ERRORS = "surrogateescape"


def decode(data: bytes) -> str:
    return data.decode(ENCODING, ERRORS)


def encode(text: str) -> bytes:
    return text.encode(ENCODING, ERRORS)


def split_lines(data: bytes) -> list[bytes]:
    """Split on ``\\n`` only, keeping the terminator (``\\r``, U+2028 are not breaks)."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


@dataclass
class SourceFile:
    """A file's bytes and the byte offset where each physical line starts."""

    path: str
    data: bytes
    lines: list[bytes] = field(init=False)
    starts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = split_lines(self.data)
        self.starts = []
        pos = 0
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line)

    def line_of(self, offset: int) -> int:
        """0-based line holding byte ``offset``."""
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    @property
    def newline(self) -> bytes:
        """The file's dominant line ending, for text the codemod inserts."""
        crlf = self.data.count(b"\r\n")
        return b"\r\n" if crlf and crlf * 2 >= self.data.count(b"\n") else b"\n"
