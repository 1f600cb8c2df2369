"""What a rule is: a code, a kind, a message, its own examples, and a check.

A rule reads a :class:`Context` (one scanned Dockerfile and its flow) and yields
:class:`Hit`s: a finding plus the actions that fix it. Actions name pairs and
instructions, not bytes; :mod:`codemod.fix.dockerfile` turns the actions of all rules
into byte edits at once, so fixes on one ENV never overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from codemod.analysis.contextfiles import EMPTY, ContextFiles
from codemod.analysis.evidence import EVIDENCE_WORDS
from codemod.analysis.flow import Flow, Pair, reference, referenced_names
from codemod.analysis.names import SECRET_WORDS, NameClass
from codemod.analysis.values import ValueKind, is_secret_value
from codemod.config import Config
from codemod.model import Finding, Hit


@dataclass(frozen=True)
class Invalid:
    code: str
    line: int
    expected: str | None = None
    variable: str | None = None


class Context:
    """What the rules of one Dockerfile may read: its flow, the configuration, a snapshot of its build
    context (:class:`~codemod.analysis.contextfiles.ContextFiles`; rules do no I/O), the stages other
    files build (``targets``), and the secrets that must stay as they are (``keep``: name -> reason)."""

    def __init__(self, path: str, flow: Flow, config: Config, files: ContextFiles = EMPTY,
                 targets: frozenset[str] = frozenset(), keep: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.flow = flow
        self.config = config
        self.files = files
        self.targets = targets
        self.keep: Mapping[str, str] = keep or {}
        #: per-file answers of the policy helpers (:func:`codemod.rules.migration.plan`), by their own keys
        self.memo: dict[tuple[object, ...], Any] = {}
        self._values: dict[tuple[int, int], str | None] = {}
        self._ignore: Callable[[str], bool] | None = None
        #: answers of :meth:`name_class` and :meth:`secret` for this file (several rules ask about each pair)
        self._classes: dict[str, NameClass] = {}
        self._secrets: dict[tuple[str, str], tuple[bool, ValueKind]] = {}

    def name_class(self, name: str) -> NameClass:
        nc = self._classes.get(name)
        if nc is None:
            nc = self._classes[name] = self.config.classify(name)
        return nc

    def resolved(self, pair: Pair) -> tuple[str | None, Pair | None]:
        """The value a pair has in the image, following ``$ENV`` references back to one ``$ARG``; the ARG is
        given only when ``pair`` names it directly."""
        ref = reference(pair.kv.value)
        return self._value_of(pair), self.flow.arg_at(pair.ins_index, ref[0]) if ref else None

    def _value_of(self, pair: Pair) -> str | None:
        """``resolved(pair)[0]``, remembered per pair. A loop, not recursion: a chain may be any length,
        and each pair on it is walked once."""
        chain: list[tuple[int, int]] = []
        while True:
            key = (pair.ins_index, pair.kv_index)
            if key in self._values:
                value = self._values[key]
                break
            chain.append(key)
            ref = reference(pair.kv.value)
            if ref is None:
                value = pair.kv.value
                break
            name, op, operand = ref
            arg = self.flow.arg_at(pair.ins_index, name)
            if arg is not None:
                default = self.flow.arg_default(arg)
                value = operand if default is None and op in (":-", "-") else default
                break
            env = self.flow.env_at(pair.ins_index, name)
            if env is None:
                value = operand if op in (":-", "-") else None
                break
            pair = env
        self._values.update(dict.fromkeys(chain, value))
        return value

    def secret(self, name: str, value: str | None) -> tuple[bool, ValueKind]:
        if value is None:
            return False, ValueKind.EMPTY
        key = (name, value)
        found = self._secrets.get(key)
        if found is None:
            found = self._secrets[key] = is_secret_value(self.name_class(name), value)
        return found

    def other_uses(self, arg: Pair, excluding: set[tuple[int, int]], skip_runs: frozenset[int] | set[int] = frozenset()
                   ) -> bool:
        """Is ``arg`` named anywhere in its scope besides the pairs in ``excluding`` and the RUNs in ``skip_runs``?"""
        flow = self.flow
        name = arg.name
        # a global ARG reaches FROM lines, and stages that declare it again
        if arg.stage < 0 and (flow.used_by_from(arg) or flow.declared_in_a_stage(name)):
            return True
        for i in flow.readers(name, flow.scope(arg)):
            if flow.arg_at(i, name) is not arg:
                continue
            ins = flow.df.instructions[i]
            if ins.keyword in ("ENV", "ARG", "LABEL") and ins.kvs:
                for k, kv in enumerate(ins.kvs):
                    if (i, k) not in excluding and name in referenced_names(kv.raw):
                        return True
                continue
            if i in skip_runs:
                continue
            if name in flow.names(i):
                return True
        return False

    def dockerignore(self) -> Callable[[str], bool] | None:
        """``excluded(relpath)`` for the build context's ``.dockerignore`` (None without a context)."""
        if not self.files.present:
            return None
        if self._ignore is None:
            from codemod.dockerfile.dockerignore import dockerignore_matcher

            self._ignore = dockerignore_matcher(self.files.dockerignore or "")
        return self._ignore


