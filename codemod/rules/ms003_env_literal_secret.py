from __future__ import annotations

import re
from collections.abc import Iterator

from codemod.analysis.flow import reference
from codemod.analysis.values import ValueKind
from codemod.model import Action, Hit, InlineEnv, RemovePair
from codemod.rules.base import Context, Invalid, Rule

#: build steps known to need *some* value for these names, not the real one
_IMPLICIT = (re.compile(r"\bmanage\.py\b"), re.compile(r"SECRET_KEY$"))


class EnvLiteralSecret(Rule):
    """What it does: flags an ENV pair that writes a secret value literally (``ENV DJANGO_SECRET_KEY=...``).

    Why: ENV values are in the image config and history of every copy of the image.

    Fix: remove the pair; the runtime supplies it. A later build step known to need some value
    (Django's ``manage.py`` and ``SECRET_KEY``) gets a placeholder inline on its RUN. A step that reads
    the real value with ``$NAME`` needs a secret mount and is left to a human.
    """

    KIND = "env-literal-secret"
    MESSAGE = "ENV {name} writes a secret value ({value_class}) into the image config"
    VALID = [
        "FROM a\nENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305\n",
        "FROM a\nENV KEYBOARD_LAYOUT=us TOKENIZERS_PARALLELISM=false GOPRIVATE=github.com/acme\n",
        "FROM a\nENV SESSION_SECRET_FILE=/run/secrets/session API_KEY_HEADER=X-Api-Key\n",
        "FROM a\nENV AUTH_MODE=none DATABASE_URL=postgres://db:5432/app\n",
        "FROM a\nENV DB_PASSWORD=\n",
    ]
    INVALID = [
        Invalid("FROM a\nENV A=1 DB_PASSWORD=hunter2hunter2 B=2\n", line=2, expected="FROM a\nENV A=1 B=2\n"),
        Invalid("FROM a\nENV DJANGO_SECRET_KEY changeme\nRUN python manage.py collectstatic\n", line=2,
                expected="FROM a\nRUN DJANGO_SECRET_KEY=changeme python manage.py collectstatic\n"),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for p in flow.pairs:
            if p.what != "ENV":
                continue
            ref = reference(p.kv.value)
            if ref is not None and flow.arg_at(p.ins_index, ref[0]) is not None:
                continue  # ENV X=$ARG: MS002
            value, _ = ctx.resolved(p)
            secret, kind = ctx.secret(p.name, value)
            if not secret or value is None:
                continue
            actions: list[Action] = [RemovePair(p.ins_index, p.kv_index)]
            fixable = True
            fix = f"remove ENV {p.name}; provide it at runtime"
            # only a RUN naming it, or (a SECRET_KEY) any RUN, can change the fix
            for i in flow.runs_naming(p, every=bool(_IMPLICIT[1].search(p.name))):
                if flow.env_at(i, p.name) is not p:
                    continue
                ins = flow.df.instructions[i]
                if p.name in flow.names(i):
                    fixable, fix = False, f"RUN on line {ins.start_line + 1} reads it: needs a secret mount"
                    break
                if _IMPLICIT[0].search(ins.original) and _IMPLICIT[1].search(p.name) and not ins.json:
                    placeholder = p.kv.raw if kind is ValueKind.PLACEHOLDER else "placeholder"
                    actions.append(InlineEnv(i, f"{p.name}={placeholder}"))
            f = self.finding(ctx, p.line, p.name, fixable=fixable, value_class=kind.value, fix=fix)
            yield Hit(f, actions if fixable else [], secret_values={p.name: value}, moved={p.name: None},
                      redact=[p.value_span])
