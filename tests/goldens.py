"""Shared by the golden test and ``make fixtures-update``: what a golden case produces."""

from __future__ import annotations

from pathlib import Path

from codemod.config import Config
from codemod.fix.loop import migrate

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"


def findings_text(data: bytes) -> str:
    result = migrate(data, "input.Dockerfile", Config())
    lines = []
    for h in result.hits:
        f = h.finding
        tag = "" if f.fixable else " [needs a human]"
        lines.append(f"{f.line} {f.rule} {f.kind} {f.variable}: {f.message}{tag}\n")
    return "".join(lines)


def expected_bytes(data: bytes) -> bytes:
    result = migrate(data, "input.Dockerfile", Config())
    return result.new if result.new is not None else data


def cases() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / "input.Dockerfile").exists())
