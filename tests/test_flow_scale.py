"""The indexed flow analysis answers what the straightforward one answers, on big generated Dockerfiles.

:class:`NaiveFlow` is the reading the indexes replace: one scope dict per instruction, a scan of the
file for every question, and "every instruction" wherever the fast flow narrows the candidates by name
or scope. Its answers, and the findings and rewrite of the whole pipeline run on it, are the reference.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import codemod.fix.loop as migrate_module
from codemod.analysis.flow import Pair, Stage, analyse, reference, referenced_names
from codemod.config import Config
from codemod.dockerfile.scanner import Dockerfile, parse
from codemod.fix.loop import migrate
from codemod.model import Hit
from codemod.rules.base import Context


class NaiveFlow:
    """The reference: the flow as a per-instruction scope table and linear scans (quadratic on purpose)."""

    def __init__(self, df: Dockerfile) -> None:
        self.df = df
        self.pairs: list[Pair] = []
        self.stage_of: list[int] = []
        self._arg_scope: list[dict[str, Pair]] = []
        self._env_scope: list[dict[str, Pair]] = []
        global_args: dict[str, Pair] = {}
        args: dict[str, Pair] = {}
        envs: dict[str, Pair] = {}
        stage = -1
        for idx, ins in enumerate(df.instructions):
            if ins.keyword == "FROM":
                stage += 1
                args, envs = {}, {}
            self.stage_of.append(stage)
            self._arg_scope.append(dict(global_args) if ins.keyword == "FROM" else dict(args))
            self._env_scope.append(dict(envs))
            if ins.effective in ("ARG", "ENV"):
                for k, kv in enumerate(ins.kvs):
                    p = Pair(ins.effective, idx, k, ins, kv, stage)
                    self.pairs.append(p)
                    if p.what == "ENV":
                        envs[kv.key] = p
                    else:
                        if stage < 0:
                            global_args[kv.key] = p
                        args[kv.key] = p

    @property
    def stages(self) -> list[Stage]:
        """The global scope, then one stage per FROM: its span, ``AS`` name and the earlier stage it builds on."""
        out = [Stage(index=-1, first=0, last=-1)]
        for i, ins in enumerate(self.df.instructions):
            if ins.keyword == "FROM":
                v = [w.lower() for w in ins.value]
                name = v[2] if len(v) >= 3 and v[1] == "as" else ""
                parent = max((s.index for s in out[1:] if v and (s.name == v[0] and s.name or str(s.index) == v[0])),
                             default=-1)
                out.append(Stage(index=len(out) - 1, first=i, last=i, name=name, parent=parent))
            elif len(out) > 1:
                out[-1].last = i
        if len(out) == 1 and self.df.instructions:
            out[0].last = len(self.df.instructions) - 1
        return out

    def children(self, stage: int) -> list[int]:
        stages = self.stages
        return [s.index for s in stages[1:] if s.index > stage and self._descends(stages, s.index, stage)]

    @staticmethod
    def _descends(stages: list[Stage], s: int, ancestor: int) -> bool:
        while s >= 0:
            s = stages[s + 1].parent
            if s == ancestor:
                return True
        return False

    def run_stages(self, targets: frozenset[str] = frozenset()) -> set[int]:
        stages = self.stages
        if len(stages) < 2:
            return set()
        wanted = [s for s in stages[1:] if s.index == stages[-1].index or (s.name and s.name in targets)]
        return {s.index for s in wanted} | {a.index for a in stages[1:] for s in wanted
                                            if self._descends(stages, s.index, a.index)}

    def arg_at(self, ins_index: int, name: str) -> Pair | None:
        return self._arg_scope[ins_index].get(name)

    def env_at(self, ins_index: int, name: str) -> Pair | None:
        return self._env_scope[ins_index].get(name)

    def arg_default(self, arg: Pair) -> str | None:
        if arg.kv.has_value:
            return arg.kv.value
        glob = self.global_decl(arg)
        return glob.kv.value if glob is not None and glob.kv.has_value else None

    def global_decl(self, arg: Pair) -> Pair | None:
        if arg.stage < 0 or arg.kv.has_value:
            return None
        return next((p for p in self.pairs if p.what == "ARG" and p.stage == -1 and p.name == arg.name), None)

    def redeclarations(self, glob: Pair) -> list[Pair]:
        return [p for p in self.pairs if p.what == "ARG" and p.stage >= 0 and p.name == glob.name
                and not p.kv.has_value]

    def declared_in_a_stage(self, name: str) -> bool:
        return any(ins.keyword == "ARG" and self.stage_of[i] >= 0 and any(kv.key == name for kv in ins.kvs)
                   for i, ins in enumerate(self.df.instructions))

    def used_by_from(self, glob: Pair) -> bool:
        return any(ins.keyword == "FROM" and glob.name in referenced_names(ins.original)
                   for ins in self.df.instructions)

    def names(self, ins_index: int) -> set[str]:
        return referenced_names(self.run_text(ins_index))

    def _stage_end(self, ins_index: int) -> int:
        end = ins_index
        while end + 1 < len(self.stage_of) and self.stage_of[end + 1] == self.stage_of[ins_index]:
            end += 1
        return end

    def scope(self, p: Pair) -> range:
        return range(p.ins_index + 1, self._stage_end(p.ins_index) + 1)

    def readers(self, name: str, within: range) -> list[int]:
        return list(within)

    def runs(self, within: range) -> list[int]:
        return [i for i in within if self.df.instructions[i].effective == "RUN"]

    def runs_after(self, ins_index: int) -> list[int]:
        return self.runs(range(ins_index + 1, self._stage_end(ins_index) + 1))

    def runs_naming(self, p: Pair, *, every: bool = False) -> list[int]:
        return self.runs_after(p.ins_index)

    def run_text(self, ins_index: int) -> str:
        ins = self.df.instructions[ins_index]
        return ins.original + "\n" + "".join(h.content for h in ins.heredocs)

    def env_bindings_of(self, arg: Pair) -> list[Pair]:
        return [p for p in self.pairs if p.what == "ENV" and p.ins_index > arg.ins_index
                and (ref := reference(p.kv.value)) is not None and self.arg_at(p.ins_index, ref[0]) is arg]

    def reads_in_runs(self, pair: Pair) -> list[int]:
        out = []
        for i in self.runs_after(pair.ins_index):
            scoped = self.arg_at(i, pair.name) if pair.what == "ARG" else self.env_at(i, pair.name)
            if scoped is pair and pair.name in self.names(i):
                out.append(i)
        return out


def naive_other_uses(flow: NaiveFlow, arg: Pair, excluding: set[tuple[int, int]], skip_runs: set[int]) -> bool:
    """``Context.other_uses`` as a walk over every later instruction."""
    for i in range(arg.ins_index + 1, len(flow.df.instructions)):
        ins = flow.df.instructions[i]
        if arg.stage < 0:
            if ins.keyword == "FROM" and arg.name in referenced_names(ins.original):
                return True
            if ins.keyword == "ARG" and any(kv.key == arg.name for kv in ins.kvs) and flow.stage_of[i] >= 0:
                return True
        if flow.stage_of[i] != arg.stage and arg.stage >= 0:
            break
        if flow.arg_at(i, arg.name) is not arg:
            continue
        if ins.keyword in ("ENV", "ARG", "LABEL") and ins.kvs:
            if any((i, k) not in excluding and arg.name in referenced_names(kv.raw) for k, kv in enumerate(ins.kvs)):
                return True
            continue
        if i not in skip_runs and arg.name in flow.names(i):
            return True
    return False


SECRETS = ["DB_PASSWORD", "NPM_TOKEN", "GITHUB_TOKEN", "SENTRY_AUTH_TOKEN", "API_KEY", "DJANGO_SECRET_KEY",
           "BUNDLE_GEMS__ACME", "AUTH_TOKEN", "X_PASSWORD_DEFAULT", "BROKER_PASSWORD", "PGPASSWORD"]
SETTINGS = ["APP_VERSION", "X_HOST_DEFAULT", "X_DATA_DIR_DEFAULT", "NODE_ENV", "HOST", "TOKEN_TTL"]
VALUES = ["hunter2hunter2", "changeme", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "/data", "1.2.3", "",
          "postgres", "3600", "s3cr3t-P4ssw0rd!", "amqp://u:pw123456@h/"]


def generate(seed: int, stages: int, per_stage: int) -> str:
    """Global ARGs (some declared twice, some read before the first FROM), stages that declare them again,
    secret ARGs and ENVs, ``ENV X=$ARG`` aliases, RUNs reading ``$X`` (shell, exec, heredoc, ONBUILD), tools
    that read a variable implicitly, writes that persist it."""
    r = random.Random(seed)
    names = SECRETS + SETTINGS

    def ref(n: str) -> str:
        return r.choice([f"${n}", f"${{{n}}}", f"${{{n}:-dflt}}"])

    lines = []
    for _ in range(10):
        n, m = r.choice(names), r.choice(names)
        lines.append(r.choice([f"ARG {n}={r.choice(VALUES)}", f"ARG {n}={r.choice(VALUES)}", f"ARG {n}",
                               f"ARG {n}={r.choice(VALUES)} {m}={ref(n)}", f"RUN echo ${n}", f"ENV {m}=${n}"]))
    for s in range(stages):
        lines.append(r.choice([f"FROM alpine AS s{s}", f"FROM ${r.choice(names)}", "FROM node:20"]))
        for _ in range(per_stage):
            n, m = r.choice(names), r.choice(names)
            alias = n.replace("_DEFAULT", "") if r.random() < 0.5 else f"{n}_ALIAS"
            lines.append(r.choice([
                f"ARG {n}", f"ARG {n}", f"ARG {n}={r.choice(VALUES)}", f"ARG {n}={r.choice(VALUES)} {m}={ref(n)}",
                f"ENV {alias}={ref(n)}", f"ENV {alias}=${n}", f"ENV {n}={r.choice(VALUES) or 'x'}",
                f"ENV {n} {r.choice(VALUES) or 'y'}", f"ENV URL_{n}=amqp://u:${{{m}}}@h/", f"LABEL x={ref(n)}",
                f"RUN echo ${n}", f"RUN echo ${alias}", f"RUN echo {ref(n)} && echo ${m}", "RUN npm ci",
                "RUN sentry-cli releases new x", "RUN bundle install", "RUN python manage.py collectstatic",
                f'RUN echo "//r/:_authToken=${{{n}}}" > .npmrc', "COPY . .", "WORKDIR /app",
                f'RUN echo "//r/:_authToken=${{{n}}}" > .npmrc && npm ci && rm .npmrc', f"COPY ${n} /x",
                f'RUN ["sh", "-c", "echo ${n}"]', f"RUN <<EOF\necho ${n}\nEOF", f"ONBUILD RUN echo ${n}",
                f"ONBUILD ARG {n}", f"ONBUILD ENV {alias}=${n}", "USER app", "RUN twine upload dist/*",
            ]))
    return "\n".join(lines) + "\n"


#: small files for the corners a generated one may miss
CORNERS = [
    # a global ARG declared twice: stages see the first one's default, FROM lines the last one
    "ARG DB_PASSWORD=hunter2hunter2\nARG DB_PASSWORD=changeme\nFROM $DB_PASSWORD\nARG DB_PASSWORD\n"
    "RUN echo $DB_PASSWORD\n",
    # a global ARG that only an ONBUILD ARG declares again
    "ARG NPM_TOKEN=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\nFROM node:20\nONBUILD ARG NPM_TOKEN\nRUN npm ci\n",
    # a redeclaration on the same line hides the first pair; the next ARG line still sees the last one
    "FROM a\nARG API_TOKEN=changeme API_TOKEN=hunter2hunter2\nRUN echo $API_TOKEN\nARG API_TOKEN=$API_TOKEN\n"
    "RUN echo $API_TOKEN\n",
    # aliases, an alias of an alias, a RUN after the ARG's scope ends
    "FROM a\nARG GITHUB_TOKEN\nENV GH=$GITHUB_TOKEN T=${GITHUB_TOKEN}\nENV GH2=$GH\nRUN echo $GH $GH2\n"
    "ARG GITHUB_TOKEN\nRUN echo $GITHUB_TOKEN\nFROM b\nRUN echo $GITHUB_TOKEN\n",
    # the group move of MS002, a LABEL and a COPY that name ARGs
    "FROM a\nARG X_PASSWORD_DEFAULT=changeme\nARG X_HOST_DEFAULT=db\nARG X_DATA_DIR_DEFAULT=/data\n"
    "ENV X_PASSWORD=${X_PASSWORD_DEFAULT} X_HOST=${X_HOST_DEFAULT} X_DATA_DIR=${X_DATA_DIR_DEFAULT}\n"
    "LABEL h=$X_HOST_DEFAULT\nCOPY $X_DATA_DIR_DEFAULT /x\n",
    # SECRET_KEY and manage.py, a RUN that names the ENV, a tool that reads its variable
    "FROM a\nENV DJANGO_SECRET_KEY=changeme SENTRY_AUTH_TOKEN=sntrys_a1B2c3D4e5F6g7H8\n"
    "RUN python manage.py collectstatic\nRUN sentry-cli upload\nRUN echo $DJANGO_SECRET_KEY\n"
    "ARG SENTRY_AUTH_TOKEN\nRUN sentry-cli releases new x\n",
    # instructions before the first FROM that read global ARGs
    "ARG PGPASSWORD=hunter2hunter2\nRUN echo $PGPASSWORD\nENV P=$PGPASSWORD\nFROM a\nARG PGPASSWORD\n",
]


def _key(p: Pair | None) -> tuple[str, int, int] | None:
    return None if p is None else (p.what, p.ins_index, p.kv_index)


def _keys(ps: list[Pair]) -> list[tuple[str, int, int] | None]:
    return [_key(p) for p in ps]


def assert_same_answers(df: Dockerfile) -> None:
    """Every question the rules ask of the flow gets the reference's answer."""
    fast, naive = analyse(df), NaiveFlow(df)
    assert _keys(fast.pairs) == _keys(naive.pairs)
    assert fast.stage_of == naive.stage_of
    names = {kv.key for ins in df.instructions for kv in ins.kvs}
    for i in range(len(df.instructions)):
        assert fast.names(i) == naive.names(i)
        assert fast.runs_after(i) == naive.runs_after(i)
        for name in names:
            assert _key(fast.arg_at(i, name)) == _key(naive.arg_at(i, name)), (i, name)
            assert _key(fast.env_at(i, name)) == _key(naive.env_at(i, name)), (i, name)
    firsts = {}  # one pair per name: the questions about a name
    for p, q in zip(fast.pairs, naive.pairs, strict=True):
        firsts.setdefault(p.name, (p, q))
        assert _keys(fast.env_bindings_of(p)) == _keys(naive.env_bindings_of(q))
        assert fast.reads_in_runs(p) == naive.reads_in_runs(q)
        assert _key(fast.global_decl(p)) == _key(naive.global_decl(q))
        assert _keys(fast.redeclarations(p)) == _keys(naive.redeclarations(q))
        assert fast.arg_default(p) == naive.arg_default(q)
    for name, (p, q) in firsts.items():
        assert fast.used_by_from(p) == naive.used_by_from(q)
        assert fast.declared_in_a_stage(name) == naive.declared_in_a_stage(name)
    ctx = Context("Dockerfile", fast, Config())
    for p, q in zip(fast.pairs, naive.pairs, strict=True):
        if p.what == "ARG":
            bindings = {(b.ins_index, b.kv_index) for b in fast.env_bindings_of(p)}
            reads = set(fast.reads_in_runs(p))
            for excluding, skip in ((set(), set()), (bindings, set()), (bindings, reads)):
                assert ctx.other_uses(p, excluding, skip) == naive_other_uses(naive, q, excluding, skip)


