"""Data shared by every part of the flow: findings, fixes, edits, file changes and the run's result.

Lines are 1-based here (findings are what users read); the scanner keeps 0-based offsets internally.
Nothing here does I/O or imports a higher part of the flow (``tools/import_graph.py`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Generic, TypeVar

from codemod.discover import Discovered


@dataclass(frozen=True)
class Finding:
    """One thing found in one file.

    ``fixable`` is True when ``--apply`` writes a fix for it; a finding that
    needs a human is reported with a suggestion and never written.
    ``value_class`` says what the value looked like (``real-looking``,
    ``placeholder``, ...) so reports can ask for rotation without ever
    carrying the value itself.
    """

    path: str
    line: int
    variable: str
    kind: str
    message: str
    fixable: bool = True
    value_class: str = ""
    column: int = 1
    fix: str = ""
    suppressed: bool = False
    extra: tuple[tuple[str, str], ...] = field(default=())
    #: the rule's stable code (``MS001``), from the registry (:data:`codemod.rules.RULE_CODES`)
    code: str = ""

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError(f"a finding of kind {self.kind!r} needs its rule code")

    @property
    def rule(self) -> str:
        return self.code

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule, self.variable)

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "variable": self.variable,
            "kind": self.kind,
            "rule": self.rule,
            "message": self.message,
            "fixable": self.fixable,
        }
        if self.value_class:
            d["value_class"] = self.value_class
        if self.fix:
            d["fix"] = self.fix
        if self.suppressed:
            d["suppressed"] = True
        return d


# -- edits and fixes -----------------------------------------------------------------------------

#: the text an edit works on: a file's bytes (Dockerfiles) or its decoded text (YAML, scripts)
T = TypeVar("T", str, bytes)


@dataclass(frozen=True, order=True)
class Edit(Generic[T]):
    """Replace ``data[start:end]`` with ``text``: an empty span inserts, an empty text deletes (ruff's Edit)."""

    start: int
    end: int
    text: T


class Applicability(IntEnum):
    """Whether ``--apply`` writes a fix (ruff's ``Applicability``): a fix that needs a human is shown with its
    suggestion and never written."""

    DISPLAY_ONLY = 0
    SAFE = 1


# What a Dockerfile fix does, in terms of pairs and instructions (indices into the scanned file). The fix
# loop turns the actions of every fix of a pass into byte edits at once, per instruction, so that several
# pairs leaving one ENV give one consistent layout (:mod:`codemod.fix.dockerfile`).


@dataclass(frozen=True)
class RemovePair:
    """Remove pair ``kv`` of instruction ``ins``; the instruction goes whole when it loses every pair.
    ``runtime``: the value now comes from the runtime environment (the secure comment block marks the
    place); False when a secret mount replaces it."""

    ins: int
    kv: int
    runtime: bool = True


@dataclass(frozen=True)
class SetValue:
    """Set pair ``kv`` of instruction ``ins`` to the Dockerfile word ``text``."""

    ins: int
    kv: int
    text: str


@dataclass(frozen=True)
class InlineEnv:
    """Prefix RUN ``ins``'s command with ``export <text> && `` (``NAME=value``, shell-quoted): a placeholder
    a build step needs."""

    ins: int
    text: str


@dataclass(frozen=True)
class Mount:
    """Mount secret ``id`` on RUN ``ins`` and expose it as ``var``: ``style`` ``file`` (an ``export`` before
    the command) or ``env`` (``env=var`` on the mount, Dockerfile 1.10+). ``required``: the step fails
    without the secret; else it runs as before without it. ``fallback``: the value the variable takes
    when no secret is passed (an ARG's placeholder default a build step needs). ``mode``: set when the RUN
    runs as another user than root, who could not read the default 0400 file."""

    ins: int
    id: str
    var: str
    style: str
    required: bool = True
    fallback: str | None = None
    #: the file's mode when the RUN runs as a user other than root (the default 0400 is root's alone)
    mode: str = ""


@dataclass(frozen=True)
class MergeInto:
    """Move RUN ``writer``'s command in front of RUN ``ins``'s, which then undoes the write with ``undo``
    at its end; ``writer == ins``: the RUN undoes its own write."""

    ins: int
    writer: int
    undo: str


Action = RemovePair | SetValue | InlineEnv | Mount | MergeInto


@dataclass(frozen=True)
class Fix:
    """A finding's fix (ruff's ``Fix``): its actions, and whether ``--apply`` writes them. A display-only
    fix is shown with its suggestion (``title``) and never written."""

    title: str
    actions: tuple[Action, ...] = ()
    applicability: Applicability = Applicability.SAFE

    def applies(self, required: Applicability = Applicability.SAFE) -> bool:
        return bool(self.actions) and self.applicability >= required


@dataclass
class Hit:
    """A finding and what fixes it: the actions, and what the fix means beyond the file."""

    finding: Finding
    actions: list[Action] = field(default_factory=list)
    #: values this finding is about: redacted from every output, searched by verify
    secret_values: dict[str, str] = field(default_factory=dict)
    #: variables that leave the image: name -> old value for settings, None for secrets
    moved: dict[str, str | None] = field(default_factory=dict)
    #: byte spans of the input that hold secret values (redacted in diffs)
    redact: list[tuple[int, int]] = field(default_factory=list)
    #: build secrets this fix introduces: secret id -> the variable the build reads it from
    build_secrets: dict[str, str] = field(default_factory=dict)

    @property
    def fix(self) -> Fix:
        """The fix as data: safe when the finding is fixable (a suppressed or refused one is display-only)."""
        safe = self.finding.fixable and not self.finding.suppressed
        return Fix(self.finding.fix, tuple(self.actions), Applicability.SAFE if safe else Applicability.DISPLAY_ONLY)


# -- what a migrated Dockerfile asks of the files that build it -----------------------------------

#: secret ids BuildKit gives a meaning of its own (remote Git contexts): never renamed
BUILTIN_ID_PREFIXES = ("GIT_AUTH_TOKEN", "GIT_AUTH_HEADER")


def secret_id(name: str) -> str:
    """The secret id of a variable, in every file alike: the lower-cased name, except the ids BuildKit
    gives a meaning (``GIT_AUTH_TOKEN*``, ``GIT_AUTH_HEADER*``)."""
    if name.startswith(BUILTIN_ID_PREFIXES):
        return name
    return name.lower()


@dataclass(frozen=True)
class BuildSecret:
    """An ARG that became a secret mount: ``arg`` is the ARG name, ``id`` the mount's secret id."""

    arg: str
    id: str


@dataclass
class DockerfileMigration:
    """What the migration of one Dockerfile changed, as far as its callers care.

    ``dockerfile`` is the resolved real path. ``removed_args`` are ARGs no longer
    declared (a ``--build-arg`` for them is dangling); ``runtime_args`` are removed
    ARGs whose value used to reach ENV, which compose must now pass at runtime;
    ``runtime_env`` names the ENV variables each of them reached (``ENV X=${X_DEFAULT}``: X).
    ``kept`` are ARGs whose secrets stay as they were because a file that passes them cannot be rewritten
    (name -> why): no producer may treat them as migrated.
    """

    dockerfile: Path
    build_secrets: list[BuildSecret] = field(default_factory=list)
    removed_args: set[str] = field(default_factory=set)
    runtime_args: set[str] = field(default_factory=set)
    runtime_env: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BlockedProducer:
    """A place that passes build arg ``arg`` which the run cannot rewrite (design.md section 3.5): the secret
    stays a build arg in ``dockerfile`` (resolved), or in every Dockerfile declaring it when that is None.
    ``path`` and ``line`` are the producer's, as shown to the user; ``kind`` is its finding's kind."""

    arg: str
    dockerfile: Path | None
    path: str
    line: int
    reason: str
    kind: str = "script-build-arg-secret"
    column: int = 1

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class ComposeService:
    """A compose service that builds an image, with the Dockerfile it builds (resolved)."""

    compose: Path
    name: str
    dockerfile: Path
    env_files: list[Path]
    context: Path | None = None  # resolved build context


# -- the run --------------------------------------------------------------------------------------


@dataclass
class FileChange:
    """One file the run would write: ``old`` None for a new file; ``path`` as shown to the user."""

    path: Path
    kind: str
    old: bytes | None
    new: bytes
    redact_spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class RunResult:
    """Everything one run found and planned; nothing in it is written yet."""

    hits: list[Hit] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: list[Discovered] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    #: variable -> value (never printed): what verify searches for, what output redacts
    secret_values: dict[str, str] = field(default_factory=dict)
    #: values of the settings that stay visible (redaction leaves these alone)
    setting_values: set[str] = field(default_factory=set)
    moved: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    #: Dockerfile (as shown) -> {secret id: variable the build reads it from}
    build_secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    #: what each migrated Dockerfile changed, for the files that build it
    migrations: list[DockerfileMigration] = field(default_factory=list)
    #: the compose files' services that build an image, each with the Dockerfile it builds
    services: list[ComposeService] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: file that builds an image (as shown) -> every producer the run changed in it: (line, arg, what now)
    producers: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    #: producers the run could not rewrite: their secrets stay build args everywhere
    blocked: list[BlockedProducer] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every finding, suppressed ones included (marked)."""
        return [h.finding for h in self.hits]

    @property
    def active(self) -> list[Finding]:
        """The findings that count: not suppressed by a pragma."""
        return [h.finding for h in self.hits if not h.finding.suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [h.finding for h in self.hits if h.finding.suppressed]

    @property
    def needs_human(self) -> list[Finding]:
        return [h.finding for h in self.hits if not h.finding.fixable and not h.finding.suppressed]
