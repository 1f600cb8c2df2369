"""What the run's Dockerfile migrations cover, as the files that build them see it: which build args became
secrets (and their ids), which were removed, which fed a runtime secret, which stay because a producer
cannot be rewritten; and what variable a build-arg value expands."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from codemod.invocations.result import InvocationResult
from codemod.invocations.text import line_no
from codemod.model import BuildSecret, DockerfileMigration, secret_id

T = TypeVar("T")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${V}, ${V:-x}, ${V-x}, ${V:?e}, ${V?e}, $V
_SHELL_REF = re.compile(
    r"\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)(?::?[-=?+](?:[^{}]|\$?\{[^{}]*\})*)?\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))"
)
_MAKE_REF = re.compile(r"\$(?:\((?P<p>[A-Za-z_][A-Za-z0-9_]*)\)|\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\})")
_GH_EXPR = re.compile(r"\$\{\{\s*(?P<body>.*?)\s*\}\}", re.S)
_GH_CONTEXT = re.compile(r"(?P<ctx>secrets|env|vars)\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
_BUILDKIT_OFF = re.compile(r"""\bDOCKER_BUILDKIT\b["']?\s*(?:[:?+]?=|:)\s*["']?0(?![0-9])""")

#: what: (ids of the migrations, the migrations, the answer) for the last list asked
_PER_RUN: dict[str, tuple[tuple[int, ...], list[DockerfileMigration], Any]] = {}


def per_run(what: str, migrations: list[DockerfileMigration], build: Callable[[list[DockerfileMigration]], T]) -> T:
    """``build(migrations)``, remembered for the last list of the same migration objects: each compose file,
    workflow and script of a run asks about the run's whole list. The objects are kept alive with the
    answer, so their ids stay theirs; a list with any other member is built anew."""
    key = tuple(map(id, migrations))
    hit = _PER_RUN.get(what)
    if hit is not None and hit[0] == key:
        return cast(T, hit[2])
    answer = build(migrations)
    _PER_RUN[what] = (key, list(migrations), answer)
    return answer


def by_dockerfile(migrations: list[DockerfileMigration]) -> dict[Path, list[DockerfileMigration]]:
    """The migrations of each Dockerfile (resolved), for producers that know which one they build."""
    return per_run("per-dockerfile", migrations, _group)


def _group(migrations: list[DockerfileMigration]) -> dict[Path, list[DockerfileMigration]]:
    out: dict[Path, list[DockerfileMigration]] = {}
    for m in migrations:
        out.setdefault(m.dockerfile, []).append(m)  # resolved already (DockerfileMigration)
    return out


@dataclass
class Coverage:
    """How each ARG name is now handled: a secret (its id), removed (dangling), runtime (removed, reached ENV);
    ``kept`` are ARGs a Dockerfile keeps because a producer cannot be rewritten (name -> why)."""

    secrets: dict[str, BuildSecret] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    runtime: set[str] = field(default_factory=set)
    runtime_env: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, migrations: list[DockerfileMigration]) -> Coverage:
        """What ``migrations`` cover together (every workflow and script of a run asks about the same list:
        the answer is remembered, see :func:`per_run`)."""
        return per_run("coverage", migrations, cls.join)

    @classmethod
    def join(cls, migrations: list[DockerfileMigration]) -> Coverage:
        cov = cls()
        for m in migrations:
            for s in m.build_secrets:
                cov.secrets.setdefault(s.arg, s)
            cov.removed |= m.removed_args
            cov.runtime |= m.runtime_args
            for arg, names in m.runtime_env.items():
                cov.runtime_env.setdefault(arg, list(names))
            for arg, why in m.kept.items():
                cov.kept.setdefault(arg, why)
        return cov

    def action(self, name: str) -> str | None:
        """``secret``, ``runtime``, ``removed``, ``mixed`` (one Dockerfile keeps the ARG, another migrates it:
        a producer that cannot tell which it builds cannot be rewritten) or None (not touched)."""
        if name in self.kept and (name in self.secrets or name in self.runtime or name in self.removed):
            return "mixed"
        if name in self.secrets:
            return "secret"
        if name in self.runtime:
            return "runtime"
        if name in self.removed:
            return "removed"
        return None

    def mixed_reason(self, name: str) -> str:
        return (f"another Dockerfile keeps {name} as a build arg ({self.kept[name]}), and which Dockerfile this "
                "build uses cannot be told")

    def report_uncovered(self, name: str) -> bool:
        """Whether a build arg no migration covers is worth a finding: a strong secret name the run did not
        deliberately keep (a kept one is reported with its blocked producer)."""
        return name not in self.kept and strong_secret_name(name)

    def id_of(self, name: str) -> str:
        s = self.secrets.get(name)
        return s.id if s is not None else secret_id(name)

    def __bool__(self) -> bool:
        return bool(self.secrets or self.removed or self.runtime)


def strong_secret_name(name: str) -> bool:
    from codemod.analysis.names import classify_name

    c = classify_name(name)
    return c.secret and not c.weak


def literal_value_class(name: str, value: str) -> str:
    """``real-looking``/``placeholder``/... for a literal value (never the value itself)."""
    from codemod.analysis.names import classify_name
    from codemod.analysis.values import classify_value

    kind = classify_value(value, name_is_password_like=classify_name(name).password_like)
    return kind.value if kind.value in ("real-looking", "placeholder") else ""


def env_var_of(value: str, mode: str) -> tuple[str | None, str]:
    """The variable a build-arg value expands, and how: (name, ``var``|``make``|``secrets``|``env``|``expr``).

    ``mode`` is ``shell``, ``make``, ``workflow`` or ``compose``. (None, ``literal``)
    when the value is not a single reference.
    """
    v = value
    if mode in ("workflow", "compose") or "${{" in v:
        m = _GH_EXPR.fullmatch(v)
        if m is not None:
            c = _GH_CONTEXT.fullmatch(m.group("body"))
            if c is not None and c.group("ctx") in ("secrets", "env"):
                return c.group("name"), c.group("ctx")
            return None, "expr"
    if mode == "make":
        m = _MAKE_REF.fullmatch(v)
        if m is not None:
            return m.group("p") or m.group("b"), "make"
        if v.startswith("$$"):
            v = v[1:]
        else:
            return None, "literal"
    m = _SHELL_REF.fullmatch(v)
    if m is not None:
        return m.group("p") or m.group("b"), "var"
    return None, "literal"


def buildkit_disabled_lines(text: str) -> list[int]:
    return [line_no(text, m.start()) for m in _BUILDKIT_OFF.finditer(text)]


def redact_literal(result: InvocationResult, name: str, value: str, start: int, end: int, covered: bool) -> None:
    """Remember a literal value's span (character indices until :func:`finish` makes them bytes)."""
    # anything with a `$` is an expansion of some kind, not a value written down
    if value and end > start and (covered or strong_secret_name(name)) and "$" not in value:
        result.redact_spans.append((start, end))