def _outcome(data: bytes, context_dir: Path | None) -> tuple[list[Hit], bytes | None, int, list[str]]:
    """Everything ``migrate`` says: the hits (finding, actions, values, spans, secrets) and the output."""
    res = migrate(data, "Dockerfile", Config(), context_dir=context_dir)
    return res.hits, res.new, res.passes, res.notes


def assert_same_outcome(data: bytes, context_dir: Path | None, monkeypatch: pytest.MonkeyPatch) -> list[Hit]:
    """The whole pipeline on the reference flow: the same findings, fixes and output, byte for byte."""
    fast = _outcome(data, context_dir)
    with monkeypatch.context() as m:
        m.setattr(migrate_module, "analyse", NaiveFlow)
        assert _outcome(data, context_dir) == fast
    return fast[0]


@pytest.fixture
def npmrc_context(tmp_path: Path) -> Path:
    """A build context whose committed ``.npmrc`` reads NPM_TOKEN."""
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    return tmp_path


@pytest.mark.parametrize("seed", [1, 2])
def test_flow_answers_match_the_straightforward_reading(seed: int) -> None:
    df = parse(generate(seed, stages=10, per_stage=250).encode())
    assert len(df.instructions) > 2500
    assert_same_answers(df)


@pytest.mark.parametrize(("seed", "npmrc"), [(4, False), (5, True)])
def test_findings_and_rewrite_match_the_straightforward_reading(seed: int, npmrc: bool, npmrc_context: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = generate(seed, stages=5, per_stage=240).encode()
    hits = assert_same_outcome(data, npmrc_context if npmrc else None, monkeypatch)
    assert {"MS001", "MS002", "MS003", "MS004", "MS013"} <= {h.finding.rule for h in hits}


@pytest.mark.parametrize("code", CORNERS)
def test_corners_match_the_straightforward_reading(code: str, npmrc_context: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_answers(parse(code.encode()))
    assert assert_same_outcome(code.encode(), None, monkeypatch)
    assert_same_outcome(code.encode(), npmrc_context, monkeypatch)


def test_a_long_env_chain_resolves_to_its_arg_without_recursion() -> None:
    # ENV A1=$A0, A2=$A1, ... deeper than Python's recursion limit: the value is still followed to the ARG
    n = 3000
    text = ("FROM alpine\nARG A0=hunter2hunter2hunter2\n" + "".join(f"ENV A{i + 1}=$A{i}\n" for i in range(n))
            + f"ENV API_KEY=$A{n}\n")
    df = parse(text.encode())
    flow = analyse(df)
    ctx = Context("Dockerfile", flow, Config())
    last = flow.pairs[-1]
    assert last.name == "API_KEY"
    assert ctx.resolved(last) == ("hunter2hunter2hunter2", None)
    direct = next(p for p in flow.pairs if p.name == "A1")
    value, arg = ctx.resolved(direct)
    assert value == "hunter2hunter2hunter2" and arg is not None and arg.name == "A0"
    out = migrate(text.encode(), "Dockerfile", Config())
    assert [(h.finding.rule, h.finding.line) for h in out.hits] == [("MS003", n + 3)]
