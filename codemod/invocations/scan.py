"""What the parsers do not read: a text scan for the migrated build args beside build-arg syntax in files of
a format no handler rewrites (a Python build script, a Taskfile, a ``package.json`` script, a Tekton task).

Such a file is a producer the run cannot rewrite, so its secrets stay (design.md section 3.5). The scan runs
only when a migration exists, over the files under the run's paths (in a git work tree: the tracked text
files, less the kinds a handler reads, Dockerfiles, ``*.txt`` and lockfiles), with one combined pattern of the
migrated names: ``git grep`` does the reading, so a monorepo costs one process and no directory walk. A line
counts when the name is a ``--build-arg`` value (or a ``build-arg:`` option of buildctl), sits on a line that
names build args (``buildArgs: {NAME: ...}``), or is an entry ``NAME=``/``NAME:`` under a key that does
(``args:``, ``build-args``, ``buildArgs``, ``build_args``). Documentation only gets a note: it builds nothing.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.model import BlockedProducer, DockerfileMigration

if TYPE_CHECKING:
    from codemod.config import Config

KIND = "script-build-arg-secret"
_DOCS = (".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".html", ".htm", ".org", ".ipynb")
_BLOCK_KEY = re.compile(r"(?i)(?:build[-_ ]?args?|(?<![A-Za-z0-9_])args)[\"']?[ \t]*[:=]|--build-arg")
#: files git grep need not read: kinds a handler reads (the common names), plain text notes, lockfiles
_SKIP_PATHSPECS = (":(exclude,icase)*dockerfile*", ":(exclude,icase)*containerfile*", ":(exclude)*.txt",
                   ":(exclude)*.lock", ":(exclude)*-lock.json", ":(exclude,glob)**/*compose*.y*ml",
                   ":(exclude,glob)**/.github/workflows/*.y*ml", ":(exclude,glob)**/*.sh",
                   ":(exclude,glob)**/*.mk", ":(exclude,glob)**/Makefile")
_SKIP_DIRS = {".git", "node_modules", ".hg", ".svn", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"}
REASON = "a file of a format migrate-secrets does not rewrite passes it as a build arg"


def migrated_names(migrations: list[DockerfileMigration]) -> set[str]:
    """Every build arg the migrations change (a kept one is not changed)."""
    names: set[str] = set()
    for m in migrations:
        names |= {s.arg for s in m.build_secrets} | m.removed_args | m.runtime_args
    return names


class _Matcher:
    def __init__(self, names: set[str]) -> None:
        alt = "|".join(sorted(names, key=len, reverse=True))
        self.flag = re.compile(rf"(?:--build-arg(?:=|[ \t]+)|build-arg:)[\"']?(?P<n>{alt})(?![A-Za-z0-9_])")
        self.inline = re.compile(rf"(?i:build[-_]?args?)\b.*?(?<![A-Za-z0-9_])(?P<n>{alt})(?![A-Za-z0-9_])")
        self.entry = re.compile(rf"^(?P<ind>[ \t]*)(?:-[ \t]*)?[\"']?(?P<n>{alt})[\"']?[ \t]*[=:]")

    def line(self, line: str) -> tuple[str, bool] | None:
        """(name, certain) for a line that passes a name as a build arg; ``certain`` False: an entry whose
        parent key must still be looked at."""
        for rx in (self.flag, self.inline):
            m = rx.search(line)
            if m is not None:
                return m.group("n"), True
        m = self.entry.match(line)
        return (m.group("n"), False) if m is not None else None


def _parent_names_build_args(lines: list[str], index: int) -> bool:
    """The nearest line above ``index`` indented less than it is a key that names build args."""
    here = lines[index]
    ind = len(here) - len(here.lstrip(" \t"))
    for k in range(index - 1, max(-1, index - 60), -1):
        text = lines[k]
        if not text.strip():
            continue
        if len(text) - len(text.lstrip(" \t")) < ind:
            return _BLOCK_KEY.search(text) is not None
    return False


def scan_producers(paths: list[str], migrations: list[DockerfileMigration], config: Config,
                   handled: frozenset[Path] = frozenset()) -> tuple[list[BlockedProducer], list[str]]:
    """Blocked producers in files no handler reads (``handled``: absolute paths a handler read whatever their
    name, such as GitLab CI includes), and notes for documentation that names them."""
    names = migrated_names(migrations)
    if not names:
        return [], []
    matcher = _Matcher(names)
    blocked: list[BlockedProducer] = []
    notes: list[str] = []
    for shown, number, line, lines in _hits(paths, names, config, handled):
        got = matcher.line(line)
        if got is None:
            continue
        name, certain = got
        if not certain:
            text_lines = lines()
            if number - 1 >= len(text_lines) or not _parent_names_build_args(text_lines, number - 1):
                continue
        if shown.lower().endswith(_DOCS):
            notes.append(f"{shown}:{number}: documents --build-arg {name}, which the build now takes as a secret: "
                         "update the text")
        else:
            col = line.find(name) + 1
            blocked.append(BlockedProducer(name, None, shown, number, REASON, KIND, max(col, 1)))
    return blocked, notes


def _hits(paths: list[str], names: set[str], config: Config, handled: frozenset[Path]
          ) -> Iterator[tuple[str, int, str, Callable[[], list[str]]]]:
    """(shown path, line number, line, lazy lines of the file) of each line holding a name, in files of a
    kind no handler reads."""
    from codemod.discover import git_root, kind_of

    kinds = {"dockerfile", "compose", "workflow", "makefile", "script", "ci"}
    cwd = Path.cwd()
    for raw in paths or ["."]:
        arg = Path(raw)
        if not arg.is_dir():
            continue
        top = git_root(arg)
        found = _git_grep(top, arg, names) if top is not None else None
        root = top if top is not None and found is not None else arg.absolute()
        if found is None:
            found = _walk_grep(root, names, config.max_file_size)
        for rel, number, line in found:
            if kind_of(rel) in kinds or _excluded(rel, config):
                continue
            full = root / rel
            if full.absolute() in handled:
                continue
            shown = os.path.relpath(full, cwd)
            yield shown, number, line, _lazy_lines(full)


def _excluded(rel: str, config: Config) -> bool:
    if config.include and not any(fnmatch.fnmatch(rel, g) for g in config.include):
        return True
    return bool(config.exclude) and any(fnmatch.fnmatch(rel, g) for g in config.exclude)


def _lazy_lines(path: Path) -> Callable[[], list[str]]:
    cache: list[list[str]] = []

    def get() -> list[str]:
        if not cache:
            try:
                cache.append(path.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                cache.append([])
        return cache[0]

    return get


def grep_pattern(names: set[str]) -> str:
    """One POSIX extended regex for the lines :class:`_Matcher` looks at: a name after ``--build-arg``, on a
    line naming build args, or starting an entry (``NAME=``, ``NAME:``, ``"NAME":``, ``- NAME=``)."""
    alt = "(" + "|".join(sorted(names)) + ")"
    end = "([^A-Za-z0-9_]|$)"
    keyword = "[Bb][Uu][Ii][Ll][Dd][-_]?[Aa][Rr][Gg]"
    return "|".join([
        f"(--build-arg(=|[[:space:]]+)[\"']?|build-arg:){alt}{end}",
        f"{keyword}.*[^A-Za-z0-9_]{alt}{end}",
        f"^[[:space:]]*(-[[:space:]]*)?[\"']?{alt}[\"']?[[:space:]]*[=:]",
    ])


def _git_grep(root: Path, arg: Path, names: set[str]) -> list[tuple[str, int, str]] | None:
    try:
        sub = arg.resolve().relative_to(root.resolve())
        proc = subprocess.run(
            ["git", "-C", str(root), "grep", "-I", "-n", "-z", "-E", "-e", grep_pattern(names), "--", str(sub),
             *_SKIP_PATHSPECS], capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if proc.returncode not in (0, 1):
        return None
    out: list[tuple[str, int, str]] = []
    for rec in proc.stdout.split(b"\n"):
        parts = rec.split(b"\0", 2)
        if len(parts) == 3 and parts[1].isdigit():
            out.append((os.fsdecode(parts[0]), int(parts[1]), parts[2].decode("utf-8", "replace")))
    return out


def _walk_grep(root: Path, names: set[str], max_size: int) -> list[tuple[str, int, str]]:
    """Outside git: every text file under ``root`` (small trees: tests, unpacked archives)."""
    rx = re.compile(grep_pattern(names).replace("[[:space:]]", r"\s").encode(), re.M)
    out: list[tuple[str, int, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                if os.path.islink(full) or os.path.getsize(full) > max_size:
                    continue
                with open(full, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if b"\0" in data[:8192] or rx.search(data) is None:
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            for n, line in enumerate(data.split(b"\n"), 1):
                if rx.search(line):
                    out.append((rel, n, line.decode("utf-8", "replace")))
    return out


def must_parse(path: Path, data: bytes, migrations: list[DockerfileMigration]) -> bool:
    """Whether a file that cannot be parsed blocks the run (design.md section 5): it names a secret being
    migrated, or it may build a Dockerfile being changed (it sits beside one, or names its directory)."""
    changing = [m for m in migrations if m.build_secrets or m.removed_args or m.runtime_args]
    if not changing:
        return False
    names = migrated_names(changing) | {s.id for m in changing for s in m.build_secrets}
    rx = re.compile(rb"(?<![A-Za-z0-9_])(?:" + "|".join(map(re.escape, sorted(names))).encode()
                    + rb")(?![A-Za-z0-9_])")
    if rx.search(data):
        return True
    here = path.absolute().parent.resolve()
    for m in changing:
        folder = m.dockerfile.parent
        if folder == here:
            return True
        for base in (here, *here.parents[:3]):
            try:
                rel = folder.relative_to(base).as_posix()
            except ValueError:
                continue
            named = re.compile(rb"(?<![\w./-])\.?/?" + re.escape(rel.encode()) + rb"(?![\w-])")
            if rel not in ("", ".") and named.search(data):
                return True
    return False
