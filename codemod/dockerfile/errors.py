"""The scanner's one error: BuildKit would reject the file."""

from __future__ import annotations


class ParseError(Exception):
    """BuildKit would reject the file. ``line`` is 1-based."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(f"{line}: {reason}")
        self.reason = reason
        self.line = line
