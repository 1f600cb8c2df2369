"""The one edit applier, for every file kind: Dockerfile bytes, YAML and script text alike.

Every byte outside the edits is copied from the original (ruff's ``apply_fixes``); an edit applied twice
counts once; insertions at one point land in the order they were made, before a change starting there.
"""

from __future__ import annotations

from collections.abc import Iterable

from codemod.model import Edit, T


class OverlapError(ValueError):
    pass


def apply_edits(data: T, edits: Iterable[Edit[T]]) -> T:
    """``data`` with ``edits`` applied; OverlapError when two edits overlap or one lies outside ``data``."""
    out: list[T] = []
    pos = 0
    unique = list(dict.fromkeys(edits))
    for e in sorted(unique, key=lambda e: (e.start, e.end != e.start)):
        if not 0 <= e.start <= e.end <= len(data):
            raise OverlapError(f"edit {e.start}..{e.end} outside 0..{len(data)}")
        if e.start < pos:
            raise OverlapError(f"edits overlap at byte {e.start}")
        out.append(data[pos : e.start])
        out.append(e.text)
        pos = e.end
    out.append(data[pos:])
    return data[:0].join(out)
