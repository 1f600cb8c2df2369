"""How one secret leaves the image while every consumer keeps it (design.md section 3).

A *secret* is an ARG (with its ENV bindings, ``ENV X=$ARG``) or a literal ENV. Its consumers are the
RUNs in scope that read it (by name, through a known tool, or possibly) and, for an ENV that reaches
an image someone runs, the container. :func:`plan` serves each of them:

- a RUN gets a secret mount for the variable it reads (``required=true`` when it reads it by name or
  through a known tool; no ``required`` when it only possibly reads it or runs under ONBUILD); a
  placeholder a step needs stays its fallback (ARG) or goes inline (ENV);
- the container gets the variable from the runtime environment (the env example, compose);
- a RUN that writes the secret into its layer keeps it there: the write is undone in the same RUN
  (or the RUN is merged into the next one that uses the file) only with an undo that really removes
  it; otherwise a human decides.

When any consumer cannot be served, nothing changes for that secret and the plan says why.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codemod.analysis.consumers import Mode, Read, persisted, run_commands, run_read
from codemod.analysis.evidence import Evidence, evidence
from codemod.analysis.flow import Pair, reference
from codemod.analysis.values import ValueKind, classify_value, known_format, url_credential
from codemod.model import Action, Hit, InlineEnv, MergeInto, Mount, RemovePair, secret_id

if TYPE_CHECKING:
    from codemod.rules.base import Context, Rule

_BETWEEN_OK = frozenset({"COPY", "ADD", "WORKDIR"})
#: programs that read configuration files a RUN may have written (.npmrc, .gitconfig, pip.conf, .netrc)
_READS_CONFIG = frozenset({"git", "go", "npm", "npx", "yarn", "pnpm", "pip", "pip3", "python", "python3", "curl",
                           "wget", "bundle", "composer", "poetry", "uv", "twine", "cargo", "mvn", "gradle",
                           "./gradlew", "./mvnw", "gem", "huggingface-cli", "hf", "docker", "gh", "aws"})


@dataclass(frozen=True)
class Consumer:
    """RUN ``ins`` reads variable ``var`` of a secret (``read`` says how)."""

    ins: int
    var: str
    read: Read
    onbuild: bool = False


@dataclass
class SecretPlan:
    """The migration of one secret, or why it cannot be migrated (``reason``)."""

    anchor: Pair
    id: str
    bindings: list[Pair]
    consumers: list[Consumer]
    #: ENV names the container reads: handed to run time
    runtime: list[str]
    value: str | None
    value_kind: ValueKind
    actions: list[Action] = field(default_factory=list)
    reason: str = ""
    #: (RUN, what it writes) left in a layer
    persisted: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def build_secret(self) -> bool:
        """Does a build now pass ``--secret id=<id>``?"""
        return any(isinstance(a, Mount) for a in self.actions)

    @property
    def mounts(self) -> list[Mount]:
        return [a for a in self.actions if isinstance(a, Mount)]


def is_secret_arg(ctx: Context, p: Pair) -> tuple[bool, ValueKind]:
    """Is ARG ``p`` a secret: a secret default, a strong secret name, or a variable its RUNs use as a
    credential (:func:`arg_evidence`)? A default that is only a reference (``ARG NPM_TOKEN=${NPM_TOKEN}``)
    says nothing: the name and the uses decide."""
    default = ctx.flow.arg_default(p)
    judged = default not in (None, "") and reference(default or "") is None
    if judged:
        secret, kind = ctx.secret(p.name, default)
        if secret:
            return True, kind
    nc = ctx.name_class(p.name)
    if nc.secret and not nc.weak and not judged:
        return True, ValueKind.BUILD_ARG
    ev = arg_evidence(ctx, p)
    if ev is not None and (ev.strong or not judged or url_credential(default or "")):
        return True, ValueKind.PLAIN if judged else ValueKind.BUILD_ARG
    return False, ValueKind.NOT_SECRET


def arg_evidence(ctx: Context, p: Pair) -> Evidence | None:
    """How the RUNs in ``p``'s scope use it as a credential (a key file, an auth header, a password flag...),
    remembered per file."""
    key = ("evidence", p.ins_index, p.kv_index)
    if key not in ctx.memo:
        flow = ctx.flow
        texts = (flow.run_text(i) for i in flow.runs(flow.scope(p)) if flow.arg_at(i, p.name) is p)
        ctx.memo[key] = evidence(texts, p.name)
    found: Evidence | None = ctx.memo[key]
    return found


def bound_secret(ctx: Context, env: Pair) -> tuple[Pair, ValueKind] | None:
    """The ARG behind ``ENV NAME=$ARG`` when the pair carries a secret into the image, and the value's kind."""
    ref = reference(env.kv.value)
    if ref is None:
        return None
    arg = ctx.flow.arg_at(env.ins_index, ref[0])
    if arg is None or (env.ins.keyword == "ONBUILD") != (arg.ins.keyword == "ONBUILD"):
        return None
    value, _ = ctx.resolved(env)
    kind = classify_value(value) if value is not None else ValueKind.REFERENCE
    if value is not None and known_format(value):
        return arg, ValueKind.REAL
    if kind is ValueKind.NOT_SECRET:
        return None
    for name in (env.name, arg.name):
        nc = ctx.name_class(name)
        if not nc.secret:
            continue
        if not nc.weak or kind in (ValueKind.REAL, ValueKind.PLACEHOLDER):
            return arg, kind
    return None


