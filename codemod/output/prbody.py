"""Title, body and commit message of the migration pull request.

Built from findings, names and what each edit did (:func:`outcome`): a
:class:`~codemod.model.Finding` holds no secret value, and nothing here takes
one. Every text still goes through the one redactor (``redact``: the values the
caller knows) before it leaves.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence

from codemod.model import Finding, Hit
from codemod.output.redact import MASK, Redactor
from codemod.rules import RULE_CODES

#: The plan's validation checklist (seed "Validation Checklist"), keyed for ``checks_done``.
CHECKLIST: tuple[tuple[str, str], ...] = (
    ("no-arg-secrets", "Dockerfiles have no ARG secrets"),
    ("build", "Build succeeds without warnings"),
    ("history", "`docker history` shows no sensitive data"),
    ("inspect", "`docker inspect` shows no secrets"),
    ("env-file", "Service starts successfully with env_file"),
    ("healthcheck", "Health check passes"),
    ("env-loaded", "Environment variables loaded correctly"),
    ("cache", "Build cache doesn't leak secrets"),
    ("docs", "Documentation updated"),
)
CHECK_KEYS: frozenset[str] = frozenset(k for k, _ in CHECKLIST)

#: What a fix of each kind did when its hit says nothing more (no runtime hand-off, no mount), for the commit
#: message. The files that build images word their own findings: their messages say what the edit did.
DONE: dict[str, str] = {
    "arg-default-secret": "ARG default removed",
    "env-from-secret-arg": "ENV binding removed",
    "env-literal-secret": "literal ENV removed",
    "buildtime-secret-in-run": "the RUN reads it from a BuildKit secret mount",
    "python-env-secret-default": "hard-coded default removed from the env read",
    "committed-env-secret": "committed value removed from the env file",
    "credential-in-value": "credential removed from the value",
    "credential-file-copied": "credential file no longer copied into the image",
    "env-embeds-secret": "secret no longer embedded in ENV",
    "secret-arg-unused": "unused ARG removed",
    "secret-persisted-in-layer": "the secret no longer persists in a layer",
}
_WORDED = ("compose-build-arg-secret", "workflow-build-arg-secret", "script-build-arg-secret")

REDACTED = MASK
_MAX_ROWS = 200
_MAX_BODY = 60_000  # GitHub caps a PR body at 65536 characters


def outcome(hit: Hit) -> str:
    """What the fix of ``hit`` did, in words: from its edits (a runtime hand-off, a secret mount), never
    from its kind alone ("became a build secret" only for a mount)."""
    f = hit.finding
    runtime = [k for k, v in hit.moved.items() if v is None]
    settings = [k for k, v in hit.moved.items() if v is not None]
    parts: list[str] = []
    if runtime:
        named = "" if runtime == [f.variable] else f" as {', '.join(runtime)}"
        parts.append(f"moved to runtime configuration{named}")
    if settings:
        parts.append(f"settings {', '.join(settings)} moved to runtime configuration")
    if hit.build_secrets:
        parts.append(f"became build secret {', '.join(sorted(hit.build_secrets))} (a RUN secret mount)")
    if parts:
        return "; ".join(parts)
    if f.kind in _WORDED:
        return " ".join(f.message.split())
    return DONE.get(f.kind, "fixed")


def _norm(path: str) -> str:
    p = os.path.normpath(path)
    if os.path.isabs(p):
        try:
            rel = os.path.relpath(p)
        except ValueError:  # other drive (Windows)
            rel = p
        if not rel.startswith(".."):
            p = rel
    return p.replace(os.sep, "/")


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _code(name: str) -> str:
    return "`" + " ".join(name.replace("`", "'").split()) + "`"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _split(
    findings: Iterable[Finding], changed_files: Iterable[str]
) -> tuple[list[str], list[Finding], list[Finding]]:
    """(changed files, findings fixed by this change, findings still open)."""
    files = sorted(dict.fromkeys(_norm(f) for f in changed_files))
    changed = set(files)
    fixed: list[Finding] = []
    left: list[Finding] = []
    for f in sorted(findings, key=Finding.sort_key):
        if f.suppressed:
            continue
        (fixed if f.fixable and _norm(f.path) in changed else left).append(f)
    return files, fixed, left


#: findings about a file that passes build args to an image build (compose, workflow, script or CI file)
_PRODUCER_KINDS = ("compose-build-arg-secret", "workflow-build-arg-secret", "script-build-arg-secret")


def _producer_lines(fixed: Sequence[Finding]) -> list[str]:
    """Every producer of a build arg this change rewrites, per file (issue 16)."""
    per_file: dict[str, list[Finding]] = {}
    for f in fixed:
        if f.kind in _PRODUCER_KINDS:
            per_file.setdefault(_norm(f.path), []).append(f)
    if not per_file:
        return []
    out = ["", "### Build invocations changed", ""]
    for path, fs in per_file.items():
        items = "; ".join(f"line {f.line} {_code(f.variable)} → {_code(f.fix or 'removed')}" for f in fs)
        out.append(f"- {_code(path)}: {items}")
    return out


def _secret_count(fixed: Sequence[Finding]) -> int:
    return len({f.variable for f in fixed})


def _title(fixed: Sequence[Finding]) -> str:
    n = _secret_count(fixed)
    if n == 0:
        return "Move secrets out of the Docker build"
    return f"Move {_plural(n, 'secret')} out of the Docker build"


def _redact(text: str, values: Iterable[str]) -> str:
    return Redactor(values=values).text(text)


def build_pr(
    findings: list[Finding],
    changed_files: list[str],
    *,
    build_secrets: dict[str, str],
    runtime_vars: list[str],
    moved_settings: list[str],
    env_example: str | None,
    checks_done: set[str],
    redact: Iterable[str] = (),
    created: Iterable[str] = (),
    backups: str | None = None,
) -> tuple[str, str]:
    """Return ``(title, body)`` of the migration pull request (GitHub markdown).

    *build_secrets* maps secret id -> the environment variable it is read
    from at build time; *runtime_vars* are the variables the container must
    now get at runtime; *moved_settings* the non-secret defaults that moved to
    runtime configuration; *env_example* the env example file written, if
    any; *checks_done* the keys of :data:`CHECKLIST` this run has checked
    (unknown keys raise ``ValueError``); *created* the changed files that are
    new; *backups* where the run kept its backups. *redact* lists known secret
    values for the one redactor.
    """
    unknown = set(checks_done) - CHECK_KEYS
    if unknown:
        raise ValueError(f"unknown check keys {sorted(unknown)}; known: {sorted(CHECK_KEYS)}")
    files, fixed, left = _split(findings, changed_files)
    n_secrets = _secret_count(fixed)
    out = [
        f"This pull request moves {_plural(n_secrets, 'secret')} out of the Docker build: "
        f"{_plural(len(fixed), 'finding')} fixed in {_plural(len(files), 'file')}. "
        "It was opened by `migrate-secrets`; no secret value appears in this description."
    ]
    new = {_norm(c) for c in created}
    out += _changed_section(files, fixed, env_example, new) + _producer_lines(fixed) + _left_section(left) + _WHY
    out += ["", "## What deployers must provide now"] + _runtime_section(runtime_vars, moved_settings, env_example)
    out += _build_section(build_secrets) + _rotation_section(fixed + left) + _checklist_section(checks_done)
    out += _rollback_section(backups)
    body = "\n".join(out) + "\n"
    if len(body) > _MAX_BODY:
        body = body[:_MAX_BODY].rsplit("\n", 1)[0]
        body += "\n\n… (truncated: run `migrate-secrets` for the full report)\n"
    return _redact(_title(fixed), redact), _redact(body, redact)


def _changed_section(files: list[str], fixed: list[Finding], env_example: str | None, new: set[str]) -> list[str]:
    by_file: dict[str, list[Finding]] = {f: [] for f in files}
    for f in fixed:
        by_file.setdefault(_norm(f.path), []).append(f)
    out = ["", "## What changed", "", "| File | Findings fixed | Kinds | Variables |", "|---|---:|---|---|"]
    rows = list(by_file.items())
    for path, fs in rows[:_MAX_ROWS]:
        if fs:
            kinds = ", ".join(f"`{RULE_CODES[k]}` {k}" for k in dict.fromkeys(f.kind for f in fs))
            names = ", ".join(_code(v) for v in dict.fromkeys(f.variable for f in fs))
        else:
            hand_off = env_example is not None and _norm(env_example) == path
            kinds = ("created" if path in new else "updated") + (": runtime hand-off (names only)" if hand_off else "")
            names = "—"
        out.append(f"| {_cell(_code(path))} | {len(fs)} | {_cell(kinds)} | {_cell(names)} |")
    if len(rows) > _MAX_ROWS:
        out.append(f"| … and {len(rows) - _MAX_ROWS} more files | | | |")
    return out


def _left_section(left: list[Finding]) -> list[str]:
    if not left:
        return []
    out = ["", "### Not changed: needs a human", "",
           "These findings were reported but not rewritten; each needs a decision in a follow-up change:", ""]
    for f in left[:_MAX_ROWS]:
        where = _code(f"{_norm(f.path)}:{f.line}")
        why = f" ({' '.join(f.fix.split())})" if f.fix else ""
        out.append(f"- {where} {f.rule} {_code(f.variable)}: {' '.join(f.message.split())}{why}")
    if len(left) > _MAX_ROWS:
        out.append(f"- … and {len(left) - _MAX_ROWS} more (run `migrate-secrets` to list them)")
    return out


_WHY = [
    "",
    "## Why",
    "",
    "Docker records build arguments and environment variables in the image: `docker history` shows every "
    "`ARG` default and the `|N NAME=value` prefix of each `RUN` that sees a build arg, `docker inspect` "
    "shows every `ENV`, and the build cache keeps both, so anyone who can pull the image or reach the "
    "cache can read them. Secrets needed while building now come in as BuildKit secret mounts "
    "(`RUN --mount=type=secret`), which exist only for the duration of that `RUN` and are never written "
    "to a layer; secrets the application needs while running are no longer baked in and must be supplied "
    "to the container when it starts.",
]


def _runtime_section(runtime_vars: list[str], moved_settings: list[str], env_example: str | None) -> list[str]:
    out = ["", "### At runtime", ""]
    if runtime_vars:
        out += ["The container no longer gets these from the image; set them in its environment "
                "(compose `env_file:` or `environment:`, `docker run --env-file`/`-e`, a Kubernetes Secret):", ""]
        out += [f"- {_code(v)}" for v in dict.fromkeys(runtime_vars)]
    else:
        out.append("No new runtime variables.")
    if moved_settings:
        out += ["", "These non-secret defaults moved out of the Dockerfile into runtime configuration with their "
                "old values" + (f" (see {_code(_norm(env_example))})" if env_example else "") + ":", ""]
        out += [f"- {_code(v)}" for v in dict.fromkeys(moved_settings)]
    if env_example:
        ex = _norm(env_example)
        live = ex[: -len(".example")] if ex.endswith(".example") else ".env"
        out += ["", f"{_code(ex)} lists the variables by name, without secret values. Copy it to {_code(live)} "
                "where the service runs, fill in the values, and keep that file out of git."]
    return out


def _build_section(build_secrets: dict[str, str]) -> list[str]:
    out = ["", "### At build time", ""]
    if not build_secrets:
        return out + ["No build-time secrets."]
    items = sorted(build_secrets.items())
    flags = " ".join(f"--secret id={i},env={v}" for i, v in items)
    out += ["The build now reads these secrets from the builder's environment (they are build secrets, not "
            "runtime configuration: the running container does not need them):",
            "", "| Secret id | Environment variable |", "|---|---|"]
    out += [f"| {_cell(_code(i))} | {_cell(_code(v))} |" for i, v in items]
    return out + [
        "", "Export the variables, then build with:", "", "```sh",
        f"docker buildx build {flags} .", f"podman build {flags} .", "```", "",
        "`docker compose build` passes them through the top-level `secrets:` (`environment:`) entries; "
        "in CI the build step passes them as secrets, so the CI secrets of the same names must exist. "
        "`--build-arg` for these names no longer has any effect.",
    ]


def _rotation_section(findings: list[Finding]) -> list[str]:
    real: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.value_class == "real-looking":
            real.setdefault((f.variable, _norm(f.path)), f.line)
    if not real:
        return []
    out = ["", "## Rotate these credentials", "",
           "These values looked like real credentials. This change takes them out of future builds, but not "
           "out of git history, this pull request's diff, images already built and pushed, or build caches: "
           "rotate each one, then store the new value only where the deployment reads it.", ""]
    return out + [f"- {_code(v)} ({_code(f'{p}:{line}')})" for (v, p), line in sorted(real.items())]


def _checklist_section(checks_done: set[str]) -> list[str]:
    out = ["", "## Validation checklist", ""]
    out += [f"- [{'x' if key in checks_done else ' '}] {text}" for key, text in CHECKLIST]
    return out + ["", "Ticked items were checked by `migrate-secrets` in this run; the others are for the reviewer "
                  "(`migrate-secrets verify` checks image history, config and layers)."]


def _rollback_section(backups: str | None) -> list[str]:
    where = (f" (kept outside the work tree, in {_code(backups)})" if backups
             else " (kept outside the work tree, in the user's state directory)")
    return [
        "", "## How to roll back", "",
        "- Before merging: close this pull request and delete its branch.",
        "- Where the migration ran: `migrate-secrets rollback` restores each changed file from the run's "
        f"backups{where}; they hold the old values: delete them once done.",
        "- After merging: `git revert <commit>` (for a merge commit, `git revert -m 1 <merge-commit>`). "
        "This puts the secrets back into the build.",
        "", "<sub>Generated by migrate-secrets.</sub>",
    ]


def commit_message(findings: list[Finding], changed_files: list[str], *, redact: Iterable[str] = (),
                   outcomes: Mapping[Finding, str] | None = None, created: Iterable[str] = ()) -> str:
    """The migration commit message: a subject, then what each fix did, per file (``outcomes``: from
    :func:`outcome`); a file without a finding of its own was ``created`` or updated."""
    files, fixed, left = _split(findings, changed_files)
    new = {_norm(c) for c in created}
    by_file: dict[str, list[Finding]] = {f: [] for f in files}
    for f in fixed:
        by_file.setdefault(_norm(f.path), []).append(f)
    lines = [_title(fixed), "", f"migrate-secrets fixed {_plural(len(fixed), 'finding')} in "
             f"{_plural(len(files), 'file')}:", ""]
    wrap = textwrap.TextWrapper(width=72, subsequent_indent="      ", break_on_hyphens=False,
                                break_long_words=False)
    said: list[str] = []
    for path, fs in by_file.items():
        if not fs:
            lines += wrap.wrap(f"- {path}: {'created' if path in new else 'updated'} (no finding of its own)")
            continue
        lines.append(f"- {path}:")
        for f in fs:
            done = (outcomes or {}).get(f) or (" ".join(f.message.split()) if f.kind in _WORDED
                                               else DONE.get(f.kind, "fixed"))
            said.append(done)
            lines += wrap.wrap(f"  - {f.variable} ({f.rule}): {done}")
    tail = []
    if any("build secret" in d or "secret mount" in d or "reaches the build as secret" in d for d in said):
        tail.append("Build-time secrets are BuildKit secret mounts (RUN --mount=type=secret).")
    if any("runtime" in d or "environment" in d for d in said):
        tail.append("Runtime secrets come from the container's environment.")
    tail.append("Images already built and git history still hold the old values: rotate real credentials.")
    lines += [""] + textwrap.wrap(" ".join(tail), width=72)
    if left:
        lines += ["", f"{_plural(len(left), 'finding')} left for a human (see `migrate-secrets`)."]
    return _redact("\n".join(lines) + "\n", redact)
