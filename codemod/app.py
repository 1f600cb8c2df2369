"""One run over many files: discover, analyse each, plan every change, nothing written.

Each file is analysed and reported on its own; a file that fails becomes an
error entry and never stops the run. Writing is the caller's decision
(:mod:`codemod.write`), all or nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemod.config import Config
from codemod.discover import COMPOSE, DOCKERFILE, Discovered, discover, forget_real_paths
from codemod.dockerfile.scanner import Dockerfile, ParseError
from codemod.fix.loop import DockerfileResult, RewriteError, migrate
from codemod.invocations import InvocationResult
from codemod.invocations.named import with_named_dockerfiles
from codemod.invocations.producers import Todo, invocation_todo
from codemod.model import (
    BlockedProducer,
    BuildSecret,
    DockerfileMigration,
    FileChange,
    Hit,
    RemovePair,
    RunResult,
)
from codemod.rules.pragmas import suppress_in_text

if TYPE_CHECKING:
    from codemod.analysis.flow import Flow
    from codemod.model import ComposeService


def read_checked(path: Path, config: Config) -> bytes:
    """The file's bytes, or OSError/ValueError with a reason a user can act on."""
    try:
        fh = open(path, "rb")  # one open and one fstat: this runs once per file of a big tree
    except IsADirectoryError:
        raise ValueError("is a directory") from None
    with fh:
        st = os.fstat(fh.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise ValueError("is a directory")
        if st.st_size > config.max_file_size:
            raise ValueError(f"file is {st.st_size} bytes, over the {config.max_file_size}-byte cap (max-file-size)")
        data = fh.read()
    if b"\0" in data[:8192]:
        raise ValueError("binary file (NUL bytes), not a Dockerfile")
    return data


#: below this many Dockerfiles a run stays in one process: a pool costs more than it saves
PARALLEL_MIN = 200


@dataclass
class Analysed:
    """What the run keeps of one Dockerfile: small, so that a pool can send it back cheaply."""

    result: DockerfileResult
    settings: set[str] = field(default_factory=set)
    env_order: dict[str, int] = field(default_factory=dict)
    migration: DockerfileMigration | None = None
    build_secrets: dict[str, str] = field(default_factory=dict)


def analyse_dockerfile(path: Path, config: Config, plan_only: bool = False,
                       targets: frozenset[str] = frozenset(), keep: dict[str, str] | None = None
                       ) -> tuple[str | None, bytes | None, Analysed | None]:
    """(error, bytes when there is anything to report, result) for one Dockerfile; never raises. ``keep``:
    ARGs whose secrets stay as they are (a producer cannot be rewritten) -> why."""
    try:
        data = read_checked(path, config)
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return f"{path}: {reason}", None, None
    try:
        out = migrate(data, str(path), config, context_dir=path.parent, plan_only=plan_only, targets=targets,
                      keep=keep)
    except ParseError as e:
        return f"{path}:{e.line}: {e.reason}", None, None
    except RewriteError as e:
        return f"{path}: {e}; file left unchanged", None, None
    done = Analysed(out)
    if out.hits and out.before is not None:
        done.settings = _settings(out.before)
        _redact_fallbacks(out.before, out.hits)
    if out.new is not None and out.before is not None:
        done.build_secrets = {k: v for h in out.hits if h.finding.fixable for k, v in h.build_secrets.items()}
        done.migration = _migration(path, out.before, out.after, done.build_secrets, out.hits, out.flow)
        done.env_order = _env_order(out.before)
    if not out.hits and out.new is None:
        return None, None, None  # nothing to report: nothing crosses back from a worker, nothing is kept
    out.before = out.after = out.flow = None  # parse trees and rewrite plans stay in the worker
    for h in out.hits:
        h.actions = []
    return None, data, done


def _workers(jobs: int | None) -> int:
    """Processes for a big run: ``jobs``, or one per core."""
    return jobs if jobs is not None else (os.cpu_count() or 1)


def _analyse_all(paths: list[Path], config: Config, jobs: int | None, tick: Callable[[], None],
                 plan_only: bool = False, targets: frozenset[str] = frozenset()
                 ) -> Iterator[tuple[str | None, bytes | None, Analysed | None]]:
    """Each file's analysis, in the order of ``paths``, as it is ready: the caller keeps what it needs."""
    workers = _workers(jobs)
    if workers <= 1 or len(paths) < PARALLEL_MIN:
        for p in paths:
            yield analyse_dockerfile(p, config, plan_only, targets)
            tick()
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        # map keeps the input order: the result is the serial run's, file for file
        for item in pool.map(analyse_dockerfile, paths, [config] * len(paths), [plan_only] * len(paths),
                             [targets] * len(paths),
                             chunksize=64):
            yield item
            tick()


def _no_progress(total: int) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext(None)


#: a stage another file builds: compose/workflow ``target: dev``, ``--target dev``, bake ``target = "dev"``
_TARGET = re.compile(rb"""(?:^|\s|-)target(?:\s*[:=]\s*|\s+)["']?([A-Za-z0-9][\w.-]*)""", re.M)


def build_targets(files: list[Discovered], config: Config) -> frozenset[str]:
    """The stage names the files that build images target, lower-cased: their ENV reaches an image someone
    runs. One set for the run: a stage name targeted anywhere counts everywhere (more hand-off, never less)."""
    from codemod.discover import CI, MAKEFILE, SCRIPT, WORKFLOW

    found: set[str] = set()
    for f in files:
        if f.kind not in (COMPOSE, WORKFLOW, MAKEFILE, SCRIPT, CI):
            continue
        try:
            data = read_checked(f.path, config)
        except (OSError, ValueError):
            continue
        if b"target" in data:
            found.update(m.group(1).decode("ascii", "replace").lower() for m in _TARGET.finditer(data))
    return frozenset(found)


def run(paths: list[str], config: Config, *, jobs: int | None = None, keep_bytes: bool = True,
        progress: Callable[[int], contextlib.AbstractContextManager[Any]] = _no_progress) -> RunResult:
    """Discover, analyse and plan every change; nothing is written.

    ``keep_bytes=False`` is ``--check``: each Dockerfile stops at its plan (no rewrite, no bytes kept),
    which names the same pending files and findings as a dry run at a fraction of the work.
    """
    result = RunResult()
    forget_real_paths()  # symlinks may have changed since an earlier run in this process
    files = discover(paths, include=config.include, exclude=config.exclude, log=result.log)
    files = _once_per_real_file(with_named_dockerfiles(files, exclude=config.exclude, log=result.log), result.log)
    result.files = files
    dockerfiles: list[tuple[Discovered, bytes, bytes | None, list[Hit]]] = []
    for f in files:
        if f.kind == "missing":
            result.errors.append(f"{f.path}: no such file or directory")
        elif f.kind == "symlink-error":
            result.errors.append(f"{f.path}: broken symlink or symlink loop")
        elif f.kind == "outside":
            result.errors.append(f"{f.path}: a symlink that leads outside the repository; not followed")
    todo = [f for f in files if f.kind == DOCKERFILE]
    orders: dict[Path, dict[str, int]] = {}
    reals: dict[Path, Path] = {}
    with progress(len(todo)) as bar:
        targets = build_targets(files, config)
        analysed = [_slim(item, keep_bytes) for item in _analyse_all(
            [f.path for f in todo], config, jobs, bar.advance if bar is not None else (lambda: None),
            plan_only=not keep_bytes, targets=targets)]
    files_todo = invocation_todo(files)
    outs = _producers(result, paths, files_todo, todo, analysed, config, jobs, keep_bytes, targets)
    for f, (error, data, done) in zip(todo, analysed, strict=True):
        _take(result, f, error, data, done, keep_bytes, dockerfiles, orders, reals)
    services = result.services = _fold_invocations(result, files_todo, outs, keep_bytes)
    _hand_off(result, dockerfiles, services, config, orders, reals, keep_bytes)
    _python_and_env_files(result, files, services, config)
    result.hits.sort(key=lambda h: h.finding.sort_key())
    return result


def _once_per_real_file(files: list[Discovered], log: list[str]) -> list[Discovered]:
    """Each real file once (``Dockerfile -> docker/Dockerfile.prod`` is planned once, through its target):
    two plans of one file would write it twice. The path that is the file itself wins over a link to it."""
    real: dict[str, int] = {}
    out: list[Discovered] = []
    for f in files:
        if f.kind in ("missing", "symlink-error", "outside"):
            out.append(f)
            continue
        key = os.path.realpath(f.path)
        if key not in real:
            real[key] = len(out)
            out.append(f)
            continue
        kept = out[real[key]]
        if os.path.abspath(kept.path) != key and os.path.abspath(f.path) == key:
            out[real[key]] = f  # the target itself, not the link
            kept, f = f, kept
        log.append(f"skip {f.path}: the same file as {kept.path} (a symlink); planned once, through its target")
    return out


def _take(result: RunResult, f: Discovered, error: str | None, data: bytes | None, done: Analysed | None,
          keep_bytes: bool, dockerfiles: list[tuple[Discovered, bytes, bytes | None, list[Hit]]],
          orders: dict[Path, dict[str, int]], reals: dict[Path, Path]) -> None:
    """Fold one Dockerfile's analysis into the run's result."""
    if error is not None:
        result.errors.append(error)
        return
    if data is None or done is None:
        return
    out = done.result
    result.notes.extend(f"{f.path}: {n}" for n in out.notes)
    result.setting_values |= done.settings
    orders[f.path] = done.env_order
    if done.migration is not None:
        reals[f.path] = done.migration.dockerfile  # resolved in the worker
    if not keep_bytes and out.new is not None:
        # --check only names the pending files: memory stays flat however many there are
        data, out.new = b"", b""
    dockerfiles.append((f, data, out.new, out.hits))
    result.hits.extend(out.hits)
    for h in out.hits:
        result.secret_values.update({k: v for k, v in h.secret_values.items() if v})
    if out.new is not None:
        spans = [s for h in out.hits for s in h.redact if s[1] > s[0]]
        result.changes.append(FileChange(f.path, DOCKERFILE, data, out.new, spans))
        if done.build_secrets:
            result.build_secrets[str(f.path)] = done.build_secrets


def _migration(path: Path, before: Dockerfile, after: Dockerfile | None, secrets: dict[str, str],
               hits: list[Hit], flow: Flow | None = None) -> DockerfileMigration:
    """What changed for the files that build this Dockerfile: from the output, or (``--check``) the plan.
    ``flow`` is the rules' analysis of ``before`` when the caller has it; else it is worked out."""
    from codemod.analysis.flow import analyse, reference

    if flow is None or flow.df is not before:
        flow = analyse(before)
    if after is not None:
        args_after = {kv.key for i in after.instructions if i.effective == "ARG" for kv in i.kvs}
        removed = {p.name for p in flow.pairs if p.what == "ARG" and p.name not in args_after}
    else:
        planned = {(a.ins, a.kv) for h in hits if h.finding.fixable for a in h.actions if isinstance(a, RemovePair)}
        removed = {p.name for p in flow.pairs if p.what == "ARG" and (p.ins_index, p.kv_index) in planned}
    # the ENV names handed to run time (a container reads them); a builder stage's bindings are not, and an
    # ARG may be both: a build secret for the steps that read it, and runtime configuration for the container
    handed = {k for h in hits if h.finding.fixable for k in h.moved}
    runtime: dict[str, list[str]] = {}
    for p in flow.pairs:
        if (p.what == "ENV" and p.name in handed and (ref := reference(p.kv.value)) is not None
                and ref[0] in removed):
            runtime.setdefault(ref[0], []).append(p.name)
    return DockerfileMigration(
        dockerfile=path.resolve(),
        build_secrets=[BuildSecret(arg=var, id=sid) for sid, var in secrets.items()],
        removed_args=removed - set(secrets.values()),
        runtime_args=set(runtime),
        runtime_env=runtime,
    )


#: ``${NAME:-value}`` (and ``-``, ``:=``, ``=``): the fallback text is a value when it is not a reference
_FALLBACK = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]([^}$]*)\}")


