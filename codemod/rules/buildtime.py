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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codemod.analysis.flow import Pair
from codemod.analysis.persistence import persistence
from codemod.analysis.tools import may_read_implicitly, reads_implicitly
from codemod.model import Action, MergeInto, Mount, RemovePair, secret_id

if TYPE_CHECKING:
    from codemod.rules.base import Context

_BETWEEN_OK = frozenset({"COPY", "ADD", "WORKDIR"})


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
    """:func:`_plan`, remembered per file: several rules ask about each pair."""
    key = ("buildtime", p.ins_index, p.kv_index)
    if key not in ctx.memo:
        ctx.memo[key] = _plan(ctx, p)
    found: BuildPlan | None = ctx.memo[key]
    return found


def _plan(ctx: Context, p: Pair) -> BuildPlan | None:
    """How the build-time secret ``p`` (an ARG in a stage) becomes a secret mount, or None if no RUN reads it."""
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
        style = "env" if env_style else "file"
        persisted = [] if ins.json or ins.heredocs else persistence(flow.run_text(r.ins_index))
        if persisted:
            consumer = _consumer(ctx, r.ins_index)
            if consumer is None:
                bp.persisted.append((r.ins_index, "; ".join(x.what for x in persisted)))
                bp.fixable = False
                bp.reason = f"RUN line {ins.start_line + 1} {persisted[0].what} and no next RUN to merge it into"
                continue
            undo = " && ".join(x.undo for x in persisted)
            bp.actions.append(MergeInto(consumer, r.ins_index, undo))
            bp.actions.append(Mount(consumer, bp.id, r.var, style))
        else:
            bp.actions.append(Mount(r.ins_index, bp.id, r.var, style))
    if not bp.fixable:
        bp.actions = []
        return bp
    bp.actions.append(RemovePair(p.ins_index, p.kv_index, runtime=False))
    glob = flow.global_decl(p)
    if glob is not None and flow.redeclarations(glob) == [p] and not flow.used_by_from(glob):
        bp.actions.append(RemovePair(glob.ins_index, glob.kv_index, runtime=False))
    for a in bp.aliases:
        bp.actions.append(RemovePair(a.ins_index, a.kv_index, runtime=False))
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
