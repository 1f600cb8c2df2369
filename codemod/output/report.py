"""Output: the findings summary, the unified diff, the JSON report. Secret values are redacted.

A value is redacted where a rule found it (its byte span in the input) and
wherever else it appears in text we print, unless it is also the value of a
plain setting (``POSTGRES_DB=postgres`` next to ``POSTGRES_PASSWORD=postgres``
tells nothing more once printed) or shorter than four characters.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from typing import Any

from codemod import __version__
from codemod.model import FileChange, RunResult
from codemod.source import decode

MASK = "***"


class Redactor:
    def __init__(self, result: RunResult, show_values: bool = False) -> None:
        self.show = show_values
        values = {v for v in result.secret_values.values() if len(v) >= 4}
        self.values = sorted((v for v in values if v not in result.setting_values), key=len, reverse=True)

    def text(self, s: str) -> str:
        if self.show:
            return s
        for v in self.values:
            if v in s:
                s = s.replace(v, MASK)
        return s

    def old_bytes(self, change: FileChange) -> bytes:
        if self.show or change.old is None:
            return change.old or b""
        out, pos = [], 0
        for start, end in sorted(set(change.redact_spans)):
            if start < pos:
                continue
            out.append(change.old[pos:start])
            out.append(MASK.encode())
            pos = end
        out.append(change.old[pos:])
        return b"".join(out)


def unified_diff(result: RunResult, redactor: Redactor) -> str:
    chunks: list[str] = []
    for c in result.changes:
        old = decode(redactor.old_bytes(c))
        new = decode(c.new)
        label = c.path.as_posix()
        note = "" if redactor.show else "  (secret values redacted as ***: not an applicable patch)"
        diff = difflib.unified_diff(
            old.splitlines(keepends=True) if c.old is not None else [],
            new.splitlines(keepends=True),
            fromfile=("a/" + label) if c.old is not None else "/dev/null",
            tofile="b/" + label + note,
        )
        text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff)
        chunks.append(redactor.text(text))
    return "".join(chunks)


def summary_lines(result: RunResult, *, applied: bool = False) -> list[str]:
    lines: list[str] = []
    active = result.active
    for f in active:
        tag = "" if f.fixable else " [needs a human]"
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.rule} {f.message}{tag}")
    kinds = Counter(f.kind for f in active)
    fixable = sum(1 for f in active if f.fixable)
    human = len(active) - fixable
    if active:
        lines.append("")
    verb = "written" if applied else "to write"
    lines.append(
        f"{len(result.files)} files scanned, {len(active)} findings "
        f"({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items())) or 'none'}); "
        f"{len(result.changes)} files {verb}, {fixable} fixes, {human} need a human, "
        f"{len(result.suppressed)} suppressed"
    )
    for path, items in sorted(result.moved.items()):
        secrets = [k for k, v in items if v is None]
        settings = [k for k, v in items if v is not None]
        if secrets:
            lines.append(f"{path}: provide at runtime (env_file / docker run -e / Kubernetes Secret): "
                         + ", ".join(secrets))
        if settings:
            lines.append(f"{path}: settings now runtime configuration (old defaults in the env example): "
                         + ", ".join(settings))
    for path, mounts in sorted(result.build_secrets.items()):
        flags = " ".join(f"--secret id={sid},env={var}" for sid, var in sorted(mounts.items()))
        lines.append(f"{path}: build with {flags}")
    for note in result.notes:
        lines.append(note)
    for err in result.errors:
        lines.append(f"error: {err}")
    return lines


def report_json(result: RunResult, redactor: Redactor, *, mode: str) -> str:
    doc: dict[str, Any] = {
        "tool": "migrate-secrets",
        "version": __version__,
        "mode": mode,
        "findings": [_finding_json(f.as_dict(), redactor) for f in result.findings],
        "changes": [{"file": c.path.as_posix(), "kind": c.kind, "new_file": c.old is None} for c in result.changes],
        "errors": [redactor.text(e) for e in result.errors],
        "runtime": {path: [{"variable": k, "secret": v is None} for k, v in items]
                    for path, items in sorted(result.moved.items())},
        "summary": {
            "files": len(result.files),
            "findings": len(result.active),
            "fixable": sum(1 for f in result.active if f.fixable),
            "needs_human": sum(1 for f in result.active if not f.fixable),
            "suppressed": len(result.suppressed),
            "files_changed": len(result.changes),
        },
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # a file's non-UTF-8 byte: escape it, so the report stays valid UTF-8 JSON
        text = json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
    return text


def _finding_json(d: dict[str, object], redactor: Redactor) -> dict[str, object]:
    return {k: redactor.text(v) if isinstance(v, str) else v for k, v in d.items()}