def _redact_fallbacks(df: Dockerfile, hits: list[Hit]) -> None:
    """Give the redactor the ``${X:-value}`` fallbacks of the secrets found: a fallback is a value the image
    bakes in when X is not passed (``ENV OPENAI_API_KEY=${OPENAI_API_KEY:-sk-proj-...}``)."""
    from codemod.analysis.names import is_secret_name

    by_name: dict[str, Hit] = {}
    for h in hits:
        by_name.setdefault(h.finding.variable, h)
    for ins in df.instructions:
        if ins.effective not in ("ARG", "ENV", "LABEL"):
            continue
        for kv in ins.kvs:
            if kv.value_start < 0 or "${" not in kv.raw:
                continue
            exact = kv.value_end - kv.value_start == len(kv.raw.encode("utf-8", "surrogateescape"))
            for m in _FALLBACK.finditer(kv.raw):
                hit = by_name.get(kv.key) or by_name.get(m.group(1))
                value = m.group(2).strip("\"'")
                if not value or (hit is None and not (is_secret_name(kv.key) or is_secret_name(m.group(1)))):
                    continue
                hit = hit or hits[0]
                start = kv.value_start + len(kv.raw[:m.start(2)].encode("utf-8", "surrogateescape"))
                span = (start, start + len(m.group(2).encode("utf-8", "surrogateescape")))
                hit.redact.append(span if exact else (kv.value_start, kv.value_end))
                hit.secret_values.setdefault(f"{kv.key}#fallback", value)


