"""What a RUN leaves behind that holds a secret: credential files it writes, tool configuration it sets.

Each finding comes with the shell command that undoes it; the caller decides whether that undo can be
trusted (design.md section 3, item 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FILES = r"(?:\.npmrc|\.netrc|\.pypirc|\.git-credentials|\.yarnrc(?:\.yml)?|pip\.conf|pip\.ini|config\.json|auth\.json)"
_WRITE_FILE = re.compile(r">>?\s*[\"']?([^\s\"'&;|]*" + _FILES + r")[\"']?")
_CONFIG_SET = re.compile(r"\b(npm|yarn|pnpm|pip)\s+config\s+set\s+([^\s&;|]+)")
_GIT_INSTEADOF = re.compile(
    r"\bgit\s+config\s+((?:--(?:global|system|file\s+\S+)\s+)?)(url\.[^\s&;|]*?)\.insteadOf\b", re.I
)


@dataclass
class Persistence:
    what: str  # a description, no value
    undo: str  # the shell command that undoes it


def persistence(command: str) -> list[Persistence]:
    """What a RUN leaves behind that holds a secret, unless the same RUN undoes it."""
    found: list[Persistence] = []
    for m in _WRITE_FILE.finditer(command):
        path = m.group(1)
        base = path.rsplit("/", 1)[-1]
        if re.search(r"\brm\b[^&;|]*" + re.escape(base), command):
            continue
        found.append(Persistence(f"writes {path}", f"rm -f {path}"))
    for m in _CONFIG_SET.finditer(command):
        tool, key = m.group(1), m.group(2)
        if re.search(rf"\b{tool}\s+config\s+(?:delete|unset|rm)\s+{re.escape(key)}", command):
            continue
        verb = "unset" if tool == "pip" else "delete"
        found.append(Persistence(f"{tool} config set {key}", f"{tool} config {verb} {key}"))
    for m in _GIT_INSTEADOF.finditer(command):
        scope, section = m.group(1), m.group(2)
        if re.search(r"git\s+config\s+[^&;|]*(--unset|--remove-section)", command):
            continue
        found.append(Persistence("git config insteadOf", f"git config {scope}--remove-section {section}"))
    return found
