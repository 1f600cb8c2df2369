"""Writing: backups outside the work tree, atomic replace, all or nothing; and rollback.

Backups hold the old secrets, so they never go where a build can pick them up (a build context is
often the whole work tree, ``.git`` included). Each run gets its own directory in a per-user state
directory (``$XDG_STATE_HOME/migrate-secrets``, default ``~/.local/state/migrate-secrets``, mode
0700), keyed by the repository's real root path::

    <state>/<repo>-<hash of its real path>/<stamp>/files/<path in the repository>   the old bytes
    <state>/<repo>-<hash of its real path>/<stamp>/journal.json                      what was written

``backup_dir`` replaces ``<state>``. Every check runs before the first byte is written: each target
still holds what was read, its directory is writable. Then the backups and the journal are written,
then each file is replaced atomically (temp file in the same directory, fsync, ``os.replace``)
keeping mode and owner, through symlinks to their target. If a replace fails, the files already
replaced get their old bytes back and the run's directory goes. ``rollback`` reads the newest
journal, refuses files edited since (unless forced) and marks the journal rolled back, so a second
rollback has nothing left to do.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codemod.model import FileChange

JOURNAL = "journal.json"
_STAMP = re.compile(r"^\d{8}-\d{6}(?:-\d+)?$")


class WriteError(Exception):
    pass


@dataclass
class Written:
    path: Path  # the real file written (symlinks resolved)
    backup: Path | None
    shown: Path | None = None  # the path as the user named it


@dataclass
class Applied:
    written: list[Written]
    #: the run's directory: its backups and journal (None when nothing was written)
    run_dir: Path | None = None
    journal_error: str = ""


def stamp_now() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def state_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/migrate-secrets``, else ``~/.local/state/migrate-secrets`` (XDG base directories:
    a relative ``XDG_STATE_HOME`` is ignored)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME", "")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "migrate-secrets"


def repo_key(root: Path) -> str:
    """The state directory's name for the repository at ``root``: its name and a hash of its real path."""
    real = os.path.realpath(root)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(real)) or "root"
    return f"{name}-{digest}"


def runs_dir(root: Path, backup_dir: Path | None = None) -> Path:
    """Where the runs of the repository at ``root`` keep their backups and journals."""
    return (Path(backup_dir) if backup_dir is not None else state_home()) / repo_key(root)


def check_backup_dir(root: Path, backup_dir: Path | None) -> None:
    """Refuse a backup directory inside the work tree: a build could copy the old secrets in."""
    where = Path(os.path.realpath(runs_dir(root, backup_dir)))
    real_root = Path(os.path.realpath(root))
    if where == real_root or real_root in where.parents:
        named = f"--backup-dir {backup_dir}" if backup_dir is not None else f"the state directory {where.parent}"
        raise WriteError(f"{named} is inside the work tree {root}: backups hold the old secrets and must stay "
                         "out of every build context; choose a directory outside it (--backup-dir, or "
                         "XDG_STATE_HOME)")


def _private_dir(path: Path) -> None:
    """``path`` and its missing parents, each new one mode 0700 (backups hold secrets)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):
            p.mkdir(mode=0o700)
        os.chmod(p, 0o700)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(target: Path, data: bytes, *, like: os.stat_result | None = None, private: bool = False) -> None:
    """Replace ``target`` (a real path, not a symlink) with ``data`` in one step: with ``like``'s mode and
    owner, else a new file's usual mode (0600 when ``private``: backups, the journal)."""
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
        elif not private:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Failed(Exception):
    """A write failed; ``shown`` is the file the user knows it by."""

    def __init__(self, shown: object, error: OSError) -> None:
        super().__init__(f"{shown}: {error.strerror or error}")
        self.shown = shown


def _write(shown: object, target: Path, data: bytes, like: os.stat_result | None, private: bool = False) -> None:
    try:
        atomic_write(target, data, like=like, private=private)
    except OSError as e:
        raise _Failed(shown, e) from None


