from __future__ import annotations

from collections.abc import Iterator

from codemod.model import Hit
from codemod.rules import migration, references
from codemod.rules.base import FORMAT_WORDS, NAME_WORDS, Context, Invalid, Rule


class EnvLiteralSecret(Rule):
    """What it does: flags an ENV pair that writes a secret value literally (``ENV DJANGO_SECRET_KEY=...``).

    Why: ENV values are in the image config and history of every copy of the image.

    Fix: remove the pair; the runtime supplies it. A later build step that reads it (or may: it runs
    code) keeps a value: a placeholder goes inline on its RUN (``export SECRET_KEY=... && ``), a real
    value comes from a secret mount. An exec-form or heredoc RUN that needs the placeholder is left to a
    human.
    """

    CODE = "MS003"
    KIND = "env-literal-secret"
    SEVERITY = ("error", "8.0")
    WORDS = (*NAME_WORDS, *FORMAT_WORDS)
    REFERENCES = (references.COMPOSE_ENV_FILE,)
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
        Invalid("FROM a\nENV DJANGO_SECRET_KEY changeme\nRUN pip install -r r.txt && python manage.py collectstatic\n",
                line=2, expected="FROM a\nRUN export DJANGO_SECRET_KEY=changeme && pip install -r r.txt && "
                "python manage.py collectstatic\n"),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        for p in ctx.flow.pairs:
            if p.what != "ENV":
                continue
            sp = migration.plan(ctx, p)
            if sp is not None:
                yield migration.hit(self, ctx, sp, p.line, p.name, redact=[p.value_span])
