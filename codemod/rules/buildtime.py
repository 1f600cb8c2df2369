"""Build-time secrets: which RUNs read a secret ARG, and how each gets a secret mount instead.

A RUN reads an ARG when it names it (``$X``, ``${X...}``, in shell or exec form or a
heredoc body), through an ENV alias (``ENV TOKEN=$GITHUB_TOKEN`` then ``$TOKEN``),
or implicitly, by running a tool that reads the variable itself (npm with a
committed ``.npmrc`` naming ``${NPM_TOKEN}``, sentry-cli, bundler, ...).

A RUN that *persists* the token (writes ``.npmrc``, ``npm config set``, ``git
config ... insteadOf``) without undoing it would keep it in its layer even with
a mount: when the next RUN of the stage consumes it, the two are merged into one
RUN that undoes the persistence at its end; otherwise a human decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codemod.analysis.flow import Pair
from codemod.analysis.tools import may_read_implicitly, reads_implicitly

if TYPE_CHECKING:
    from codemod.rules.base import Action, Context

_FILES = r"(?:\.npmrc|\.netrc|\.pypirc|\.git-credentials|\.yarnrc(?:\.yml)?|pip\.conf|pip\.ini|config\.json|auth\.json)"
_WRITE_FILE = re.compile(r">>?\s*[\"']?([^\s\"'&;|]*" + _FILES + r")[\"']?")
_CONFIG_SET = re.compile(r"\b(npm|yarn|pnpm|pip)\s+config\s+set\s+([^\s&;|]+)")
_GIT_INSTEADOF = re.compile(
    r"\bgit\s+config\s+((?:--(?:global|system|file\s+\S+)\s+)?)(url\.[^\s&;|]*?)\.insteadOf\b", re.I
)
_BETWEEN_OK = frozenset({"COPY", "ADD", "WORKDIR"})
#: marks a removal that a secret mount replaces (no runtime hand-off, no secure comment block)
BUILDTIME = "buildtime"


#: secret ids BuildKit gives a meaning of its own (remote Git contexts): never renamed
BUILTIN_ID_PREFIXES = ("GIT_AUTH_TOKEN", "GIT_AUTH_HEADER")


def secret_id(name: str) -> str:
    """Ids are the lower-cased name, except those BuildKit gives a meaning (GIT_AUTH_TOKEN*, GIT_AUTH_HEADER*)."""
    if name.startswith(BUILTIN_ID_PREFIXES):
        return name
    return name.lower()


@dataclass
class Persistence:
    what: str  # a description, no value
    undo: str  # the shell command that undoes it


def persistence(command: str) -> list[Persistence]:
    """What a RUN leaves behind that holds a secret, unless the same RUN undoes it."""
    found: list[Persistence] = []
    for m in _WRITE_FILE.finditer(command):
        path = m.group(1)
        base = path.rsplit("/", 1)[-1]
        if re.search(r"\brm\b[^&;|]*" + re.escape(base), command):
            continue
        found.append(Persistence(f"writes {path}", f"rm -f {path}"))
    for m in _CONFIG_SET.finditer(command):
        tool, key = m.group(1), m.group(2)
        if re.search(rf"\b{tool}\s+config\s+(?:delete|unset|rm)\s+{re.escape(key)}", command):
            continue
        verb = "unset" if tool == "pip" else "delete"
        found.append(Persistence(f"{tool} config set {key}", f"{tool} config {verb} {key}"))
    for m in _GIT_INSTEADOF.finditer(command):
        scope, section = m.group(1), m.group(2)
        if re.search(r"git\s+config\s+[^&;|]*(--unset|--remove-section)", command):
            continue
        found.append(Persistence("git config insteadOf", f"git config {scope}--remove-section {section}"))
    return found


@dataclass
class RunRead:
    ins_index: int
    var: str  # the variable the RUN reads (the ARG, or its ENV alias)


@dataclass
class BuildPlan:
    arg: Pair
    id: str
    reads: list[RunRead]
    aliases: list[Pair]
    actions: list[Action] = field(default_factory=list)
    fixable: bool = True
    reason: str = ""
    persisted: list[tuple[int, str]] = field(default_factory=list)  # (RUN index, description) left for a human
    #: (ins_index, kv_index) of each alias: a set lookup (``in aliases`` compares pairs field by field)
    alias_keys: set[tuple[int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.alias_keys = {(a.ins_index, a.kv_index) for a in self.aliases}


def plan(ctx: Context, p: Pair) -> BuildPlan | None:
    """How the build-time secret ``p`` (an ARG in a stage) becomes a secret mount, or None if no RUN reads it."""
    from codemod.rules.base import Action

    flow = ctx.flow
    if p.what != "ARG" or p.stage < 0:
        return None
    nc = ctx.name_class(p.name)
    if not nc.secret:
        return None
    default = flow.arg_default(p)
    if nc.weak and not (default and ctx.secret(p.name, default)[0]):
        return None
    rc = ctx.npmrc_vars()
    aliases = flow.env_bindings_of(p)
    # the RUNs that can read p or an alias: those naming it in its scope, or all there if a tool may read it
    readers: dict[int, list[Pair]] = {}
    for q in (p, *aliases):
        for i in flow.runs_naming(q, every=may_read_implicitly(q.name, rc)):
            readers.setdefault(i, []).append(q)
    reads: list[RunRead] = []
    for i in sorted(readers):
        text = flow.run_text(i)
        names = flow.names(i)
        for q in readers[i]:  # p, then its aliases in file order
            scoped = flow.arg_at(i, q.name) if q is p else flow.env_at(i, q.name)
            if scoped is q and (q.name in names or reads_implicitly(text, q.name, rc)):
                reads.append(RunRead(i, q.name))
    if not reads:
        return None
    read_vars = {r.var for r in reads}
    bp = BuildPlan(arg=p, id=secret_id(p.name), reads=reads, aliases=[a for a in aliases if a.name in read_vars])
    run_indices = {r.ins_index for r in reads}
    excluding = {(a.ins_index, a.kv_index) for a in bp.aliases}
    if ctx.other_uses(p, excluding, skip_runs=run_indices):
        bp.fixable, bp.reason = False, f"{p.name} is also used outside RUN steps"
        return bp
    style_env = ctx.config.secret_style == "env"
    for r in reads:
        ins = flow.df.instructions[r.ins_index]
        env_style = style_env or ins.json or bool(ins.heredocs) or ins.keyword == "ONBUILD"
        spec = f"{bp.id}|{r.var}|{'env' if env_style else 'file'}"
        persisted = [] if ins.json or ins.heredocs else persistence(flow.run_text(r.ins_index))
        if persisted:
            consumer = _consumer(ctx, r.ins_index)
            if consumer is None:
                bp.persisted.append((r.ins_index, "; ".join(x.what for x in persisted)))
                bp.fixable = False
                bp.reason = f"RUN line {ins.start_line + 1} {persisted[0].what} and no next RUN to merge it into"
                continue
            undo = " && ".join(x.undo for x in persisted)
            bp.actions.append(Action("merge-into", consumer, r.ins_index, undo))
            bp.actions.append(Action("mount", consumer, -1, spec))
        else:
            bp.actions.append(Action("mount", r.ins_index, -1, spec))
    if not bp.fixable:
        bp.actions = []
        return bp
    bp.actions.append(Action("remove", p.ins_index, p.kv_index, BUILDTIME))
    glob = flow.global_decl(p)
    if glob is not None and flow.redeclarations(glob) == [p] and not flow.used_by_from(glob):
        bp.actions.append(Action("remove", glob.ins_index, glob.kv_index, BUILDTIME))
    for a in bp.aliases:
        bp.actions.append(Action("remove", a.ins_index, a.kv_index, BUILDTIME))
    return bp


def _consumer(ctx: Context, writer: int) -> int | None:
    """The next RUN of the stage, if only COPY/ADD/WORKDIR lie between and both are plain shell form."""
    flow = ctx.flow
    w = flow.df.instructions[writer]
    if w.keyword != "RUN":
        return None
    for i in range(writer + 1, len(flow.df.instructions)):
        if flow.stage_of[i] != flow.stage_of[writer]:
            return None
        ins = flow.df.instructions[i]
        if ins.keyword == "RUN":
            return None if ins.json or ins.heredocs else i
        if ins.keyword not in _BETWEEN_OK:
            return None
    return None
