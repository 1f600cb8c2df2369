"""Edits are spans of the original bytes with replacement bytes; applying them is pure."""

from __future__ import annotations

from dataclasses import dataclass


class OverlapError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Edit:
    start: int
    end: int
    text: bytes = b""


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    """Copy every byte outside the edits from ``data``; identical edits count once."""
    out: list[bytes] = []
    pos = 0
    # an insertion sorts before a change starting at the same byte: it lands in front of it
    for e in sorted(set(edits), key=lambda e: (e.start, e.end != e.start, e.end, e.text)):
        if not 0 <= e.start <= e.end <= len(data):
            raise OverlapError(f"edit {e.start}..{e.end} outside 0..{len(data)}")
        if e.start < pos:
            raise OverlapError(f"edits overlap at byte {e.start}")
        out.append(data[pos : e.start])
        out.append(e.text)
        pos = e.end
    out.append(data[pos:])
    return b"".join(out)
