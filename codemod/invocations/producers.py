"""The bookkeeping of "every producer or nothing" (design.md section 3.5), for :mod:`codemod.app`'s rounds.

Which files build images (and the GitLab CI files they include), the run's migrations with what each
Dockerfile keeps, which Dockerfiles a blocked producer makes keep its arg, and the findings a human gets:
one at each blocked producer (file, line, reason) and one in each Dockerfile for each secret it keeps.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from codemod.discover import CI, COMPOSE, MAKEFILE, SCRIPT, WORKFLOW, Discovered
from codemod.invocations.result import InvocationResult
from codemod.model import BlockedProducer, DockerfileMigration, Finding, Hit
from codemod.rules import RULE_CODES
from codemod.rules.pragmas import suppress_in_text

#: a file that builds images: (path, kind, format of a CI file)
Todo = tuple[Path, str, str]
#: a Dockerfile's index in the run -> the ARGs it keeps -> why
Keeps = dict[int, dict[str, str]]
_KIND = "buildtime-secret-in-run"


def invocation_todo(files: list[Discovered]) -> list[Todo]:
    """The files that build images, each once: compose files, workflows, Makefiles, scripts, CI files, and
    the files a ``.gitlab-ci.yml`` includes from the repository (and theirs)."""
    from codemod.invocations import ci_format, ci_includes

    out = [(f.path, f.kind, ci_format(f.path) if f.kind == CI else "") for f in files
           if f.kind in (COMPOSE, WORKFLOW, MAKEFILE, SCRIPT, CI)]
    seen = {p.absolute() for p, _, _ in out}
    queue = [path for path, _, fmt in out if fmt == "gitlab"]
    while queue:
        for inc in ci_includes(queue.pop(0)):
            if inc.absolute() not in seen:
                seen.add(inc.absolute())
                out.append((inc, CI, "gitlab"))
                queue.append(inc)
    return out


def migrations_of(dockerfiles: list[Path], migrations: list[DockerfileMigration | None], keeps: Keeps
                  ) -> list[DockerfileMigration]:
    """The run's migrations, each with what its Dockerfile keeps; a Dockerfile that only keeps (nothing else
    changes) still tells the producers so."""
    out = []
    for i, (path, m) in enumerate(zip(dockerfiles, migrations, strict=True)):
        if i in keeps:
            m = replace(m, kept=dict(keeps[i])) if m is not None else DockerfileMigration(
                path.resolve(), kept=dict(keeps[i]))
        if m is not None:
            out.append(m)
    return out


def grow_keeps(keeps: Keeps, blocked: list[BlockedProducer], migrations: list[DockerfileMigration | None]
               ) -> set[int]:
    """Which Dockerfiles must now keep a blocked producer's arg: the one it builds, or (unknown) every one
    whose migration changes that arg."""
    grown: set[int] = set()
    for b in blocked:
        for i, m in enumerate(migrations):
            if m is None or (b.dockerfile is not None and m.dockerfile != b.dockerfile):
                continue
            touched = {s.arg for s in m.build_secrets} | m.removed_args | m.runtime_args
            if b.arg in touched and b.arg not in keeps.get(i, {}):
                keeps.setdefault(i, {})[b.arg] = f"{b.where()}: {b.reason}"
                grown.add(i)
    return grown


def suppressed(data: bytes, res: InvocationResult | None) -> list[BlockedProducer]:
    """A file a pragma keeps from being rewritten still passes its build args: each one it would have
    changed is a blocked producer."""
    if res is None or res.new is None:
        return []
    findings = suppress_in_text(data, res.findings)
    if not any(x.suppressed for x in findings):
        return []
    return [BlockedProducer(x.variable, None, x.path, x.line, "the file holds a migrate-secrets ignore pragma, so "
                            "it is not rewritten", x.kind, x.column) for x in res.findings if x.fixable]


def blocked_hits(blocked: list[BlockedProducer], shown: list[str], keeps: Keeps
                 ) -> tuple[list[BlockedProducer], list[Hit], list[str]]:
    """(the blocked producers whose arg a Dockerfile keeps, a finding at each, a note per kept secret); a
    pragma in the producer's file hides its finding, as it hides any other there."""
    kept_in: dict[str, list[str]] = {}
    notes = []
    for i, args in sorted(keeps.items()):
        for arg, why in args.items():
            kept_in.setdefault(arg, []).append(shown[i])
            notes.append(f"{shown[i]}: {arg} stays a build arg: {why}")
    reported = [b for b in sorted(blocked, key=lambda x: (x.path, x.line, x.arg)) if b.arg in kept_in]
    per_file: dict[str, list[Finding]] = {}
    for b in reported:
        per_file.setdefault(b.path, []).append(Finding(
            b.path, b.line, b.arg, b.kind, f"{b.arg} is passed to the build here in a form migrate-secrets cannot "
            f"rewrite ({b.reason}): the secret stays a build arg in {', '.join(kept_in[b.arg])} until this is "
            "changed by hand", code=RULE_CODES[b.kind], fixable=False, column=b.column,
            fix=f"left unchanged: {b.reason}"))
    hits: list[Hit] = []
    for path, findings in per_file.items():
        try:
            findings = suppress_in_text(Path(path).read_bytes(), findings)
        except OSError:
            pass
        hits.extend(Hit(x) for x in findings)
    return reported, hits, notes


def kept_hits(shown: str, data: bytes, named: set[str], kept: dict[str, str]) -> list[Hit]:
    """A finding on the ARG line of each secret a Dockerfile keeps that its analysis gave none of its own
    (the policy reports nothing for a kept ARG), with the reason: the blocked producer's file and line."""
    from codemod.dockerfile.scanner import ParseError, parse

    missing = {a: why for a, why in kept.items() if a not in named}
    if not missing:
        return []
    try:
        df = parse(data)
    except ParseError:
        return []
    out = []
    for ins in df.instructions:
        for kv in ins.kvs if ins.effective == "ARG" else ():
            if kv.key in missing:
                why = missing.pop(kv.key)
                out.append(Hit(Finding(shown, ins.start_line + 1, kv.key, _KIND, f"build arg {kv.key} stays as it "
                                       f"is: a file that passes it cannot be rewritten ({why})",
                                       code=RULE_CODES[_KIND], fixable=False, fix=f"left unchanged: {why}")))
    return out
