from __future__ import annotations

from collections.abc import Iterator

from codemod.model import Hit
from codemod.rules import migration, references
from codemod.rules.base import NAME_WORDS, Context, Invalid, Rule


class SecretArgUnused(Rule):
    """What it does: flags a secret-named ``ARG NAME`` without a default that nothing in its scope can
    read: no RUN names it, runs a tool known to read it, or runs code that may read it.

    Why: it still accepts ``--build-arg NAME=...``, and BuildKit then records the value in the
    history of every later RUN (``|1 NAME=value``).

    Fix: remove the ARG (and the build args that feed it).
    """

    CODE = "MS013"
    KIND = "secret-arg-unused"
    SEVERITY = ("warning", "4.0")
    WORDS = NAME_WORDS
    REFERENCES = (references.IMAGE_HISTORY,)
    MESSAGE = "ARG {name} is never read but records any --build-arg {name} in the image history"
    VALID = [
        "FROM a\nARG NPM_TOKEN\nRUN npm ci --token $NPM_TOKEN\n",
        "FROM a\nARG APP_VERSION\nRUN true\n",
        "FROM a\nARG AUTH_PROVIDER\n",
        # npm ci runs install scripts, which may read it: not unused
        "FROM a\nARG NPM_TOKEN\nRUN npm ci\n",
    ]
    INVALID = [Invalid("FROM a\nARG NPM_TOKEN\nRUN apt-get update && mkdir -p /app\n", line=2,
                       expected="FROM a\nRUN apt-get update && mkdir -p /app\n")]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for sp in migration.secret_plans(ctx):
            p = sp.anchor
            if p.what != "ARG" or p.kv.has_value or flow.arg_default(p) is not None:
                continue
            if sp.consumers or sp.bindings or not sp.ok:
                continue
            yield migration.hit(self, ctx, sp, p.line, p.name)
