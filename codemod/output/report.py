"""Output: the findings summary, the unified diff, the ``--check`` lines, the JSON report.

Every text goes through the one :class:`~codemod.output.redact.Redactor` (re-exported here).
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

from codemod import __version__
from codemod.model import RunResult
from codemod.output.redact import MASK, Redactor, dumps

__all__ = ["MASK", "Redactor", "check_lines", "report_json", "scanned", "summary_lines", "unified_diff"]

#: discovery kinds that name a path the run could not scan (each is also an error)
UNSCANNED = frozenset({"missing", "symlink-error", "outside"})


def scanned(result: RunResult) -> int:
    """Files the run read: a missing PATH is an error, not a file scanned."""
    return sum(1 for f in result.files if f.kind not in UNSCANNED)


def unified_diff(result: RunResult, redactor: Redactor) -> str:
    chunks: list[str] = []
    for c in result.changes:
        old, new = redactor.sides(c)
        label = c.path.as_posix()
        note = "" if redactor.show else "  (secret values redacted as ***: not an applicable patch)"
        diff = difflib.unified_diff(
            old.splitlines(keepends=True) if c.old is not None else [],
            new.splitlines(keepends=True),
            fromfile=("a/" + label) if c.old is not None else "/dev/null",
            tofile="b/" + label + note,
        )
        chunks.append("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                              for line in diff))
    return "".join(chunks)


def check_lines(result: RunResult, redactor: Redactor) -> list[str]:
    """``--check``: one line per pending file (``would create`` a new one), each needs-a-human finding, errors."""
    out = [f"would {'create' if c.old is None else 'migrate'} {c.path.as_posix()}" for c in result.changes]
    for f in result.needs_human:
        reason = f" ({redactor.text(f.fix)})" if f.fix else ""
        out.append(f"{f.path}:{f.line}: {f.rule} needs a human: {redactor.text(f.message)}{reason}")
    out += [f"error: {redactor.text(err)}" for err in result.errors]
    return out


def summary_lines(result: RunResult, redactor: Redactor | None = None, *, applied: bool = False) -> list[str]:
    """The text report: each finding (a needs-a-human one with its reason), the counts, what deployers
    provide at run time, how to pass the build secrets, notes and errors; redacted."""
    red = (redactor or Redactor(result)).text
    lines: list[str] = []
    active = result.active
    for f in active:
        where = f"{f.path}:{f.line}:{f.column}: {f.rule} {red(f.message)}"
        lines.append(where if f.fixable else f"{where} [needs a human: {red(f.fix) or 'see the finding'}]")
    kinds = Counter(f.kind for f in active)
    fixable = sum(1 for f in active if f.fixable)
    if active:
        lines.append("")
    verb = "written" if applied else "to write"
    lines.append(
        f"{scanned(result)} files scanned, {len(active)} findings "
        f"({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items())) or 'none'}); "
        f"{len(result.changes)} files {verb}, {fixable} fixes, {len(active) - fixable} need a human, "
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
        names = ", ".join(sorted(set(mounts.values())))
        lines.append(f"{path}: build secrets (not runtime configuration): export {names} where the image is "
                     f"built, then build with {flags}")
    for path, changed in sorted(result.producers.items()):  # every producer of a build arg the run rewrites
        lines.append(red(f"{path}: producers changed: "
                         + "; ".join(f"line {n} {arg} -> {what}" for n, arg, what in changed)))
    lines += [red(note) for note in result.notes]
    lines += [f"error: {red(err)}" for err in result.errors]
    return lines


def report_json(result: RunResult, redactor: Redactor, *, mode: str) -> str:
    doc: dict[str, Any] = {
        "tool": "migrate-secrets",
        "version": __version__,
        "mode": mode,
        "findings": [f.as_dict() for f in result.findings],
        "changes": [{"file": c.path.as_posix(), "kind": c.kind, "new_file": c.old is None} for c in result.changes],
        "errors": list(result.errors),
        "runtime": {path: [{"variable": k, "secret": v is None} for k, v in items]
                    for path, items in sorted(result.moved.items())},
        "build_secrets": {path: [{"id": sid, "variable": var} for sid, var in sorted(mounts.items())]
                          for path, mounts in sorted(result.build_secrets.items())},
        "summary": {
            "files": scanned(result),
            "findings": len(result.active),
            "fixable": sum(1 for f in result.active if f.fixable),
            "needs_human": sum(1 for f in result.active if not f.fixable),
            "suppressed": len(result.suppressed),
            "files_changed": len(result.changes),
        },
    }
    return dumps(doc, redactor)
