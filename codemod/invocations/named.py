"""Dockerfiles named by the files that build them, whatever they are called (design.md section 2).

A compose ``dockerfile:``, a workflow's ``docker/build-push-action`` ``file:`` and the ``-f`` of a
``docker build`` in a workflow ``run:`` step, a script or a Makefile name the file ``docker build``
reads; discovery by name misses it when it is called ``docker/web.build``. Each named file inside the
repository is read as a Dockerfile.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from codemod.discover import (
    CI,
    COMPOSE,
    DOCKERFILE,
    MAKEFILE,
    SCRIPT,
    WORKFLOW,
    Discovered,
    build_file_flags,
    git_root,
    real_path,
)

#: the files that name Dockerfiles are small; a bigger one is not read for this
_NAMING_MAX = 1 << 20
_BUILD_KINDS = frozenset({COMPOSE, WORKFLOW, MAKEFILE, SCRIPT, CI})  # CI files: their docker build -f
_ACTION = "docker/build-push-action"


def with_named_dockerfiles(files: list[Discovered], *, exclude: tuple[str, ...] = (),
                           log: list[str] | None = None) -> list[Discovered]:
    """``files`` plus the Dockerfiles their compose files, workflows, scripts and Makefiles name that discovery
    by name did not find: regular files inside the build file's repository, not a backup or ``.dockerignore``,
    not matched by ``exclude`` (relative to the repository root). Sorted as :func:`codemod.discover.discover`
    sorts."""
    builds = [f for f in files if f.kind in _BUILD_KINDS]
    if not builds:
        return files
    cwd = Path.cwd()
    roots: dict[Path, Path] = {}
    named: list[Path] = []
    for f in builds:
        parent = f.path.parent
        if parent not in roots:
            roots[parent] = git_root(f.path) or cwd
        named.extend(_named(f.path, f.kind, roots[parent], log))
    if not named:
        return files
    have = {real_path(f.path) for f in files}
    found = {Path(os.path.abspath(f.path)): f for f in files}
    for p in dict.fromkeys(named):
        real = real_path(p)
        if real in have:
            continue
        top = git_root(p) or cwd
        try:
            rel = real.relative_to(real_path(top)).as_posix()
        except ValueError:
            rel = p.name
        if exclude and any(fnmatch.fnmatch(rel, g) for g in exclude):
            continue
        have.add(real)
        found[p] = Discovered(_display(p, cwd), DOCKERFILE)
    return [found[k] for k in sorted(found)]


def _display(p: Path, cwd: Path) -> Path:
    try:
        return p.relative_to(cwd)
    except ValueError:
        return Path(os.path.relpath(p, cwd))


def _named(path: Path, kind: str, root: Path, log: list[str] | None) -> list[Path]:
    """The files one build file names as Dockerfiles (absolute), each the first existing candidate of its build."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_NAMING_MAX + 1)
    except OSError:
        return []
    if len(data) > _NAMING_MAX or b"\0" in data[:8192]:
        return []
    if kind == COMPOSE:
        groups = [[p] for p in _compose_named(path, data)]
    elif kind == WORKFLOW:
        groups = _workflow_named(path, data, root)
    else:
        text = data.decode("utf-8", "replace")
        groups = [[d / f for d in _upward(path.parent, root)] for f in build_file_flags(text)]
    real_root = real_path(root)
    out: list[Path] = []
    for candidates in groups:
        for cand in candidates:
            real = real_path(cand)
            if not real.is_relative_to(real_root) or not os.path.isfile(real):
                continue
            if real.name.endswith(".dockerignore") or ".backup-" in real.name:
                break
            if log is not None:
                log.append(f"read {os.path.relpath(real)}: named as a Dockerfile by {path}")
            out.append(Path(os.path.abspath(cand)))
            break
    return out


def _upward(start: Path, root: Path) -> list[Path]:
    """``start`` and its parents up to ``root``: where a script may run ``docker build -f`` from (its own
    directory, a ``cd ..``, the repository root where CI runs it)."""
    out = [start]
    top = Path(os.path.abspath(root))
    d = Path(os.path.abspath(start))
    while d != top and d.parent != d and d.is_relative_to(top):
        d = d.parent
        out.append(d)
    if top not in out:
        out.append(top)
    return out


def _compose_named(path: Path, data: bytes) -> list[Path]:
    from codemod.invocations.services import compose_services

    if b"build" not in data:
        return []
    return [s.dockerfile for s in compose_services(path, data) if "$" not in str(s.dockerfile)]


def _workflow_named(path: Path, data: bytes, root: Path) -> list[list[Path]]:
    """Each build a workflow runs: the Dockerfile candidates, best first. ``docker/build-push-action``'s ``file``
    is relative to the workspace (the repository root), not to ``context``; ``run:`` steps run in the workspace
    or their ``working-directory``."""
    from codemod.invocations.text import decode_text
    from codemod.invocations.yamlnodes import parse_yaml, yaml_data

    if b"build" not in data:
        return []
    try:
        doc = yaml_data(parse_yaml(decode_text(data), path.as_posix()))  # the rewrite's cache key
    except Exception:  # noqa: BLE001 - a broken workflow is reported by its own checker
        return []
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    out: list[list[Path]] = []
    for job in jobs.values() if isinstance(jobs, dict) else ():
        steps = job.get("steps") if isinstance(job, dict) else None
        for step in steps if isinstance(steps, list) else ():
            if isinstance(step, dict):
                out.extend(_step_named(step, root))
    return out


def _step_named(step: dict[str, object], root: Path) -> list[list[Path]]:
    out: list[list[Path]] = []
    uses, with_ = step.get("uses"), step.get("with")
    if isinstance(uses, str) and uses.split("@")[0] == _ACTION and isinstance(with_, dict):
        file, context = with_.get("file"), with_.get("context")
        if isinstance(file, str) and file and "$" not in file:
            ctx = context if isinstance(context, str) and "://" not in context and "$" not in context else "."
            out.append([root / file, root / ctx / file])
    run = step.get("run")
    if isinstance(run, str):
        wd = step.get("working-directory")
        base = root / wd if isinstance(wd, str) and "$" not in wd else root
        out.extend([base / f, root / f] for f in build_file_flags(run))
    return out
