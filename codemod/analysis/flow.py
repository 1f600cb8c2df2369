"""Where each ENV/ARG pair lives and what reads it, per build stage.

A Dockerfile is cut into its global scope (ARGs before the first FROM) and its
stages. An ARG is visible to the instructions after it in its stage; a global
ARG only where a stage declares it again (``ARG X``). A RUN sees every ARG and
ENV in scope as an environment variable, and names one with ``$X``/``${X...}``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
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
    name: str = ""  # the ``AS`` name, lower-cased
    parent: int = -1  # the earlier stage this one is built FROM (-1: an image)


@dataclass
class Flow:
    """Facts about one Dockerfile that the rules read.

    Every lookup is an index built once by :func:`analyse` (a bisect or a dict), so analysing a file
    stays close to linear in its instruction count.
    """

    df: Dockerfile
    pairs: list[Pair]
    stages: list[Stage]
    stage_of: list[int]
    #: (stage, name) -> the ARG pairs of that name declared in the stage, in file order
    _args: dict[tuple[int, str], list[Pair]]
    #: (stage, name) -> the ENV pairs of that name set in the stage, in file order
    _envs: dict[tuple[int, str], list[Pair]]
    #: (stage, name) -> the ENV pairs in the stage whose whole value is ``$name``, in file order
    _bindings: dict[tuple[int, str], list[Pair]]
    #: instruction index -> the names its text (heredoc bodies included) references with ``$``
    _names: list[frozenset[str]]
    #: name -> the instructions that reference it (in their text or an ENV/ARG/LABEL value), ascending
    _readers: dict[str, list[int]]
    #: the RUN instructions (ONBUILD RUN included), ascending
    _runs: list[int]
    #: name -> the first global ARG pair of that name
    _globals: dict[str, Pair]
    #: name -> the stage ARG pairs without a default that declare it (a global ARG) again, in file order
    _redeclared: dict[str, list[Pair]]
    #: names a stage declares with a plain ``ARG`` instruction (not ONBUILD ARG)
    _stage_arg_names: set[str]
    #: names the FROM lines reference
    _from_names: set[str]

    def arg_at(self, ins_index: int, name: str) -> Pair | None:
        """The ARG ``name`` resolves to at an instruction: FROM lines see the global ARGs, the rest of a
        stage only what the stage declared before the instruction."""
        stage = -1 if self.df.instructions[ins_index].keyword == "FROM" else self.stage_of[ins_index]
        return _last_before(self._args.get((stage, name)), ins_index)

    def env_at(self, ins_index: int, name: str) -> Pair | None:
        return _last_before(self._envs.get((self.stage_of[ins_index], name)), ins_index)

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
        return self._globals.get(arg.name)

    def redeclarations(self, glob: Pair) -> list[Pair]:
        return list(self._redeclared.get(glob.name, ()))

    def declared_in_a_stage(self, name: str) -> bool:
        """Does an ``ARG`` instruction of some stage declare ``name``?"""
        return name in self._stage_arg_names

    def used_by_from(self, glob: Pair) -> bool:
        return glob.name in self._from_names

    def names(self, ins_index: int) -> frozenset[str]:
        """The names an instruction's text references with ``$`` (``referenced_names(run_text(i))``)."""
        return self._names[ins_index]

    def scope(self, p: Pair) -> range:
        """The instructions after ``p`` up to the next declaration of its name in its stage (which still sees
        ``p``). FROM lines aside, ``p`` is in scope nowhere else; callers still ask :meth:`arg_at`/:meth:`env_at`
        (a later pair of the same name on ``p``'s own line hides it)."""
        decls = (self._args if p.what == "ARG" else self._envs)[(p.stage, p.name)]
        k = bisect_right(decls, p.ins_index, key=_ins_index)
        end = decls[k].ins_index if k < len(decls) else self.stages[p.stage + 1].last
        return range(p.ins_index + 1, end + 1)

    def readers(self, name: str, within: range) -> list[int]:
        """The instructions in ``within`` that reference ``name`` (in their text or an ENV/ARG/LABEL value)."""
        return _between(self._readers.get(name, []), within)

    def runs(self, within: range) -> list[int]:
        """The RUN instructions (ONBUILD RUN included) in ``within``."""
        return _between(self._runs, within)

    def runs_after(self, ins_index: int) -> list[int]:
        """RUN instructions (ONBUILD RUN included) later in the same stage."""
        return self.runs(range(ins_index + 1, self.stages[self.stage_of[ins_index] + 1].last + 1))

    def runs_naming(self, p: Pair, *, every: bool = False) -> list[int]:
        """The RUNs in :meth:`scope` of ``p`` that reference its name (``every``: all the RUNs there)."""
        within = self.scope(p)
        if every:
            return self.runs(within)
        return [i for i in self.readers(p.name, within) if p.name in self._names[i]
                and self.df.instructions[i].effective == "RUN"]

    def children(self, stage: int) -> list[int]:
        """The stages built FROM ``stage``, directly or through others (they inherit its ENV)."""
        out: list[int] = []
        for s in self.stages[stage + 2 :]:
            if s.parent == stage or s.parent in out:
                out.append(s.index)
        return out

    def run_stages(self, targets: frozenset[str] = frozenset()) -> set[int]:
        """The stages whose ENV reaches an image someone runs: the last stage, the stages a build targets
        (``--target``, compose/workflow ``target:``), and the stages those are built FROM."""
        if len(self.stages) < 2:
            return set()
        wanted = {self.stages[-1].index} | {s.index for s in self.stages[1:] if s.name and s.name in targets}
        out: set[int] = set()
        for s in wanted:
            while s >= 0 and s not in out:
                out.add(s)
                s = self.stages[s + 1].parent
        return out

    def run_text(self, ins_index: int) -> str:
        return _text(self.df.instructions[ins_index])

    def env_bindings_of(self, arg: Pair) -> list[Pair]:
        """ENV pairs whose whole value is a reference to ``arg``."""
        within = self.scope(arg)
        bound = self._bindings.get((arg.stage, arg.name), [])
        lo = bisect_left(bound, within.start, key=_ins_index)
        hi = bisect_left(bound, within.stop, key=_ins_index)
        return [p for p in bound[lo:hi] if self.arg_at(p.ins_index, arg.name) is arg]

    def reads_in_runs(self, pair: Pair) -> list[int]:
        """RUNs after ``pair`` (same stage, still in scope) that name it with ``$``."""
        out = []
        for i in self.runs_naming(pair):
            scoped = self.arg_at(i, pair.name) if pair.what == "ARG" else self.env_at(i, pair.name)
            if scoped is pair:
                out.append(i)
        return out


