"""The one redactor: every output (terminal, diff, JSON, SARIF, PR body, commit message, verify report and
its scan, logs) passes through it (design.md section 5).

It replaces secret *values*, never names, kinds or rule text:

* in a file's bytes, the spans the analysis found (``FileChange.redact_spans``; a ``${X:-v}``
  fallback included), whatever their length;
* in any text, every known value of :data:`MIN_ANYWHERE` characters or more, wherever it stands as a
  value: an occurrence inside a longer name (a value ``SECRET`` in ``AWS_SECRET_ACCESS_KEY``) is left,
  so a name never becomes ``AWS_***_ACCESS_KEY``;
* in a JSON document, only the fields that may carry text about a value (messages, fixes, errors,
  snippets), never ``variable``, ``kind``, ``rule``/``ruleId`` and the like;
* in a log line, the value of each ``NAME=value`` pair whose name is a secret's (:meth:`assignments`),
  for output of tools that echo what they were given (a builder's log).

Shorter values are redacted only where they were found (their spans, their ``NAME=value`` pair): as
free text they match too much to be told apart from names.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from codemod.source import decode

if TYPE_CHECKING:
    from codemod.model import FileChange, RunResult

MASK = "***"
#: a value this long is redacted wherever it appears; a shorter one only where it was found
MIN_ANYWHERE = 8
#: JSON keys whose values are names, kinds or codes: never redacted
NAME_KEYS = frozenset({
    "variable", "kind", "rule", "ruleId", "id", "name", "file", "uri", "test", "status", "title", "mode",
    "tool", "version", "level", "ruleIndex", "result", "image", "source",
})
_WORD = "A-Za-z0-9_"
_PAIR = re.compile(r"""(?<![\w$.-])([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)""")
_EMPTY = {"", "null", "none", "nil", '""', "''"}


def carries_value(value: str) -> bool:
    """A value that leaks something: non-empty, not null-like, not a ``$REF``/``$(cmd)``."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1].strip()
    return v.lower() not in _EMPTY and not v.startswith("$")


class Redactor:
    """Redacts the secret values of a run (``Redactor(result)``) or the given ``values``.

    ``show_values`` (``--show-values``) turns it off. :meth:`add` takes values found later (verify's
    scan finds some in the image it reads)."""

    def __init__(self, result: RunResult | None = None, show_values: bool = False, *,
                 values: Iterable[str] = ()) -> None:
        self.show = show_values
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        keep: set[str] = set()
        if result is not None:
            keep = set(result.setting_values)
            found = {v for h in result.hits for v in h.secret_values.values()}
            found |= set(result.secret_values.values())
            for c in result.changes:
                if c.old:
                    found |= {decode(c.old[s:e]) for s, e in c.redact_spans if e > s}
            self._values |= {v for v in found if v not in keep}
        self._values |= set(values)

    @property
    def values(self) -> list[str]:
        """The values :meth:`text` replaces anywhere, longest first."""
        return sorted((v for v in self._values if len(v.strip()) >= MIN_ANYWHERE), key=len, reverse=True)

    def add(self, value: str) -> None:
        if value and value not in self._values:
            self._values.add(value)
            self._pattern = None

    def _regex(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.values:
            parts = []
            for v in self.values:
                head = f"(?<![{_WORD}])" if re.match(f"[{_WORD}]", v) else ""
                tail = f"(?![{_WORD}])" if re.search(f"[{_WORD}]$", v) else ""
                parts.append(head + re.escape(v) + tail)
            self._pattern = re.compile("|".join(parts))
        return self._pattern

    def text(self, s: str) -> str:
        """``s`` with every known value of :data:`MIN_ANYWHERE` characters or more replaced, names left alone."""
        if self.show or not s:
            return s
        pattern = self._regex()
        return pattern.sub(MASK, s) if pattern is not None else s

    def doc(self, obj: Any) -> Any:
        """A JSON-like document with its text fields redacted (:data:`NAME_KEYS` left as they are)."""
        if self.show:
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, list):
            return [self.doc(x) for x in obj]
        if isinstance(obj, dict):
            return {k: v if k in NAME_KEYS and isinstance(v, str) else self.doc(v) for k, v in obj.items()}
        return obj

    def assignments(self, text: str, is_secret_name: Callable[[str], bool]) -> str:
        """``text`` with the value of every secret-named ``NAME=value`` replaced, then :meth:`text`."""
        if self.show:
            return text

        def sub(m: re.Match[str]) -> str:
            if is_secret_name(m.group(1)) and carries_value(m.group(2)):
                return f"{m.group(1)}={MASK}"
            return m.group(0)

        return self.text(_PAIR.sub(sub, text))

    # -- files ----------------------------------------------------------------------------------------

    def old_bytes(self, change: FileChange) -> bytes:
        """The old bytes of a change with its secret spans masked."""
        if self.show or change.old is None:
            return change.old or b""
        return _mask(change.old, change.redact_spans)

    def sides(self, change: FileChange) -> tuple[str, str]:
        """(old text, new text) of a change, redacted alike, for a diff: a span's value that survives in
        the new bytes (a line left unchanged, or an edited line that kept it) is masked there too."""
        old = decode(change.old or b"")
        new = decode(change.new)
        if self.show:
            return old, new
        spans = sorted(s for s in set(change.redact_spans) if s[1] > s[0])
        if not spans or change.old is None:
            return self.text(old), self.text(new)
        old_lines = change.old.split(b"\n")
        new_lines = change.new.split(b"\n")
        masked_old = _mask(change.old, spans).split(b"\n")
        starts = _line_starts(old_lines)
        out = list(new_lines)
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out[j1:j2] = masked_old[i1:i2]
                continue
            inside = [change.old[s:e] for s, e in spans if starts[i1] <= s < (starts[i2] if i2 < len(starts)
                                                                                 else len(change.old) + 1)]
            for j in range(j1, j2):
                out[j] = _mask_words(out[j], inside)
        return self.text(decode(b"\n".join(masked_old))), self.text(decode(b"\n".join(out)))


def _line_starts(lines: list[bytes]) -> list[int]:
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    return starts


def _mask(data: bytes, spans: Iterable[tuple[int, int]]) -> bytes:
    out, pos = [], 0
    for start, end in sorted(set(spans)):
        if start < pos or end <= start:
            continue
        out += [data[pos:start], MASK.encode()]
        pos = end
    out.append(data[pos:])
    return b"".join(out)


def _mask_words(line: bytes, values: list[bytes]) -> bytes:
    """``line`` with each of ``values`` masked where it is not part of a longer word."""
    for v in sorted(set(values), key=len, reverse=True):
        if v:
            head = rb"(?<![A-Za-z0-9_])" if v[:1].isalnum() or v[:1] == b"_" else b""
            tail = rb"(?![A-Za-z0-9_])" if v[-1:].isalnum() or v[-1:] == b"_" else b""
            line = re.sub(head + re.escape(v) + tail, MASK.encode(), line)
    return line


def dumps(doc: Any, redactor: Redactor) -> str:
    """``doc`` redacted and written as JSON (ASCII-escaped only when it carries a file's non-UTF-8 byte)."""
    clean = redactor.doc(doc)
    text = json.dumps(clean, indent=2, ensure_ascii=False) + "\n"
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = json.dumps(clean, indent=2, ensure_ascii=True) + "\n"
    return text