#: trigger words of the rules that judge names (regexes on the file's lower-cased bytes): every secret word
#: of :mod:`codemod.analysis.names` (a glued spelling such as ``PGPASSWORD`` holds one; the shortest only as
#: a whole word, or ``pat`` would match every ``path``), the words of names that hold credentials by
#: convention, and the uses that make any variable a credential (:data:`~codemod.analysis.evidence.EVIDENCE_WORDS`)
NAME_WORDS: tuple[str, ...] = tuple(sorted(
    {w if len(w) > 3 or w in ("key", "pwd", "psw", "jwt") else rf"(?<![a-z]){w}(?![a-z])" for w in SECRET_WORDS}
    | {"session", "api", "bundle_", "_url", "index", *EVIDENCE_WORDS}
))
#: trigger words of the known secret formats of :mod:`codemod.analysis.values` (the catalogue still decides)
FORMAT_WORDS: tuple[str, ...] = (
    "akia", "asia", "gh[pousr]_", "github_pat", "glpat", "xox", "sk_live", "rk_live", "sk-", "npm_", "pypi-",
    "dckr_", "eyj", "aiza", r"sg\.",
)
#: trigger words of credentials inside larger values
CREDENTIAL_WORDS: tuple[str, ...] = (r"://[^/\s@]*:[^/\s@]*@", "bearer", "basic", "webhook", "sig=")


class Rule:
    """One rule: ruff's What/Why/Fix docstring, hadolint's code and message, its own examples, and what it
    declares for the registry (:mod:`codemod.rules`): its code, severity, trigger words and references.

    ``SOURCE`` says which files its findings come from: ``dockerfile`` rules run here on every Dockerfile;
    the others (compose, workflows, scripts, Python, env files) are reported by their own checkers and
    documented here. ``WORDS`` are what the pre-filter looks for before any rule runs (regexes on the
    lower-cased bytes): a Dockerfile none of them matches is not analysed.
    """

    CODE: ClassVar[str]
    KIND: ClassVar[str]
    MESSAGE: ClassVar[str] = ""
    SOURCE: ClassVar[str] = "dockerfile"
    #: (SARIF default level, security-severity 0.1-10.0: >9 critical, 7-8.9 high, 4-6.9 medium)
    SEVERITY: ClassVar[tuple[str, str]] = ("error", "7.5")
    WORDS: ClassVar[tuple[str, ...]] = ()
    REFERENCES: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[list[str]] = []
    INVALID: ClassVar[list[Invalid]] = []
    #: for rules outside the Dockerfile: the example in docs (before, after or None) and its language, and
    #: the fix availability (Dockerfile rules derive it from their INVALID examples)
    EXAMPLE: ClassVar[tuple[str, str | None]] = ("", None)
    LANG: ClassVar[str] = "dockerfile"
    FIX_AVAILABILITY: ClassVar[str] = ""

    @property
    def code(self) -> str:
        return self.CODE

    def check(self, ctx: Context) -> Iterator[Hit]:
        """The findings in one Dockerfile (rules of other files find theirs elsewhere: none here)."""
        return iter(())

    def finding(self, ctx: Context, line0: int, variable: str, *, fixable: bool = True,
                value_class: str = "", fix: str = "", **fmt: str) -> Finding:
        return Finding(
            path=ctx.path,
            line=line0 + 1,
            variable=variable,
            kind=self.KIND,
            message=self.MESSAGE.format(name=variable, value_class=value_class or "value", **fmt),
            fixable=fixable,
            value_class=value_class,
            fix=fix,
            code=self.CODE,
        )