def _settings(df: Dockerfile) -> set[str]:
    """Values of plain settings: they stay visible, so output does not redact them."""
    from codemod.analysis.names import is_secret_name

    return {kv.value for ins in df.instructions for kv in ins.kvs if kv.value and not is_secret_name(kv.key)}


def _hand_off(result: RunResult, dockerfiles: list[tuple[Discovered, bytes, bytes | None, list[Hit]]],
              services: list[ComposeService], config: Config, orders: dict[Path, dict[str, int]],
              reals: dict[Path, Path], keep_bytes: bool = True) -> None:
    from codemod.handoff.example import example_path, update_example

    builds: dict[Path, list[ComposeService]] = {}  # each Dockerfile's services, found once
    for s in services:
        builds.setdefault(s.dockerfile, []).append(s)
    per_example: dict[Path, list[tuple[str, str | None]]] = {}
    for f, _data, new, hits in dockerfiles:
        if new is None:
            continue
        order = orders.get(f.path, {})
        # run-time consumers only, under the names the container reads; build secrets are passed to the
        # build (the summary and the PR say how), not listed as runtime configuration
        moved: dict[str, str | None] = {}
        for h in hits:
            if h.finding.fixable:
                for k, v in h.moved.items():
                    if k not in moved or moved[k] is None and v is not None:
                        moved[k] = v
        if not moved:
            continue
        items = sorted(moved.items(), key=lambda kv: (order.get(kv[0], 1 << 30), kv[0]))
        mine = builds.get(reals.get(f.path) or f.path.resolve(), []) if builds else []
        target = Path(config.env_example) if config.env_example else example_path(f.path, mine)
        per_example.setdefault(target, []).extend(items)
        result.moved[str(f.path)] = items
    for target, items in per_example.items():
        shown = Path(os.path.relpath(target)) if target.is_absolute() else target
        old = target.read_bytes() if target.is_file() else None
        new = update_example(old, items)
        if new is not None:
            if not keep_bytes:  # --check: the path, and whether the file is new, are all it reports
                old, new = (None if old is None else b""), b""
            result.changes.append(FileChange(shown, "envfile", old, new))
            result.notes.append(f"{shown}: runtime variables listed for deployers")


