"""``.dockerignore`` matching as Docker does it (moby/patternmatcher): which context files reach an image."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

__all__ = ["dockerignore_matcher"]


def _translate(pattern: str) -> str:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regex on a slash path."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("^"):
                    body = "!" + body[1:]
                if body.startswith("!"):
                    body = "^" + body[1:].replace("\\", "\\\\")
                else:
                    body = body.replace("\\", "\\\\")
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def dockerignore_matcher(text: str) -> Callable[[str], bool]:
    """``excluded(relpath)`` for a .dockerignore: the last matching pattern wins, ``!`` re-includes,
    and a pattern excludes everything under a directory it matches (moby/patternmatcher)."""
    rules: list[tuple[re.Pattern[str], bool]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        line = os.path.normpath(line).replace(os.sep, "/").lstrip("/") if line else line
        if not line or line == ".":
            continue
        try:
            rules.append((re.compile(_translate(line) + r"\Z", re.S), negate))
        except re.error:
            continue

    def excluded(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
        result = False
        for pattern, negate in rules:
            if any(pattern.match(p) for p in prefixes):
                result = not negate
        return result

    return excluded
