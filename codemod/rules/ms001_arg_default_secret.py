from __future__ import annotations

from collections.abc import Iterator

from codemod.analysis.values import ValueKind
from codemod.model import Hit, RemovePair
from codemod.rules import migration, references
from codemod.rules.base import FORMAT_WORDS, NAME_WORDS, Context, Invalid, Rule


class ArgDefaultSecret(Rule):
    """What it does: flags ``ARG NAME=default`` where the name is a secret's and the default a secret value.

    Why: an ARG default is recorded in the image history (``docker history`` shows ``ARG NAME=value``), and
    every later RUN records ``|1 NAME=value`` in its step.

    Fix: remove the ARG; a value the container needs comes from the runtime environment. Every build step
    that may read it keeps it: a secret mount (``required=true`` where it reads it by name or through a
    known tool), or, for a placeholder default, the mount falls back to the placeholder. Nothing changes
    when a consumer cannot be served.
    """

    CODE = "MS001"
    KIND = "arg-default-secret"
    SEVERITY = ("error", "7.5")
    WORDS = (*NAME_WORDS, *FORMAT_WORDS)
    REFERENCES = (references.IMAGE_HISTORY, references.COMPOSE_ENV_FILE)
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
        # a build step may read it (it runs code): it keeps the placeholder unless a secret is passed
        Invalid("FROM python:3.12\nARG SECRET_KEY=dummy-secret-key\nRUN python manage.py collectstatic --noinput\n",
                line=2, expected="FROM python:3.12\nRUN --mount=type=secret,id=secret_key "
                'export SECRET_KEY="$(cat /run/secrets/secret_key 2>/dev/null || printf %s dummy-secret-key)" && '
                "python manage.py collectstatic --noinput\n"),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for p in flow.pairs:
            if p.what != "ARG" or not p.kv.has_value:
                continue
            secret, kind = migration.is_secret_arg(ctx, p) if p.stage >= 0 else ctx.secret(p.name, p.kv.value)
            if not secret or kind is ValueKind.BUILD_ARG:
                continue  # a default that is only a reference (``ARG X=${X}``): MS004/MS013 judge the ARG
            redact = [p.value_span]
            if p.stage >= 0 or not flow.redeclarations(p):
                sp = migration.plan(ctx, p)
                if sp is not None:
                    yield migration.hit(self, ctx, sp, p.line, p.name, value_class=kind.value, redact=redact)
                continue
            # a global default reaches the stages that declare the ARG again: each is planned there
            plans = [migration.plan(ctx, r) for r in flow.redeclarations(p)]
            ok = all(sp is not None and sp.ok for sp in plans) and not flow.used_by_from(p)
            fix = ("remove the global ARG; " + "; ".join(migration.describe(ctx, sp) for sp in plans if sp)
                   if ok else "; ".join(sp.reason for sp in plans if sp and sp.reason) or
                   f"{p.name} is used by a FROM line")
            f = self.finding(ctx, p.line, p.name, fixable=ok, value_class=kind.value, fix=fix)
            actions = [RemovePair(p.ins_index, p.kv_index), *(a for sp in plans if sp for a in sp.actions)]
            build = {sp.id: sp.anchor.name for sp in plans if sp and sp.build_secret}
            yield Hit(f, actions if ok else [], secret_values={p.name: p.kv.value}, redact=redact,
                      build_secrets=build if ok else {})
