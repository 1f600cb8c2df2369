"""Suppression pragmas, in the form users know from hadolint: ``# migrate-secrets: ignore=MS001`` covers
the next instruction (in YAML and scripts: the next key and the block under it) and
``# migrate-secrets: global ignore=MS001`` the whole file. Suppressed findings are counted, never fixed."""

from __future__ import annotations

import re
from dataclasses import replace

from codemod.dockerfile.scanner import Dockerfile
from codemod.model import Finding

PRAGMA = re.compile(rb"^\s*#\s*migrate-secrets:\s*(global\s+)?ignore\s*=\s*([A-Za-z0-9_, ]+?)\s*$")


def suppressions(df: Dockerfile) -> tuple[set[str], dict[int, set[str]]]:
    """``# migrate-secrets: global ignore=MS001`` (the file) and ``# migrate-secrets: ignore=MS001,MS002``
    (the next instruction): file-wide codes, and 0-based line -> codes for the lines of that instruction."""
    file_codes: set[str] = set()
    pending: set[str] = set()
    per_line: dict[int, set[str]] = {}
    ins_at = {ins.start_line: ins for ins in df.instructions}
    for n, raw in enumerate(df.lines):
        ins = ins_at.get(n)
        if ins is not None:
            if pending:
                for k in range(ins.start_line, ins.end_line + 1):
                    per_line.setdefault(k, set()).update(pending)
                pending = set()
            continue
        m = PRAGMA.match(raw.rstrip(b"\r\n"))
        if m:
            codes = {c.strip().upper() for c in m.group(2).decode().split(",") if c.strip()}
            (file_codes if m.group(1) else pending).update(codes)
    return file_codes, per_line


def suppress_in_text(data: bytes, findings: list[Finding]) -> list[Finding]:
    """Pragmas in YAML files and scripts: ``# migrate-secrets: ignore=MS005`` covers the next key (and the
    block under it), ``# migrate-secrets: global ignore=...`` the file."""
    if not findings or b"migrate-secrets:" not in data:
        return findings
    lines = data.split(b"\n")
    file_codes: set[str] = set()
    per_line: dict[int, set[str]] = {}
    pending: set[str] = set()

    def indent(line: bytes) -> int:
        return len(line) - len(line.lstrip(b" \t"))

    for n, raw in enumerate(lines):
        m = PRAGMA.match(raw.rstrip(b"\r"))
        if m:
            codes = {c.strip().upper() for c in m.group(2).decode().split(",") if c.strip()}
            (file_codes if m.group(1) else pending).update(codes)
            continue
        if pending and raw.strip() and not raw.lstrip().startswith(b"#"):
            k = n + 1
            while k < len(lines) and (not lines[k].strip() or indent(lines[k]) > indent(raw)):
                k += 1
            for j in range(n, k):
                per_line.setdefault(j, set()).update(pending)
            pending = set()
    return [replace(x, suppressed=True, fixable=False)
            if x.rule in file_codes or x.rule in per_line.get(x.line - 1, ()) else x for x in findings]
