"""Writing: backups, atomic replace, all or nothing; and rollback from the backups.

Every check runs before the first byte is written: each target still holds what
was read, its directory is writable. Then backups are written, then each file
is replaced atomically (temp file in the same directory, fsync, ``os.replace``)
keeping mode and owner, through symlinks to their target. If a replace fails,
the files already replaced get their old bytes back. A journal records what was
written so ``rollback`` can tell a migrated file from one edited since.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codemod.discover import git_dir
from codemod.model import FileChange

BACKUP_PATTERN = "*.backup-*"
_STAMP = re.compile(r"\.backup-(\d{8}-\d{6})(?:-\d+)?$")


class WriteError(Exception):
    pass


@dataclass
class Written:
    path: Path  # the real file written (symlinks resolved)
    backup: Path | None
    shown: Path | None = None  # the path as the user named it


def stamp_now() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def journal_dir(start: Path) -> Path:
    g = git_dir(start.resolve())
    return (g / "migrate-secrets") if g else (start.resolve() / ".migrate-secrets")


def exclude_backups(start: Path) -> None:
    g = git_dir(start.resolve())
    if g is None:
        return
    common = g / "commondir"  # a linked worktree: git reads info/exclude from the shared directory only
    if common.is_file():
        g = (g / common.read_text(encoding="utf-8", errors="replace").strip()).resolve()
    info = g / "info"
    info.mkdir(parents=True, exist_ok=True)
    ex = info / "exclude"
    text = ex.read_text(encoding="utf-8", errors="surrogateescape") if ex.exists() else ""
    if BACKUP_PATTERN not in text.splitlines():
        with open(ex, "a", encoding="utf-8", errors="surrogateescape") as fh:
            if text and not text.endswith("\n"):
                fh.write("\n")
            fh.write("# migrate-secrets backups hold the old secrets\n" + BACKUP_PATTERN + "\n")


def atomic_write(target: Path, data: bytes, *, like: os.stat_result | None = None) -> None:
    """Replace ``target`` (a real path, not a symlink) with ``data`` in one step."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".migrate-secrets.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if like is not None:
            os.chmod(tmp, like.st_mode & 0o7777)
            with contextlib.suppress(OSError):
                os.chown(tmp, like.st_uid, like.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _backup_path(real: Path, stamp: str) -> Path:
    cand = real.with_name(f"{real.name}.backup-{stamp}")
    n = 1
    while cand.exists():
        cand = real.with_name(f"{real.name}.backup-{stamp}-{n}")
        n += 1
    return cand


class _Failed(Exception):
    """A write failed; ``shown`` is the file the user knows it by."""

    def __init__(self, shown: object, error: OSError) -> None:
        super().__init__(f"{shown}: {error.strerror or error}")
        self.shown = shown


def _write(shown: object, target: Path, data: bytes, like: os.stat_result | None) -> None:
    try:
        atomic_write(target, data, like=like)
    except OSError as e:
        raise _Failed(shown, e) from None


def _clean_stale_temps(dirs: set[Path]) -> None:
    """Temp files a killed run left behind (``.<name>.<random>.migrate-secrets.tmp``)."""
    for d in dirs:
        for tmp in d.glob(".*.migrate-secrets.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()


@dataclass
class Applied:
    written: list[Written]
    journal_error: str = ""


def apply_changes(changes: list[FileChange], *, backup: bool = True, stamp: str | None = None,
                  root: Path | None = None) -> list[Written]:
    """Write every change or none. Raises WriteError naming the file and the reason."""
    return apply_changes_ex(changes, backup=backup, stamp=stamp, root=root).written


def apply_changes_ex(changes: list[FileChange], *, backup: bool = True, stamp: str | None = None,
                     root: Path | None = None) -> Applied:
    """:func:`apply_changes`, also saying whether the journal (what ``rollback`` reads) was written."""
    stamp = stamp or stamp_now()
    base = root or Path.cwd()
    # Dockerfiles last: a run killed halfway leaves Dockerfiles still to migrate, so a rerun
    # sees them again and finishes the env examples, compose files and workflows too
    changes = sorted(changes, key=lambda c: c.kind == "dockerfile")
    plan: list[tuple[FileChange, Path, os.stat_result | None]] = []
    st: os.stat_result | None
    for c in changes:
        real = Path(os.path.realpath(c.path))
        if c.old is None:
            if real.exists():
                raise WriteError(f"{c.path}: created by someone else since it was planned; not overwritten")
            if not os.access(real.parent, os.W_OK):
                raise WriteError(f"{c.path}: directory is not writable")
            plan.append((c, real, None))
            continue
        try:
            st = real.stat()
            now = real.read_bytes()
        except OSError as e:
            raise WriteError(f"{c.path}: {e.strerror or e}") from None
        if now != c.old:
            raise WriteError(f"{c.path}: changed on disk since it was read; not overwritten")
        if not os.access(real.parent, os.W_OK):
            raise WriteError(f"{c.path}: directory is not writable (read-only checkout?)")
        if not os.access(real, os.W_OK):
            raise WriteError(f"{c.path}: file is not writable")
        plan.append((c, real, st))

    _clean_stale_temps({real.parent for _, real, _ in plan})
    if backup:
        exclude_backups(base)  # before the first backup exists: a crash never leaves one visible to git
    written: list[Written] = []
    backups: list[Path] = []
    try:
        for c, real, st in plan:
            if c.old is not None and backup:
                b = _backup_path(real, stamp)
                _write(f"{c.path} (its backup)", b, c.old, st)
                backups.append(b)
                written.append(Written(real, b, c.path))
            else:
                written.append(Written(real, None, c.path))
        _replace_all(plan)
    except _Failed as e:
        _drop(backups)
        raise WriteError(f"{e}; nothing changed") from None
    except WriteError as e:
        if "could not restore" in str(e):
            raise  # the backups stay: they are the way back
        _drop(backups)
        raise
    error = _journal(base, stamp, [(w, c.new) for w, (c, _, _) in zip(written, plan, strict=True)])
    return Applied(written, error)


def _replace_all(plan: list[tuple[FileChange, Path, os.stat_result | None]]) -> None:
    """Replace each file; on a failure put back the ones already replaced, or say which could not be."""
    done: list[tuple[FileChange, Path, os.stat_result | None]] = []
    try:
        for item in plan:
            c, real, st = item
            if c.old is not None and real.read_bytes() != c.old:
                raise WriteError(f"{c.path}: changed on disk while writing; not overwritten")
            _write(c.path, real, c.new, st)
            done.append(item)
    except (_Failed, WriteError, OSError) as e:
        stuck: list[str] = []
        for c, real, st in reversed(done):
            try:
                if c.old is None:
                    real.unlink()
                else:
                    atomic_write(real, c.old, like=st)
            except OSError:
                stuck.append(str(c.path))
        if stuck:
            raise WriteError(f"{e}; could not restore {', '.join(sorted(stuck))}: they stay migrated, their "
                             "backups are kept; `migrate-secrets rollback --force` restores them") from None
        raise WriteError(f"{e}; nothing changed") from None


def _drop(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def _journal(root: Path, stamp: str, entries: list[tuple[Written, bytes]]) -> str:
    """Record what was written; the reason when that failed (rollback then needs --force)."""
    d = journal_dir(root)
    try:
        d.mkdir(parents=True, exist_ok=True)
        doc = {"stamp": stamp, "files": [
            {"path": str(w.path), "backup": str(w.backup) if w.backup else None, "sha256": _sha(new)}
            for w, new in entries
        ]}
        atomic_write(d / f"journal-{stamp}.json", json.dumps(doc, indent=1).encode())
    except OSError as e:
        return f"{d}: {e.strerror or e}"
    return ""


@dataclass
class Restore:
    path: Path
    backup: Path | None
    action: str  # "restored" | "removed" | "refused" | "missing"
    reason: str = ""


def rollback(paths: list[Path], *, stamp: str | None = None, force: bool = False,
             root: Path | None = None) -> list[Restore]:
    """Restore the files of the newest (or the named) migration; refuse files edited since."""
    base = root or Path.cwd()
    d = journal_dir(base)
    journals = sorted(d.glob("journal-*.json")) if d.is_dir() else []
    if stamp:
        journals = [j for j in journals if j.stem == f"journal-{stamp}"]
    wanted = {Path(os.path.realpath(p)) for p in paths}

    def selected(p: Path) -> bool:
        return not wanted or p in wanted or any(w in p.parents for w in wanted)

    if journals:
        doc = json.loads(journals[-1].read_text())
        out: list[Restore] = []
        plan: list[tuple[Path, Path | None]] = []
        for entry in doc["files"]:
            p = Path(entry["path"])
            if not selected(p):
                continue
            b = Path(entry["backup"]) if entry["backup"] else None
            current = p.read_bytes() if p.exists() else None
            if current is None:
                out.append(Restore(p, b, "missing", "file no longer exists"))
                continue
            if _sha(current) != entry["sha256"] and not force:
                out.append(Restore(p, b, "refused", "edited since the migration (use --force)"))
                continue
            if b is not None and not b.exists():
                out.append(Restore(p, b, "refused", f"backup {b.name} is gone"))
                continue
            plan.append((p, b))
        if any(r.action == "refused" for r in out):
            return out + [Restore(p, b, "refused", "not restored: another file was refused") for p, b in plan]
        for p, b in plan:
            if b is None:
                p.unlink()
                out.append(Restore(p, None, "removed", "created by the migration"))
            else:
                atomic_write(p, b.read_bytes(), like=p.stat())
                out.append(Restore(p, b, "restored"))
        return out
    # no journal: the newest backup beside each named file
    out = []
    for p in sorted(wanted):
        cands = sorted(p.parent.glob(p.name + ".backup-*"), key=lambda b: _STAMP.search(b.name) and b.name or "")
        cands = [b for b in cands if _STAMP.search(b.name) and (not stamp or stamp in b.name)]
        if not cands:
            out.append(Restore(p, None, "missing", "no backup found"))
            continue
        if not force:
            out.append(Restore(p, cands[-1], "refused", "no migration journal to prove it unchanged (use --force)"))
            continue
        atomic_write(p, cands[-1].read_bytes(), like=p.stat() if p.exists() else None)
        out.append(Restore(p, cands[-1], "restored"))
    return out