#: files that build images (compose, workflows, Makefiles, scripts) at which the rewrite of a run goes to processes
INVOCATIONS_PARALLEL_MIN = 64
#: rounds of "keep the secrets of blocked producers, rewrite again" before the run gives up settling
MAX_PRODUCER_ROUNDS = 4
#: the run's Dockerfile migrations, in an invocation worker (set once per process by its initializer)
_WORKER_MIGRATIONS: list[DockerfileMigration] = []
#: (error or warning, the file's bytes, the rewrite, the compose file's services)
_InvocationOut = tuple[str | None, bytes, "InvocationResult | None", "list[ComposeService]"]
_Item = tuple[str | None, bytes | None, Analysed | None]


def _producers(result: RunResult, paths: list[str], files_todo: list[Todo], todo: list[Discovered],
               analysed: list[_Item], config: Config, jobs: int | None, keep_bytes: bool,
               targets: frozenset[str] = frozenset()) -> list[_InvocationOut]:
    """Rewrite every file that builds the migrated Dockerfiles. A producer that cannot be rewritten keeps its
    secret (design.md section 3.5): the Dockerfiles that declare it are migrated again with
    ``keep={arg: reason}`` and every file rewritten against that, until nothing new is blocked."""
    from codemod.invocations.producers import grow_keeps, migrations_of, suppressed
    from codemod.invocations.scan import scan_producers

    keeps: dict[int, dict[str, str]] = {}
    handled = frozenset(p.absolute() for p, _, _ in files_todo)
    blocked: dict[tuple[str, int, str], BlockedProducer] = {}
    outs: list[_InvocationOut] = []
    paths_of = [f.path for f in todo]
    for _ in range(MAX_PRODUCER_ROUNDS):
        migrations = migrations_of(paths_of, _migrations(analysed), keeps)
        outs = _invocations(files_todo, config, jobs, migrations)
        found = [b for _, data, out, _ in outs if out is not None for b in out.blocked + suppressed(data, out)]
        scanned, notes = scan_producers(paths, migrations, config, handled)
        for b in found + scanned:
            blocked.setdefault((b.path, b.line, b.arg), b)
        grown = grow_keeps(keeps, found + scanned, _migrations(analysed))
        if not grown:
            result.notes.extend(notes)
            break
        for i in sorted(grown):
            analysed[i] = _slim(analyse_dockerfile(todo[i].path, config, not keep_bytes, targets, keeps[i]),
                                keep_bytes)
    else:
        result.errors.append(f"producers that cannot be rewritten still changed after {MAX_PRODUCER_ROUNDS} rounds")
    _report_blocked(result, list(blocked.values()), todo, analysed, keeps)
    result.migrations = migrations_of(paths_of, _migrations(analysed), {})
    return outs