def plan(ctx: Context, p: Pair) -> SecretPlan | None:
    """The plan of secret ``p`` (an ARG, or a literal ENV), remembered per file; None when ``p`` is none."""
    key = ("secret-plan", p.ins_index, p.kv_index)
    if key not in ctx.memo:
        ctx.memo[key] = _plan(ctx, p)
    found: SecretPlan | None = ctx.memo[key]
    return found


def _plan(ctx: Context, p: Pair) -> SecretPlan | None:
    flow = ctx.flow
    if p.what == "ARG":
        secret, kind = is_secret_arg(ctx, p)
        bindings = [b for b in flow.env_bindings_of(p) if (bound := bound_secret(ctx, b)) and bound[0] is p]
        if not secret and not bindings:
            return None
        if not secret:
            kind = ValueKind.BUILD_ARG
        value = flow.arg_default(p)
    else:
        ref = reference(p.kv.value)
        if ref is not None and flow.arg_at(p.ins_index, ref[0]) is not None:
            return None  # ENV X=$ARG: the ARG's plan
        value, _ = ctx.resolved(p)
        secret, kind = ctx.secret(p.name, value)
        if not secret or value is None:
            return None
        bindings = []
    sp = SecretPlan(anchor=p, id=secret_id(p.name), bindings=bindings, consumers=[], runtime=[], value=value,
                    value_kind=kind)
    if p.name in ctx.keep:
        sp.reason = ctx.keep[p.name]
        return sp
    if p.stage < 0:
        _global(ctx, sp)
        return sp
    _find_consumers(ctx, sp)
    if not sp.reason:
        _serve(ctx, sp)
    if sp.reason:
        sp.actions = []
    return sp


def _global(ctx: Context, sp: SecretPlan) -> None:
    """A global ARG: FROM lines and the stages that declare it again are its readers; each stage's
    declaration is planned on its own, so the global one is removed only when nothing else uses it."""
    flow = ctx.flow
    p = sp.anchor
    if flow.used_by_from(p):
        sp.reason = f"{p.name} is used by a FROM line"
    elif flow.declared_in_a_stage(p.name):
        sp.reason = f"{p.name} is declared again in a stage: migrated there"
    else:
        sp.actions = [RemovePair(p.ins_index, p.kv_index)]


def _env_consumers(ctx: Context, env: Pair) -> tuple[list[Consumer], bool]:
    """The RUNs that see ENV ``env`` (after it in its stage, in the stages built FROM it, and the ONBUILD
    RUNs its image passes on), and whether it reaches an image someone runs."""
    flow = ctx.flow
    out: list[Consumer] = []
    onbuild_env = env.ins.keyword == "ONBUILD"
    stages = [env.stage] + ([] if onbuild_env else flow.children(env.stage))
    for s in stages:
        st = flow.stages[s + 1]
        for i in flow.runs(range(st.first, st.last + 1)):
            ins = flow.df.instructions[i]
            onbuild = ins.keyword == "ONBUILD"
            if onbuild_env and (not onbuild or i < env.ins_index):
                continue
            if s == env.stage and not onbuild and (i < env.ins_index or flow.env_at(i, env.name) is not env):
                continue
            if s != env.stage and flow.env_at(i, env.name) is not None:
                continue  # set again in the child stage
            read = run_read(ins, flow.names(i), env.name, ctx.files)
            if read.mode is not Mode.NONE:
                out.append(Consumer(i, env.name, read, onbuild))
    runtime = not onbuild_env and env.stage in flow.run_stages(ctx.targets)
    return out, runtime