def _clean_stale_temps(dirs: set[Path]) -> None:
    """Temp files a killed run left behind (``.<name>.<random>.migrate-secrets.tmp``)."""
    for d in dirs:
        for tmp in d.glob(".*.migrate-secrets.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _backup_name(real: Path, root: Path) -> Path:
    """Where under ``files/`` the backup of ``real`` goes: its path in the repository."""
    try:
        return real.relative_to(Path(os.path.realpath(root)))
    except ValueError:
        return Path("_outside", *real.parts[1:])


_Plan = list[tuple[FileChange, Path, "os.stat_result | None"]]


def _plan(changes: list[FileChange]) -> _Plan:
    """Each change with its real path and mode, checked writable and unchanged since it was read."""
    plan: _Plan = []
    seen: set[Path] = set()
    for c in changes:
        real = Path(os.path.realpath(c.path))
        if real in seen:
            raise WriteError(f"{c.path}: planned twice (through a symlink); not written")
        seen.add(real)
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
    return plan


def _new_run_dir(base: Path, stamp: str) -> Path:
    try:
        _private_dir(base)
        n, run = 0, base / stamp
        while True:
            try:
                run.mkdir(mode=0o700)
                return run
            except FileExistsError:
                n += 1
                run = base / f"{stamp}-{n}"
    except OSError as e:
        raise WriteError(f"{base} (the backup directory): {e.strerror or e}; nothing changed") from None


def apply_changes(changes: list[FileChange], *, backup: bool = True, stamp: str | None = None,
                  root: Path | None = None, backup_dir: Path | None = None) -> list[Written]:
    """Write every change or none. Raises WriteError naming the file and the reason."""
    return apply_changes_ex(changes, backup=backup, stamp=stamp, root=root, backup_dir=backup_dir).written


def apply_changes_ex(changes: list[FileChange], *, backup: bool = True, stamp: str | None = None,
                     root: Path | None = None, backup_dir: Path | None = None,
                     runtime: list[str] | None = None) -> Applied:
    """:func:`apply_changes`, also saying where the run's backups and journal are.

    ``runtime`` names the variables the migration moved to runtime configuration (kept in the journal,
    names only, for ``verify``)."""
    stamp = stamp or stamp_now()
    base = Path(root or Path.cwd())
    check_backup_dir(base, backup_dir)
    # Dockerfiles last: a run killed halfway leaves Dockerfiles still to migrate, so a rerun
    # sees them again and finishes the env examples, compose files and workflows too
    plan = _plan(sorted(changes, key=lambda c: c.kind == "dockerfile"))
    _clean_stale_temps({real.parent for _, real, _ in plan})
    run = _new_run_dir(runs_dir(base, backup_dir), stamp)
    written: list[Written] = []
    try:
        for c, real, _st in plan:
            b = None
            if c.old is not None and backup:
                b = run / "files" / _backup_name(real, base)
                _private_dir(b.parent)
                _write(f"{c.path} (its backup)", b, c.old, None, private=True)
            written.append(Written(real, b, c.path))
        doc = {"stamp": run.name, "root": os.path.realpath(base), "runtime": sorted(runtime or []), "files": [
            {"path": str(w.path), "shown": str(w.shown), "backup": str(w.backup) if w.backup else None,
             "sha256": _sha(c.new), "created": c.old is None}
            for w, (c, _, _) in zip(written, plan, strict=True)]}
        _write("the rollback journal", run / JOURNAL, json.dumps(doc, indent=1).encode(), None, private=True)
        _replace_all(plan)
    except _Failed as e:
        shutil.rmtree(run, ignore_errors=True)
        raise WriteError(f"{e}; nothing changed") from None
    except WriteError as e:
        if "could not restore" not in str(e):
            shutil.rmtree(run, ignore_errors=True)
        raise  # else the backups stay: they are the way back
    return Applied(written, run)


def _replace_all(plan: _Plan) -> None:
    """Replace each file; on a failure put back the ones already replaced, or say which could not be."""
    done: _Plan = []
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


# -- rollback -------------------------------------------------------------------------------------


@dataclass
class Restore:
    path: Path
    backup: Path | None
    action: str  # "restored" | "removed" | "unchanged" | "refused" | "missing"
    reason: str = ""


@dataclass
class Rollback:
    """What ``rollback`` did: ``restores`` per file; ``nothing`` says why there was nothing to do."""

    restores: list[Restore] = field(default_factory=list)
    run_dir: Path | None = None
    nothing: str = ""


def find_runs(start: Path, backup_dir: Path | None = None) -> list[Path]:
    """The run directories of the repository holding ``start``, oldest first.

    The repository is the git work tree holding ``start``; outside git, the nearest directory upward
    that has runs."""
    from codemod.discover import git_root

    start = Path(start).resolve()
    top = git_root(start)
    cands = [top] if top is not None else [d for d in (start, *start.parents) if not d.is_file()]
    for d in cands:
        base = runs_dir(d, backup_dir)
        if base.is_dir():
            runs = [p for p in base.iterdir() if _STAMP.match(p.name) and (p / JOURNAL).is_file()]
            if runs:
                return sorted(runs, key=lambda p: _stamp_key(p.name))
    return []


def _stamp_key(name: str) -> tuple[str, int]:
    stamp, _, n = name[:15], name[15:16], name[16:]
    return stamp, int(n) if n.isdigit() else 0


def read_journal(run: Path) -> dict[str, object]:
    doc = json.loads((run / JOURNAL).read_text(encoding="utf-8"))
    return doc if isinstance(doc, dict) else {}


def rollback(paths: list[Path], *, stamp: str | None = None, force: bool = False, root: Path | None = None,
             backup_dir: Path | None = None) -> Rollback:
    """Restore the files of the newest (or the named) migration; refuse files edited since."""
    start = Path(root) if root is not None else (Path(paths[0]) if paths else Path.cwd())
    runs = find_runs(start if start.exists() else Path.cwd(), backup_dir)
    if stamp:
        runs = [r for r in runs if r.name == stamp]
    if not runs:
        where = f"for {stamp} " if stamp else ""
        return Rollback(nothing=f"no migration {where}to roll back: no journal in {runs_dir(start, backup_dir)}")
    run = runs[-1]
    doc = read_journal(run)
    if doc.get("rolled_back"):
        return Rollback(run_dir=run, nothing=f"nothing left to roll back: the migration of {run.name} was "
                        f"rolled back at {doc['rolled_back']}")
    wanted = {Path(os.path.realpath(p)) for p in paths}
    out, plan = _rollback_plan(doc, wanted, force)
    if any(r.action == "refused" for r in out):
        out += [Restore(p, b, "refused", "not restored: another file was refused") for p, b, _ in plan]
        return Rollback(out, run)
    for p, b, created in plan:
        if created:
            p.unlink()
            out.append(Restore(p, None, "removed", "created by the migration"))
        elif b is not None:
            atomic_write(p, b.read_bytes(), like=p.stat())
            out.append(Restore(p, b, "restored"))
    if not wanted:
        doc["rolled_back"] = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        atomic_write(run / JOURNAL, json.dumps(doc, indent=1).encode(), private=True)
    return Rollback(out, run)


def _rollback_plan(doc: Mapping[str, object], wanted: set[Path], force: bool
                   ) -> tuple[list[Restore], list[tuple[Path, Path | None, bool]]]:
    out: list[Restore] = []
    plan: list[tuple[Path, Path | None, bool]] = []
    files = doc.get("files")
    for entry in files if isinstance(files, list) else []:
        p = Path(entry["path"])
        if wanted and not (p in wanted or any(w in p.parents for w in wanted)):
            continue
        b = Path(entry["backup"]) if entry.get("backup") else None
        created = bool(entry.get("created"))
        current = p.read_bytes() if p.exists() else None
        if current is None:
            out.append(Restore(p, b, "unchanged" if created else "missing",
                               "already gone" if created else "file no longer exists"))
        elif b is not None and b.is_file() and b.read_bytes() == current:
            out.append(Restore(p, b, "unchanged", "already holds its old content"))
        elif _sha(current) != entry["sha256"] and not force:
            out.append(Restore(p, b, "refused", "edited since the migration (use --force)"))
        elif not created and (b is None or not b.is_file()):
            why = "written with --no-backup" if b is None else f"backup {b} is gone"
            out.append(Restore(p, b, "refused", f"no backup ({why})"))
        else:
            plan.append((p, b, created))
    return out, plan