def _migrations(analysed: list[_Item]) -> list[DockerfileMigration | None]:
    return [done.migration if done is not None else None for _, _, done in analysed]


def _report_blocked(result: RunResult, blocked: list[BlockedProducer], todo: list[Discovered],
                    analysed: list[_Item], keeps: dict[int, dict[str, str]]) -> None:
    """A finding at each blocked producer; in each Dockerfile, one for each secret it keeps that its analysis
    reported nothing about."""
    from codemod.invocations.producers import blocked_hits, kept_hits

    reported, hits, notes = blocked_hits(blocked, [f.path.as_posix() for f in todo], keeps)
    result.blocked += reported
    result.hits += hits
    result.notes += notes
    for i, args in keeps.items():
        error, data, done = analysed[i]
        if error is not None:
            continue
        try:
            raw = read_checked(todo[i].path, Config())
        except (OSError, ValueError):
            continue
        named = {h.finding.variable for h in done.result.hits} if done is not None else set()
        extra = kept_hits(todo[i].path.as_posix(), raw, named, args)
        if extra and done is None:
            done = Analysed(DockerfileResult([], None))
            analysed[i] = (None, raw, done)
        if done is not None:
            done.result.hits += extra


def _slim(item: _Item, keep_bytes: bool) -> _Item:
    """--check names the pending files only: a Dockerfile's bytes are not kept (memory stays flat)."""
    _, data, done = item
    if not keep_bytes and done is not None and done.result.new is not None:
        return item[0], b"", done
    return item