def _arg_consumers(ctx: Context, arg: Pair) -> list[Consumer]:
    """The RUNs in an ARG's scope that read it. ONBUILD RUNs run in a child build, which never sees the
    ARGs of its parent; an ONBUILD ARG is seen only by the ONBUILD RUNs after it."""
    flow = ctx.flow
    onbuild_arg = arg.ins.keyword == "ONBUILD"
    out = []
    for i in flow.runs(flow.scope(arg)):
        ins = flow.df.instructions[i]
        onbuild = ins.keyword == "ONBUILD"
        if onbuild != onbuild_arg or flow.arg_at(i, arg.name) is not arg:
            continue
        if flow.env_at(i, arg.name) is not None:
            continue  # an ENV of the same name always overrides the ARG: the RUN sees the ENV's value
        read = run_read(ins, flow.names(i), arg.name, ctx.files)
        if read.mode is not Mode.NONE:
            out.append(Consumer(i, arg.name, read, onbuild))
    return out


def _find_consumers(ctx: Context, sp: SecretPlan) -> None:
    p = sp.anchor
    if p.what == "ARG":
        excluding = {(b.ins_index, b.kv_index) for b in sp.bindings}
        runs = set(ctx.flow.runs(ctx.flow.scope(p)))
        if ctx.other_uses(p, excluding, skip_runs=runs):
            sp.reason = f"{p.name} is also used outside RUN steps"
            return
        sp.consumers = _arg_consumers(ctx, p)
        envs = sp.bindings
    else:
        envs = [p]
    for e in envs:
        consumers, runtime = _env_consumers(ctx, e)
        sp.consumers.extend(consumers)
        if runtime:
            sp.runtime.append(e.name)


def _prefix_kind(ctx: Context, sp: SecretPlan) -> str:
    """How a consuming RUN gets the value: ``mount``, ``fallback`` (a mount falling back to the ARG's
    default) or ``inline`` (an ENV's value, written on the RUN). A default that is not real-looking (a
    placeholder, a plain dev value) is what a build step saw unless a build passed another: it stays its
    fallback. A real-looking one must leave the file: the step reads it from a secret mount."""
    if sp.value and sp.value_kind in (ValueKind.PLACEHOLDER, ValueKind.PLAIN):
        return "fallback" if sp.anchor.what == "ARG" else "inline"
    return "mount"


_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSIX_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})


def posix_shell(ctx: Context, ins_index: int) -> bool:
    """Does a shell-form RUN at ``ins_index`` run in a POSIX shell (where an ``export`` prefix works)? Not
    with the backtick escape of Windows images, nor after a SHELL that names another shell."""
    flow = ctx.flow
    if flow.df.escape == "`":
        return False
    stage = flow.stage_of[ins_index]
    start = ins_index
    while stage >= 0:
        st = flow.stages[stage + 1]
        for i in range(start - 1, st.first - 1, -1):
            ins = flow.df.instructions[i]
            if ins.effective == "SHELL" and ins.keyword == "SHELL":
                prog = (ins.value[0] if ins.value else "").replace("\\", "/").rsplit("/", 1)[-1].lower()
                return prog.removesuffix(".exe") in _POSIX_SHELLS
        stage = st.parent
        start = flow.stages[stage + 1].last + 1 if stage >= 0 else 0
    return True


def _runs_as_root(ctx: Context, ins_index: int) -> bool:
    """Does RUN ``ins_index`` run as root? The last USER before it (in its stage and the stages it is built
    FROM); an ONBUILD RUN runs in a child build as the image's user (the stage's last USER), unless an
    ONBUILD USER before it changes that."""
    flow = ctx.flow
    onbuild = flow.df.instructions[ins_index].keyword == "ONBUILD"
    stage = flow.stage_of[ins_index]
    start = ins_index
    if onbuild:
        for i in range(ins_index - 1, flow.stages[stage + 1].first, -1):
            ins = flow.df.instructions[i]
            if ins.keyword == "ONBUILD" and ins.sub_cmd.upper() == "USER":
                return _is_root(ins.value[0] if ins.value else "")
        start = flow.stages[stage + 1].last + 1
    while stage >= 0:
        st = flow.stages[stage + 1]
        for i in range(start - 1, st.first - 1, -1):
            ins = flow.df.instructions[i]
            if ins.keyword == "USER":
                return _is_root(ins.value[0] if ins.value else "")
        stage = st.parent
        start = flow.stages[stage + 1].last + 1 if stage >= 0 else 0
    return True


