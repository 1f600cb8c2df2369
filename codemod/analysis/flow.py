"""Where each ENV/ARG pair lives and what reads it, per build stage.

A Dockerfile is cut into its global scope (ARGs before the first FROM) and its
stages. An ARG is visible to the instructions after it in its stage; a global
ARG only where a stage declares it again (``ARG X``). A RUN sees every ARG and
ENV in scope as an environment variable, and names one with ``$X``/``${X...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from codemod.dockerfile.scanner import Dockerfile, Instruction, KeyValue

#: the whole value is a reference: ``$X``, ``${X}``, ``${X:-default}`` (and friends)
_REF = re.compile(r"^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?=])(.*))?\})$", re.S)
_ANY_REF = re.compile(r"\$(?:\{[#!]?([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def reference(value: str) -> tuple[str, str, str] | None:
    """``(name, operator, operand)`` when the whole value is one ``$`` reference."""
    m = _REF.match(value)
    if not m:
        return None
    return (m.group(1) or m.group(2), m.group(3) or "", m.group(4) or "")


def referenced_names(text: str) -> set[str]:
    return {a or b for a, b in _ANY_REF.findall(text)}


@dataclass
class Pair:
    """One ENV or ARG pair with where it sits."""

    what: str  # "ENV" | "ARG"
    ins_index: int
    kv_index: int
    ins: Instruction
    kv: KeyValue
    stage: int  # -1 for the global scope

    @property
    def name(self) -> str:
        return self.kv.key

    @property
    def line(self) -> int:
        return self.kv.line

    @property
    def value_span(self) -> tuple[int, int]:
        return (self.kv.value_start, self.kv.value_end) if self.kv.has_value else (0, 0)


@dataclass
class Stage:
    index: int
    first: int  # instruction index of FROM (or 0 for the global scope)
    last: int  # inclusive
    instructions: list[int] = field(default_factory=list)


@dataclass
class Flow:
    """Facts about one Dockerfile that the rules read."""

    df: Dockerfile
    pairs: list[Pair]
    stages: list[Stage]
    stage_of: list[int]
    #: (instruction index) -> the ARG pair each visible name resolves to there
    _arg_scope: list[dict[str, Pair]]
    #: (instruction index) -> ENV pairs in scope there
    _env_scope: list[dict[str, Pair]]

    def arg_at(self, ins_index: int, name: str) -> Pair | None:
        return self._arg_scope[ins_index].get(name)

    def env_at(self, ins_index: int, name: str) -> Pair | None:
        return self._env_scope[ins_index].get(name)

    def arg_default(self, arg: Pair) -> str | None:
        """The value an ARG has when nobody passes it: its default, or the global one it re-declares."""
        if arg.kv.has_value:
            return arg.kv.value
        glob = self.global_decl(arg)
        if glob is not None and glob.kv.has_value:
            return glob.kv.value
        return None

    def global_decl(self, arg: Pair) -> Pair | None:
        """The global ARG a stage ARG without a default declares again."""
        if arg.stage < 0 or arg.kv.has_value:
            return None
        for p in self.pairs:
            if p.what == "ARG" and p.stage == -1 and p.name == arg.name:
                return p
        return None

    def redeclarations(self, glob: Pair) -> list[Pair]:
        return [p for p in self.pairs if p.what == "ARG" and p.stage >= 0 and p.name == glob.name
                and not p.kv.has_value]

    def used_by_from(self, glob: Pair) -> bool:
        return any(ins.keyword == "FROM" and glob.name in referenced_names(ins.original)
                   for ins in self.df.instructions)

    def runs_after(self, ins_index: int) -> list[int]:
        """RUN instructions (ONBUILD RUN included) later in the same stage."""
        stage = self.stage_of[ins_index]
        out = []
        for i in range(ins_index + 1, len(self.df.instructions)):
            if self.stage_of[i] != stage:
                break
            if self.df.instructions[i].effective == "RUN":
                out.append(i)
        return out

    def run_text(self, ins_index: int) -> str:
        ins = self.df.instructions[ins_index]
        return ins.original + "\n" + "".join(h.content for h in ins.heredocs)

    def env_bindings_of(self, arg: Pair) -> list[Pair]:
        """ENV pairs whose whole value is a reference to ``arg``."""
        out = []
        for p in self.pairs:
            if p.what != "ENV" or p.ins_index <= arg.ins_index:
                continue
            ref = reference(p.kv.value)
            if ref and self.arg_at(p.ins_index, ref[0]) is arg:
                out.append(p)
        return out

    def reads_in_runs(self, pair: Pair) -> list[int]:
        """RUNs after ``pair`` (same stage, still in scope) that name it with ``$``."""
        out = []
        for i in self.runs_after(pair.ins_index):
            scoped = self.arg_at(i, pair.name) if pair.what == "ARG" else self.env_at(i, pair.name)
            if scoped is not pair:
                continue
            if pair.name in referenced_names(self.run_text(i)):
                out.append(i)
        return out


def analyse(df: Dockerfile) -> Flow:
    pairs: list[Pair] = []
    stages: list[Stage] = [Stage(index=-1, first=0, last=-1)]
    stage_of: list[int] = []
    arg_scope: list[dict[str, Pair]] = []
    env_scope: list[dict[str, Pair]] = []
    global_args: dict[str, Pair] = {}
    args: dict[str, Pair] = {}
    envs: dict[str, Pair] = {}
    stage = -1
    for idx, ins in enumerate(df.instructions):
        kw = ins.keyword
        if kw == "FROM":
            stage += 1
            stages.append(Stage(index=stage, first=idx, last=idx))
            args, envs = {}, {}
        stage_of.append(stage)
        stages[-1].instructions.append(idx)
        stages[-1].last = idx
        # FROM lines see the global ARGs; the rest of a stage only what it declares
        arg_scope.append(dict(global_args) if kw == "FROM" else dict(args))
        env_scope.append(dict(envs))
        if ins.effective in ("ARG", "ENV"):
            kw = ins.effective
            for k, kv in enumerate(ins.kvs):
                p = Pair(kw, idx, k, ins, kv, stage)
                pairs.append(p)
                if kw == "ENV":
                    envs[kv.key] = p
                else:
                    if stage < 0:
                        global_args[kv.key] = p
                    args[kv.key] = p
    return Flow(df=df, pairs=pairs, stages=stages, stage_of=stage_of, _arg_scope=arg_scope, _env_scope=env_scope)