def _text(ins: Instruction) -> str:
    """The instruction and its heredoc bodies."""
    return ins.original + "\n" + "".join(h.content for h in ins.heredocs)


def _ins_index(p: Pair) -> int:
    return p.ins_index


def _last_before(decls: list[Pair] | None, ins_index: int) -> Pair | None:
    """The last of ``decls`` (in file order) declared before instruction ``ins_index``."""
    if not decls:
        return None
    k = bisect_left(decls, ins_index, key=_ins_index)
    return decls[k - 1] if k else None


def _between(indices: list[int], within: range) -> list[int]:
    """The part of the ascending ``indices`` inside ``within``."""
    return indices[bisect_left(indices, within.start):bisect_left(indices, within.stop)]


def _from_stage(ins: Instruction, stages: list[Stage]) -> tuple[str, int]:
    """The ``AS`` name of a FROM line and the earlier stage it builds on (by name or index)."""
    value = ins.value
    name = value[2].lower() if len(value) >= 3 and value[1].lower() == "as" else ""
    base = value[0].lower() if value else ""
    parent = -1
    for s in stages[1:]:
        if (s.name and s.name == base) or base == str(s.index):
            parent = s.index
    return name, parent


def analyse(df: Dockerfile) -> Flow:
    pairs: list[Pair] = []
    stages: list[Stage] = [Stage(index=-1, first=0, last=-1)]
    stage_of: list[int] = []
    names: list[frozenset[str]] = []
    readers: dict[str, list[int]] = {}
    runs: list[int] = []
    from_names: set[str] = set()
    stage = -1
    current = stages[0]
    empty: frozenset[str] = frozenset()
    for idx, ins in enumerate(df.instructions):
        kw = ins.keyword
        if kw == "FROM":
            stage += 1
            name, parent = _from_stage(ins, stages)
            current = Stage(index=stage, first=idx, last=idx, name=name, parent=parent)
            stages.append(current)
            from_names |= referenced_names(ins.original)
        stage_of.append(stage)
        current.instructions.append(idx)
        current.last = idx
        # referenced_names(_text(ins)), without building the text when there is no heredoc or no "$" at all
        text = _text(ins) if ins.heredocs else ins.original
        mine = frozenset(referenced_names(text)) if "$" in text else empty
        names.append(mine)
        read: frozenset[str] | set[str] = mine
        if kw in ("ENV", "ARG", "LABEL"):
            for kv in ins.kvs:
                if "$" in kv.raw:
                    read = read | referenced_names(kv.raw)
        for name in read:
            readers.setdefault(name, []).append(idx)
        effective = ins.effective
        if effective == "RUN":
            runs.append(idx)
        elif effective in ("ARG", "ENV"):
            for k, kv in enumerate(ins.kvs):
                pairs.append(Pair(effective, idx, k, ins, kv, stage))
    args: dict[tuple[int, str], list[Pair]] = {}
    envs: dict[tuple[int, str], list[Pair]] = {}
    bindings: dict[tuple[int, str], list[Pair]] = {}
    globals_: dict[str, Pair] = {}
    redeclared: dict[str, list[Pair]] = {}
    stage_arg_names: set[str] = set()
    for p in pairs:
        if p.what == "ENV":
            envs.setdefault((p.stage, p.name), []).append(p)
            ref = reference(p.kv.value)
            if ref is not None:
                bindings.setdefault((p.stage, ref[0]), []).append(p)
            continue
        args.setdefault((p.stage, p.name), []).append(p)
        if p.stage < 0:
            globals_.setdefault(p.name, p)
            continue
        if not p.kv.has_value:
            redeclared.setdefault(p.name, []).append(p)
        if p.ins.keyword == "ARG":
            stage_arg_names.add(p.name)
    return Flow(df=df, pairs=pairs, stages=stages, stage_of=stage_of, _args=args, _envs=envs, _bindings=bindings,
                _names=names, _readers=readers, _runs=runs, _globals=globals_, _redeclared=redeclared,
                _stage_arg_names=stage_arg_names, _from_names=from_names)