def _invocations(todo: list[Todo], config: Config, jobs: int | None, migrations: list[DockerfileMigration]
                 ) -> list[_InvocationOut]:
    """Each file that builds images, rewritten against the migrations (each file read and parsed once; the
    compose files' services come along for the env example hand-off and the env file audit). Many files go
    to processes; the result is the serial one, in the same order."""
    workers = _workers(jobs)
    if workers <= 1 or len(todo) < INVOCATIONS_PARALLEL_MIN:
        return [_invocation(path, kind, fmt, config, migrations) for path, kind, fmt in todo]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, initializer=_set_worker_migrations,
                             initargs=(migrations,)) as pool:
        return list(pool.map(_invocation_in_worker, [p for p, _, _ in todo], [k for _, k, _ in todo],
                             [f for _, _, f in todo], [config] * len(todo), chunksize=8))


def _set_worker_migrations(migrations: list[DockerfileMigration]) -> None:
    _WORKER_MIGRATIONS[:] = migrations


def _invocation_in_worker(path: Path, kind: str, fmt: str, config: Config) -> _InvocationOut:
    return _invocation(path, kind, fmt, config, _WORKER_MIGRATIONS)


def _invocation(path: Path, kind: str, fmt: str, config: Config, migrations: list[DockerfileMigration]
                ) -> _InvocationOut:
    """One file that builds images, against the run's migrations; never raises. A file that cannot be parsed
    is an error only when the run must change it or cannot tell (design.md section 5); else a warning."""
    from codemod.discover import CI, MAKEFILE, SCRIPT, WORKFLOW
    from codemod.invocations import InvocationError, migrate_ci, migrate_compose, migrate_script, migrate_workflow
    from codemod.invocations.scan import must_parse
    from codemod.invocations.services import compose_services

    handlers = {COMPOSE: migrate_compose, WORKFLOW: migrate_workflow, MAKEFILE: migrate_script,
                SCRIPT: migrate_script}
    try:
        data = read_checked(path, config)
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return f"{path}: {reason}", b"", None, []
    services = compose_services(path, data) if kind == COMPOSE and b"build" in data else []
    try:
        if kind == CI:
            out = migrate_ci(path.absolute(), path.as_posix(), data, migrations, fmt)
        else:
            out = handlers[kind](path.absolute(), path.as_posix(), data, migrations)
    except InvocationError as e:
        if must_parse(path, data, migrations):
            return str(e), data, None, services
        return None, data, InvocationResult(notes=[f"warning: {e} (not parsed: it names no secret being "
                                                   "migrated and builds no Dockerfile being changed)"]), services
    return None, data, out, services


