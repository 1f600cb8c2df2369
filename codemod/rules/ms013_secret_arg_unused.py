from __future__ import annotations

from collections.abc import Iterator

from codemod.model import Hit, RemovePair
from codemod.rules.base import Context, Invalid, Rule
from codemod.rules.buildtime import plan as buildtime_plan


class SecretArgUnused(Rule):
    """What it does: flags a secret-named ``ARG NAME`` without a default that nothing reads.

    Why: it still accepts ``--build-arg NAME=...``, and BuildKit then records the value in the
    history of every later RUN (``|1 NAME=value``).

    Fix: remove the ARG.
    """

    KIND = "secret-arg-unused"
    MESSAGE = "ARG {name} is never read but records any --build-arg {name} in the image history"
    VALID = [
        "FROM a\nARG NPM_TOKEN\nRUN npm ci --token $NPM_TOKEN\n",
        "FROM a\nARG APP_VERSION\nRUN true\n",
        "FROM a\nARG AUTH_PROVIDER\n",
    ]
    INVALID = [Invalid("FROM a\nARG NPM_TOKEN\nRUN npm ci\n", line=2, expected="FROM a\nRUN npm ci\n")]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for p in flow.pairs:
            if p.what != "ARG" or p.kv.has_value:
                continue
            nc = ctx.name_class(p.name)
            if not nc.secret or nc.weak:
                continue
            if p.stage >= 0 and flow.arg_default(p) is not None:
                continue  # re-declares a global ARG: judged there
            if flow.env_bindings_of(p) or ctx.other_uses(p, set()) or buildtime_plan(ctx, p) is not None:
                continue
            f = self.finding(ctx, p.line, p.name, fix=f"remove ARG {p.name}")
            yield Hit(f, [RemovePair(p.ins_index, p.kv_index)])
