"""Runtime hand-off: the variables that left the image go into an env *example* file.

Which file (design.md section 3.6): an existing ``.env.example`` beside the
compose file that builds the Dockerfile, or beside the Dockerfile; else
``<env_file>.example`` when compose names an env_file whose example exists;
else a new ``.env.example``. Existing keys, order and comments stay; missing
keys are appended once: secrets empty, moved settings with their old value.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from codemod.model import ComposeService

_KEY = re.compile(rb"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=", re.M)
HEADER = "# Runtime configuration moved out of the image by migrate-secrets (secrets: fill in at deploy time)"


def example_path(dockerfile: Path, mine: list[ComposeService]) -> Path:
    """Where the env example of ``dockerfile`` goes; ``mine`` are the compose services that build it."""
    dirs = [s.compose.parent for s in mine] + [dockerfile.parent]
    for d in dirs:
        if (d / ".env.example").is_file():
            return d / ".env.example"
    for s in mine:
        for ef in s.env_files:
            cand = ef.with_name(ef.name + ".example")
            if cand.is_file():
                return cand
    return dirs[0] / ".env.example"


def _quote(value: str) -> str:
    if value == "" or re.fullmatch(r"[A-Za-z0-9_./:@%+,=-]*", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def update_example(old: bytes | None, moved: list[tuple[str, str | None]]) -> bytes | None:
    """New bytes for the example file, or None when every key is already there."""
    data = old or b""
    present = {m.group(1).decode("utf-8", "surrogateescape") for m in _KEY.finditer(data)}
    missing = [(k, v) for k, v in moved if k not in present]
    seen: set[str] = set()
    lines: list[str] = []
    for k, v in missing:
        if k in seen:
            continue
        seen.add(k)
        lines.append(f"{k}={_quote(v) if v is not None else ''}")
    if not lines:
        return None
    nl = b"\r\n" if b"\r\n" in data else b"\n"
    out = data
    if out and not out.endswith(b"\n"):
        out += nl
    if HEADER.encode() not in out:
        if out and out.strip():
            out += nl
        out += HEADER.encode() + nl
    out += nl.join(line.encode("utf-8", "surrogateescape") for line in lines) + nl
    return out


def relpath(p: Path) -> str:
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return os.path.relpath(p)
