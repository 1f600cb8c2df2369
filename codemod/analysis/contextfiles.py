"""A snapshot of the build context files the rules may look at, read once before they run.

Rules do no I/O (design.md section 4): what they need of the context (the tool configuration that
names variables, ``.dockerignore``, which credential files lie where ``COPY`` takes from) is read here
by :func:`read_context` and handed to them as a :class:`ContextFiles`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from codemod.dockerfile.scanner import Dockerfile

#: ``${NPM_TOKEN}`` in an ``.npmrc``/``.yarnrc.yml`` (npm, yarn and pnpm expand it from the environment)
_RC_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: ``${env.REPO_TOKEN}`` in a Maven settings file
_MAVEN_REF = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}")
_NPMRC = re.compile(r"^\.(?:npmrc|yarnrc)[^/]*$|^\.yarnrc\.yml$")
_MAVEN = re.compile(r"(?:^|[-_.])settings[^/]*\.xml$")
#: an .npmrc/.yarnrc line with a literal token (not a ${VAR} the tool expands at build time)
_NPMRC_LITERAL = re.compile(r"(?m)(?:_authToken|_auth|_password|npmAuthToken)\s*[=:]\s*[\"']?(?!\$\{)[^\s\"'$]{8,}")
MAX_SIZE = 1 << 20


@dataclass(frozen=True)
class ContextFiles:
    """What the rules may know of a build context (empty without one)."""

    #: variables an ``.npmrc``-like file of the context expands (npm/yarn/pnpm read them)
    npmrc_vars: frozenset[str] = frozenset()
    #: variables a Maven settings file of the context expands (``${env.X}``)
    maven_vars: frozenset[str] = frozenset()
    #: the text of the context's ``.dockerignore`` (None: there is none)
    dockerignore: str | None = None
    #: directory (relative, "" for the top) -> the regular files in it, for the directories COPY takes from
    listing: dict[str, frozenset[str]] = field(default_factory=dict)
    #: relative paths of ``.npmrc``-like files holding a literal token
    npmrc_with_token: frozenset[str] = frozenset()
    present: bool = False


EMPTY = ContextFiles()


def _read(path: str) -> str | None:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size >= MAX_SIZE:
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def _copy_dirs(df: Dockerfile) -> set[str]:
    """Directories of the context that COPY/ADD take files from (``COPY . .``: the top)."""
    dirs = {""}
    for ins in df.instructions:
        if ins.effective not in ("COPY", "ADD") or len(ins.value) < 2:
            continue
        for src in ins.value[:-1]:
            src = src.strip().rstrip("/")
            if "$" in src or src.startswith("/") or ".." in src.split("/"):
                continue
            head = src.rsplit("/", 1)[0] if "/" in src else ""
            dirs.add(head if head != "." else "")
            if src not in (".", "*", "") and "*" not in src:
                dirs.add(src)
    return dirs


def read_context(context: Path | None, df: Dockerfile) -> ContextFiles:
    """The snapshot of ``context`` the rules of ``df`` may read."""
    if context is None:
        return EMPTY
    root = str(context)
    listing: dict[str, frozenset[str]] = {}
    for d in sorted(_copy_dirs(df)):
        try:
            with os.scandir(os.path.join(root, d)) as entries:  # d_type: no stat per entry
                listing[d] = frozenset(e.name for e in entries if e.is_file())
        except OSError:
            continue
    npmrc: set[str] = set()
    maven: set[str] = set()
    with_token: set[str] = set()
    for d, names in listing.items():
        for name in names:
            rel = f"{d}/{name}" if d else name
            if _NPMRC.match(name):
                text = _read(os.path.join(root, rel))
                if text is not None:
                    npmrc.update(_RC_REF.findall(text))
                    if _NPMRC_LITERAL.search(text):
                        with_token.add(rel)
            elif _MAVEN.search(name):
                text = _read(os.path.join(root, rel))
                if text is not None:
                    maven.update(_MAVEN_REF.findall(text))
    for extra in (".mvn/settings.xml", ".m2/settings.xml", "maven/settings.xml"):
        text = _read(os.path.join(root, extra))
        if text is not None:
            maven.update(_MAVEN_REF.findall(text))
    return ContextFiles(npmrc_vars=frozenset(npmrc), maven_vars=frozenset(maven),
                        dockerignore=_read(os.path.join(root, ".dockerignore")), listing=listing,
                        npmrc_with_token=frozenset(with_token), present=True)
