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
    last: Edit | None = None
    for e in sorted(set(edits)):
        if not 0 <= e.start <= e.end <= len(data):
            raise OverlapError(f"edit {e.start}..{e.end} outside 0..{len(data)}")
        if e.start < pos or (last is not None and e.start == pos and last.start == e.start and e.end > e.start):
            raise OverlapError(f"edits overlap at byte {e.start}")
        out.append(data[pos : e.start])
        out.append(e.text)
        pos = e.end
        last = e
    out.append(data[pos:])
    return b"".join(out)
