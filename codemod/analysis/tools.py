"""Build tools that read a variable from the environment without naming it with ``$``."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: (what the RUN runs, which variables that tool reads by itself)
_IMPLICIT: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(tool), re.compile(var))
    for tool, var in (
        (r"\bsentry-cli\b|@sentry/(?:cli|webpack-plugin|vite-plugin)", r"^SENTRY_AUTH_TOKEN$"),
        (r"\bbundle(?:r)?\s+(?:install|update|package)\b", r"^BUNDLE_[A-Z0-9_]+$"),
        (r"\btwine\s+upload\b", r"^TWINE_(?:PASSWORD|TOKEN)$"),
        (r"\bpoetry\s+(?:install|add|lock|update|publish)\b", r"^POETRY_(?:HTTP_BASIC_\w+_PASSWORD|PYPI_TOKEN_\w+)$"),
        (r"\buv\s+(?:sync|pip|add|lock)\b", r"^UV_INDEX_\w+_PASSWORD$"),
        (r"\bgh\s+\w+", r"^(?:GH|GITHUB)_TOKEN$"),
        (r"\bcomposer\s+(?:install|update|require)\b", r"^COMPOSER_AUTH$"),
        (r"\bcargo\s+(?:build|fetch|install|publish)\b", r"^CARGO_REGISTR(?:Y|IES_\w+)_TOKEN$"),
        (r"\b(?:npm|npx|yarn|pnpm)\b", r"^(?:NPM_TOKEN|NODE_AUTH_TOKEN)$"),
    )
)
_NPM = re.compile(r"\b(?:npm|npx|yarn|pnpm)\b")
_RC_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def npmrc_vars(context: Path | None) -> set[str]:
    """Variables a committed ``.npmrc``/``.yarnrc.yml`` in the build context expands (``${NPM_TOKEN}``)."""
    if context is None:
        return set()
    found: set[str] = set()
    for name in (".npmrc", ".yarnrc.yml", ".yarnrc"):
        text = read_context_file(context, name, 1 << 20)
        if text is not None:
            found.update(_RC_REF.findall(text))
    return found


def read_context_file(context: Path, name: str, max_size: int | None = None) -> str | None:
    """The text of the regular file ``name`` in ``context`` (UTF-8, bad bytes replaced), or None when it is
    missing, not a regular file, unreadable, or (with ``max_size``) that many bytes or more.

    One ``stat`` on a plain string path: this runs for every Dockerfile, and most contexts have no such file.
    """
    path = os.path.join(context, name)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or (max_size is not None and st.st_size >= max_size):
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def reads_implicitly(command: str, name: str, rc_vars: set[str]) -> bool:
    """Does running ``command`` read ``name`` from the environment?"""
    if name in rc_vars and _NPM.search(command):
        return True
    for tool, var in _IMPLICIT:
        if var.match(name) and tool.search(command):
            if var.pattern.startswith("^(?:NPM_TOKEN") and name not in rc_vars:
                continue  # npm reads NPM_TOKEN only through an .npmrc that names it
            return True
    return False


def may_read_implicitly(name: str, rc_vars: set[str]) -> bool:
    """Can :func:`reads_implicitly` be true for ``name`` in some RUN? Only for a name in ``rc_vars`` or one
    a known tool reads by itself: other names need a ``$`` reference to be read."""
    return name in rc_vars or any(var.match(name) for _, var in _IMPLICIT)