def _is_root(user: str) -> bool:
    return user.split(":", 1)[0] in ("", "root", "0")


def _serve(ctx: Context, sp: SecretPlan) -> None:
    flow = ctx.flow
    kind = _prefix_kind(ctx, sp)
    actions: list[Action] = []
    style_env = ctx.config.secret_style == "env"
    if not _SHELL_NAME.fullmatch(sp.anchor.name) and (sp.consumers or sp.runtime):
        sp.reason = f"{sp.anchor.name!r} is not a name a shell or a secret id can carry"
        return
    for c in sp.consumers:
        ins = flow.df.instructions[c.ins]
        exec_like = ins.json or bool(ins.heredocs)
        if not _SHELL_NAME.fullmatch(c.var):
            sp.reason = f"RUN line {ins.start_line + 1} reads {c.var!r}, which no shell can export"
            return
        if not exec_like and not posix_shell(ctx, c.ins):
            sp.reason = (f"RUN line {ins.start_line + 1} may read {c.var} and runs in a shell that is not a POSIX "
                         "shell: the tool cannot write its secret mount there")
            return
        if kind in ("inline", "fallback") and exec_like:
            sp.reason = (f"RUN line {ins.start_line + 1} needs a value for {c.var} and is in exec or heredoc "
                         "form: nothing can put a placeholder there")
            return
        if c.onbuild and exec_like:
            sp.reason = (f"ONBUILD RUN line {ins.start_line + 1} is in exec or heredoc form: a child build "
                         "may not read env= mounts")
            return
        if kind == "inline":
            actions.append(InlineEnv(c.ins, f"{c.var}={shlex.quote(sp.value or '')}"))
            continue
        required = c.read.mode >= Mode.TOOL and not c.onbuild and kind == "mount"
        style = "env" if (exec_like or (style_env and not c.onbuild)) else "file"
        fallback = sp.value if kind == "fallback" else None
        mode = "0444" if style == "file" and not _runs_as_root(ctx, c.ins) else ""
        actions.append(Mount(c.ins, sp.id, c.var, style, required, fallback, mode))
    if not _persistence(ctx, sp, actions):
        return
    runtime_removal = bool(sp.runtime) or not any(isinstance(a, Mount) for a in actions)
    p = sp.anchor
    actions.append(RemovePair(p.ins_index, p.kv_index, runtime=runtime_removal))
    if p.what == "ARG":
        glob = flow.global_decl(p)
        if glob is not None and flow.redeclarations(glob) == [p] and not flow.used_by_from(glob):
            actions.append(RemovePair(glob.ins_index, glob.kv_index, runtime=runtime_removal))
    for b in sp.bindings:
        actions.append(RemovePair(b.ins_index, b.kv_index, runtime=b.name in sp.runtime or runtime_removal))
    sp.actions = actions


def _persistence(ctx: Context, sp: SecretPlan, actions: list[Action]) -> bool:
    """Undo what consuming RUNs write into their layer, or give the plan a reason; False when it cannot."""
    flow = ctx.flow
    for c in sp.consumers:
        ins = flow.df.instructions[c.ins]
        found = persisted(ins, c.var, ctx.files)
        if not found:
            continue
        what = "; ".join(x.what for x in found)
        undos = [x.undo for x in found]
        if any(u is None for u in undos) or ins.json or ins.heredocs:
            sp.persisted.append((c.ins, what))
            sp.reason = (f"RUN line {ins.start_line + 1} {what}, and nothing known removes every copy: "
                         "the secret would stay in the layer")
            return False
        undo = " && ".join(u for u in undos if u)
        later = _later_config_readers(ctx, c.ins)
        if not later:
            actions.append(MergeInto(c.ins, c.ins, undo))
            continue
        target = _merge_target(ctx, c.ins)
        if target is not None and not _later_config_readers(ctx, target):
            actions.append(MergeInto(target, c.ins, undo))
            for m in [a for a in actions if isinstance(a, Mount) and a.ins == c.ins]:
                actions.append(Mount(target, m.id, m.var, m.style, m.required, m.fallback))
            continue
        sp.persisted.append((c.ins, what))
        sp.reason = (f"RUN line {ins.start_line + 1} {what} and a later step may read it: removing it "
                     "there would break that step, keeping it leaves the secret in the layer")
        return False
    return True


