from __future__ import annotations

from collections.abc import Iterator

from codemod.analysis.flow import Pair
from codemod.model import Hit, RemovePair
from codemod.rules.base import Context, Invalid, Rule
from codemod.rules.buildtime import plan as buildtime_plan


def _mounted(ctx: Context, p: Pair, bindings: set[tuple[int, int]]) -> bool:
    """Every build step that reads ``p`` gets a secret mount (MS004), and nothing else uses it."""
    flow = ctx.flow
    targets = [p] if p.stage >= 0 else flow.redeclarations(p)
    if p.stage < 0 and (len(targets) != 1 or flow.used_by_from(p)):
        return False
    for t in targets:
        bp = buildtime_plan(ctx, t)
        if bp is None or not bp.fixable:
            return False
        runs = {r.ins_index for r in bp.reads}
        if t is p and ctx.other_uses(p, bindings | bp.alias_keys, skip_runs=runs):
            return False
    return True


class ArgDefaultSecret(Rule):
    """What it does: flags ``ARG NAME=default`` where the name is a secret's and the default a secret value.

    Why: an ARG default is recorded in the image history (``docker history`` shows ``ARG NAME=value``), and
    every later RUN records ``|1 NAME=value`` in its step.

    Fix: remove the ARG; the value comes from the runtime environment. When a RUN reads it at build time,
    MS004 moves it to a secret mount in the same run.
    """

    KIND = "arg-default-secret"
    MESSAGE = "ARG {name} bakes a secret default ({value_class}) into the image history"
    VALID = [
        "FROM a\nARG APP_VERSION=1.2.3\n",
        "FROM a\nARG DB_PASSWORD=\n",
        "FROM a\nARG PUBLIC_KEY_PATH=/etc/key.pub\n",
        "FROM a\nARG TOKEN_TTL=3600\n",
        "FROM a\nARG AUTH_PROVIDER=oidc\n",
    ]
    INVALID = [
        Invalid("FROM a\nARG DB_PASSWORD=postgres\nUSER app\n", line=2, expected="FROM a\nUSER app\n"),
        Invalid("FROM a\nARG A=1 API_TOKEN=changeme B=2\n", line=2, expected="FROM a\nARG A=1 B=2\n"),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for p in flow.pairs:
            if p.what != "ARG" or not p.kv.has_value:
                continue
            secret, kind = ctx.secret(p.name, p.kv.value)
            if not secret:
                continue
            bindings = {(b.ins_index, b.kv_index) for b in flow.env_bindings_of(p)}
            if ctx.other_uses(p, bindings) and not _mounted(ctx, p, bindings):
                # read at build time: MS004 decides; the default still leaks
                f = self.finding(ctx, p.line, p.name, fixable=False, value_class=kind.value,
                                 fix="read by a build step: becomes a secret mount (MS004)")
                yield Hit(f, secret_values={p.name: p.kv.value}, redact=[p.value_span])
                continue
            f = self.finding(ctx, p.line, p.name, value_class=kind.value, fix=f"remove ARG {p.name}")
            yield Hit(f, [RemovePair(p.ins_index, p.kv_index)], secret_values={p.name: p.kv.value},
                      redact=[p.value_span])
