from __future__ import annotations

from collections.abc import Iterator

from codemod.analysis.flow import reference, referenced_names
from codemod.model import Hit
from codemod.rules.base import NAME_WORDS, Context, Invalid, Rule


class EnvEmbedsSecret(Rule):
    """What it does: flags an ENV value that embeds a secret build arg in a larger value
    (``BROKER_URL=amqp://u:${BROKER_PASSWORD}@h``).

    Why: the expanded value, secret included, is recorded in the image config.

    Fix: none automatic: the application must read the secret and the rest of the URL separately.
    Reported, never rewritten.
    """

    CODE = "MS012"
    KIND = "env-embeds-secret"
    SEVERITY = ("error", "7.0")
    WORDS = NAME_WORDS
    REFERENCES = ()
    MESSAGE = "ENV {name} embeds secret build arg {arg} in its value"
    VALID = ["FROM a\nARG HOST=db\nENV URL=postgres://${HOST}/app\n"]
    INVALID = [
        Invalid("FROM a\nARG BROKER_PASSWORD\nENV BROKER_URL=amqp://u:${BROKER_PASSWORD}@h/ \\\n    X=1\n", line=3),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for p in flow.pairs:
            if p.what != "ENV" or reference(p.kv.value) is not None:
                continue
            for name in sorted(referenced_names(p.kv.raw)):
                arg = flow.arg_at(p.ins_index, name)
                if arg is None:
                    continue
                nc = ctx.name_class(name)
                if not nc.secret or (nc.weak and not arg.kv.has_value):
                    continue
                if arg.kv.has_value and not ctx.secret(name, arg.kv.value)[0] and nc.weak:
                    continue
                f = self.finding(ctx, p.line, p.name, fixable=False, arg=name,
                                 fix=f"read {name} at runtime separately")
                yield Hit(f)
                break