def _later_config_readers(ctx: Context, ins_index: int) -> list[int]:
    """RUNs after ``ins_index`` (its stage, and stages built FROM it) that run a program reading
    configuration files a RUN may have written."""
    flow = ctx.flow
    stage = flow.stage_of[ins_index]
    out = []
    for s in [stage, *flow.children(stage)]:
        st = flow.stages[s + 1]
        start = ins_index + 1 if s == stage else st.first
        for i in flow.runs(range(start, st.last + 1)):
            cmds = run_commands(flow.df.instructions[i])
            if cmds is None or any(_reads_config(c.argv) for c in cmds):
                out.append(i)
    return out


def _reads_config(argv: list[str]) -> bool:
    words = [w for w in argv if w not in ("sudo", "then", "do", "exec", "env")]
    return bool(words) and (words[0] in _READS_CONFIG or not words[0].isidentifier() and "/" in words[0])


def _merge_target(ctx: Context, writer: int) -> int | None:
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


def secret_plans(ctx: Context) -> list[SecretPlan]:
    """Every secret of the file, in file order."""
    key = ("secret-plans",)
    if key not in ctx.memo:
        out = []
        for p in ctx.flow.pairs:
            sp = plan(ctx, p)
            if sp is not None:
                out.append(sp)
        ctx.memo[key] = out
    found: list[SecretPlan] = ctx.memo[key]
    return found


def describe(ctx: Context, sp: SecretPlan) -> str:
    """What the fix does, for the report (names and lines, never a value), or why it cannot."""
    if not sp.ok:
        return sp.reason
    df = ctx.flow.df
    parts = [f"remove {sp.anchor.what} {sp.anchor.name}"]
    ev = arg_evidence(ctx, sp.anchor) if sp.anchor.what == "ARG" and sp.anchor.stage >= 0 else None
    if ev is not None and not ctx.name_class(sp.anchor.name).secret:
        parts[0] += f" (a credential: {ev.reason})"
    mounts = _merged_by_ins(sp.mounts)
    if mounts:
        lines = ", ".join(f"{df.instructions[i].start_line + 1}" + ("" if req else " (may read it: not required)")
                          for i, req in mounts)
        parts.append(f"mount secret {sp.id} on RUN line {lines}; build with --secret id={sp.id},env={sp.anchor.name}")
    if any(m.fallback is not None for m in sp.mounts):
        parts.append("without a secret the step sees the old default, as before")
    inline = sorted({a.ins for a in sp.actions if isinstance(a, InlineEnv)})
    if inline:
        parts.append("the placeholder goes inline on RUN line " + ", ".join(str(df.instructions[i].start_line + 1)
                                                                          for i in inline))
    if sp.runtime:
        parts.append(f"provide {', '.join(sp.runtime)} at runtime")
    if any(isinstance(a, MergeInto) for a in sp.actions):
        parts.append("the written credential is removed in the same RUN")
    return "; ".join(parts)


def _merged_by_ins(mounts: list[Mount]) -> list[tuple[int, bool]]:
    out: dict[int, bool] = {}
    for m in mounts:
        out[m.ins] = out.get(m.ins, False) or m.required
    return sorted(out.items())


def hit(rule: Rule, ctx: Context, sp: SecretPlan, line0: int, variable: str, *, value_class: str = "",
        extra: list[Action] | None = None, moved: dict[str, str | None] | None = None,
        redact: list[tuple[int, int]] | None = None, **fmt: str) -> Hit:
    """The finding ``rule`` reports about secret ``sp`` at ``line0``, carrying the whole plan as its fix."""
    f = rule.finding(ctx, line0, variable, fixable=sp.ok, value_class=value_class or sp.value_kind.value,
                     fix=describe(ctx, sp), **fmt)
    if not sp.ok:
        return Hit(f, secret_values=_values(sp), redact=redact or [])
    handed: dict[str, str | None] = dict.fromkeys(sp.runtime)
    if moved:
        handed.update(moved)
    return Hit(f, [*sp.actions, *(extra or [])], secret_values=_values(sp), moved=handed, redact=redact or [],
               build_secrets={sp.id: sp.anchor.name} if sp.build_secret else {})


def _values(sp: SecretPlan) -> dict[str, str]:
    if not sp.value or sp.value_kind is ValueKind.BUILD_ARG:
        return {}
    return {sp.anchor.name: sp.value, **{b.name: sp.value for b in sp.bindings}}
