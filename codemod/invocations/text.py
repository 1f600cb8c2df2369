"""Text spans of the files that build images: lines, columns, insertions, the edit list and the result."""

from __future__ import annotations

from pathlib import Path

from codemod.fix.apply import OverlapError, apply_edits
from codemod.invocations.result import InvocationResult
from codemod.model import BlockedProducer, Edit, Finding
from codemod.rules import RULE_CODES
from codemod.source import decode, encode


def decode_text(data: bytes) -> str:
    return decode(data)


def line_no(text: str, index: int) -> int:
    """1-based line (on ``\\n`` only, as the rest of the project counts) of a character index."""
    return text.count("\n", 0, index) + 1


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """Index just past the ``\\n`` ending the line that holds ``index`` (or the end of the text)."""
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def only_blank_before(text: str, index: int) -> bool:
    return text[line_start(text, index) : index].strip(" \t") == ""


def rest_is_blank_or_comment(text: str, index: int) -> bool:
    end = text.find("\n", index)
    rest = text[index : len(text) if end < 0 else end].rstrip("\r")
    stripped = rest.strip(" \t")
    return stripped == "" or (stripped.startswith("#") and (rest == stripped or rest[0] in " \t"))


def newline_of(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def insertion(text: str, at: int, lines: list[str], nl: str) -> str:
    """Whole lines to insert at a line start; at the end of a file without a final newline, keep it that way."""
    if at >= len(text) and text and not text.endswith("\n"):
        return nl + nl.join(lines)
    return "".join(line + nl for line in lines)


class Editor:
    """Edits of a decoded text, applied once by the one applier (:func:`codemod.fix.apply.apply_edits`);
    insertions at one point land in the order they were made."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._edits: list[Edit[str]] = []

    def replace(self, start: int, end: int, new: str) -> None:
        self._edits.append(Edit(start, end, new))

    def insert(self, at: int, new: str) -> None:
        self.replace(at, at, new)

    def delete(self, start: int, end: int) -> None:
        self.replace(start, end, "")

    def __bool__(self) -> bool:
        return bool(self._edits)

    def apply(self) -> str:
        try:
            return apply_edits(self.text, self._edits)
        except OverlapError as e:
            raise ValueError(f"overlapping invocation edits: {e}") from None


def finish(result: InvocationResult, text: str, editor: Editor) -> InvocationResult:
    if result.redact_spans:
        spans = sorted(set(result.redact_spans))
        if not text.isascii():
            spans = [(len(encode(text[:a])), len(encode(text[:b]))) for a, b in spans]
        result.redact_spans = spans
    if editor:
        new = encode(editor.apply())
        if new != encode(text):
            result.new = new
    result.findings.sort(key=lambda f: f.sort_key())
    result.build_flags = list(dict.fromkeys(result.build_flags))
    result.notes = list(dict.fromkeys(result.notes))
    result.blocked = list(dict.fromkeys(result.blocked))
    return result


def block(result: InvocationResult, display: str, text: str, index: int, arg: str, reason: str, kind: str,
          dockerfile: Path | None = None) -> None:
    """Record a producer of ``arg`` at ``index`` that cannot be rewritten (the run then keeps the secret)."""
    result.blocked.append(BlockedProducer(arg, dockerfile, display, line_no(text, index), reason, kind,
                                          column(text, index) + 1))


def finding(display: str, text: str, index: int, variable: str, kind: str, message: str, *,
            fixable: bool = True, fix: str = "", value_class: str = "") -> Finding:
    col = column(text, index) + 1
    return Finding(display, line_no(text, index), variable, kind, message, code=RULE_CODES[kind], fixable=fixable,
                   value_class=value_class, column=col, fix=fix)


def secret_flag(sid: str, var: str) -> str:
    return f"--secret id={sid},env={var}"


def column(text: str, index: int) -> int:
    start = line_start(text, index)
    bom = 1 if start == 0 and text.startswith("\ufeff") and index > 0 else 0
    return index - start - bom