def _fold_invocations(result: RunResult, todo: list[Todo], outs: list[_InvocationOut], keep_bytes: bool
                      ) -> list[ComposeService]:
    services: list[ComposeService] = []
    for (path, kind, _), (error, data, out, found) in zip(todo, outs, strict=True):
        services.extend(found)
        if error is not None or out is None:
            result.errors.append(error or f"{path}: not read")
            continue
        findings = suppress_in_text(data, out.findings)
        if out.new is not None and any(x.suppressed for x in findings):
            # an edit cannot leave one entry alone: the file is not rewritten, its findings go to a human
            findings = [x if x.suppressed or not x.fixable else
                        replace(x, fixable=False, fix="not rewritten: the file holds a suppressed finding")
                        for x in findings]
            out.new = None
        for finding in findings:
            result.hits.append(Hit(finding))
        result.notes.extend(out.notes)  # each names its file and line already
        if out.new is None:
            continue
        changed = sorted((x.line, x.variable, x.fix or "removed") for x in findings if x.fixable)
        if changed:
            result.producers[path.as_posix()] = changed
        if keep_bytes:
            result.changes.append(FileChange(path, kind, data, out.new, list(out.redact_spans)))
        else:  # --check names the pending files only: no bytes are kept
            result.changes.append(FileChange(path, kind, b"", b""))
    return services


def _python_and_env_files(result: RunResult, files: list[Discovered], services: list[ComposeService],
                          config: Config) -> None:
    """The application beside the images: Python env reads with secret defaults, and env files."""
    from codemod.discover import ENVFILE, PYTHON, git_root
    pythons = [f for f in files if f.kind == PYTHON]
    if pythons:
        contexts = {f.path.parent.absolute() for f in files if f.kind == DOCKERFILE}
        contexts |= {s.context for s in services if s.context is not None}
        if contexts:
            _python(result, pythons, sorted(contexts, key=lambda p: len(p.parts), reverse=True), config)
    envs = [(f.path, f.path.as_posix()) for f in files if f.kind == ENVFILE]
    compose_env = [ef for s in services for ef in s.env_files]
    if envs or compose_env:
        from codemod.audit.envfiles import envfile_findings

        root = git_root(Path.cwd()) or Path.cwd()
        for finding in envfile_findings(root, envs, compose_env, config=config):
            result.hits.append(Hit(finding))


def _python(result: RunResult, pythons: list[Discovered], contexts: list[Path], config: Config) -> None:

    from codemod.audit.python import PythonSyntaxError, env_reads, python_findings
    from codemod.dockerfile.dockerignore import dockerignore_matcher

    matchers: dict[Path, Callable[[str], bool]] = {}
    reads: set[str] = set()
    for f in pythons:
        absolute = f.path.absolute()
        ctx = next((c for c in contexts if absolute.is_relative_to(c)), None)
        if ctx is None:
            continue  # not in any build context: not in an image
        if ctx not in matchers:
            ignore = ctx / ".dockerignore"
            text = ignore.read_text(encoding="utf-8", errors="replace") if ignore.is_file() else ""
            matchers[ctx] = dockerignore_matcher(text)
        if matchers[ctx](absolute.relative_to(ctx).as_posix()):
            continue
        try:
            data = read_checked(f.path, config)
        except (OSError, ValueError):
            continue
        if b"environ" not in data and b"getenv" not in data:
            continue
        try:
            found, new, values = python_findings(f.path.as_posix(), data, fix=config.fix_python, config=config)
            reads.update(r.variable for r in env_reads(f.path.as_posix(), data))
        except PythonSyntaxError as e:
            result.notes.append(f"warning: {e} (Python file skipped; the Dockerfile migration still runs)")
            continue
        for finding in found:
            result.hits.append(Hit(finding, secret_values=values))
        result.secret_values.update(values)
        if new is not None:
            result.changes.append(FileChange(f.path, "python", data, new))
    moved = sorted({k for items in result.moved.values() for k, _ in items} & reads)
    for name in moved:
        result.notes.append(f"the app reads {name}; it is now runtime configuration")


def _env_order(df: Dockerfile) -> dict[str, int]:
    order: dict[str, int] = {}
    n = 0
    for ins in df.instructions:
        if ins.effective == "ENV":
            for kv in ins.kvs:
                order.setdefault(kv.key, n)
                n += 1
    return order
