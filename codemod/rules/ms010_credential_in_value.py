from __future__ import annotations

import re
from collections.abc import Iterator

from codemod.analysis.values import (
    COMMAND_WORDS,
    command_credentials,
    embedded_credentials,
    embedded_secret_parts,
    known_format,
    may_embed_credentials,
)
from codemod.dockerfile.scanner import Instruction
from codemod.model import Hit
from codemod.rules.base import CREDENTIAL_WORDS, FORMAT_WORDS, NAME_WORDS, Context, Invalid, Rule

#: what a credential in a RUN's URL or header looks like, before the full scan
_RUN_HINT = re.compile(
    r"://[^\s/@]*:[^\s/@]*@|[?&;][A-Za-z_-]*(?:token|key|sig|signature|password|passwd|pwd|secret)=|"
    r"Bearer|Basic|hooks\.slack\.com|discord(?:app)?\.com/api/webhooks",
    re.IGNORECASE,
)
#: instructions whose command text runs: at build time (RUN) or in every container (CMD, ENTRYPOINT, HEALTHCHECK)
_COMMANDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"})


def _spans(data: bytes, start: int, end: int, parts: list[str]) -> list[tuple[int, int]]:
    """Every place in ``data[start:end]`` that holds one of ``parts`` (to redact)."""
    spans = []
    for part in parts:
        b = part.encode("utf-8", "surrogateescape")
        at = data.find(b, start, end)
        while at >= 0:
            spans.append((at, at + len(b)))
            at = data.find(b, at + len(b), end)
    return spans


def _command(ins: Instruction) -> str:
    """What runs: the arguments after the keyword and its flags (exec form: the words), heredoc bodies after."""
    if ins.json or ins.effective == "HEALTHCHECK":
        words = ins.value
        if ins.effective == "HEALTHCHECK" and words and words[0].upper() in ("CMD", "CMD-SHELL"):
            words = words[1:]
        return " ".join(words)
    return ins.original[ins.args_index:] + "\n" + "".join(h.content for h in ins.heredocs)


class CredentialInValue(Rule):
    """What it does: flags a literal credential inside a larger ARG/ENV value (a ``token=``/``key=``/``sig=``
    query parameter, a webhook URL, a connection string ``Password=``, a ``Basic``/``Bearer`` header value),
    and a literal credential in a command: a URL with a password in a RUN, a password flag (``--password``,
    ``gpg --passphrase``, ``mysql -p...``, ``docker login -p``, ``curl -u user:...``, ``keytool -storepass``,
    ``redis-server --requirepass``), ``export DB_PASS=...``, ``echo user:... | chpasswd``, SQL ``IDENTIFIED BY``,
    in a RUN (heredoc bodies included) or in the CMD, ENTRYPOINT or HEALTHCHECK every container runs.
    References (``--password "$PW"``, ``https://${GH_TOKEN}:x-oauth-basic@github.com``) are not literals.

    Why: the whole value is recorded in the image, credential included; a RUN's command line is in the image
    history, a CMD's in its config.

    Fix: none automatic (the rest of the value or command is configuration): move the credential to runtime
    configuration or a secret mount by hand. Reported, values redacted, never rewritten.
    """

    CODE = "MS010"
    KIND = "credential-in-value"
    SEVERITY = ("error", "8.0")
    WORDS = (*NAME_WORDS, *FORMAT_WORDS, *CREDENTIAL_WORDS, *COMMAND_WORDS)
    REFERENCES = ()
    MESSAGE = "{what}{name} holds a literal credential: {detail}"
    VALID = [
        "FROM a\nENV DATABASE_URL=postgres://db:5432/app\n",
        "FROM a\nENV BROKER_URL=amqp://u:${PW}@h/\n",
        "FROM golang:1.22\nARG GH_TOKEN\nRUN git config --global "
        'url."https://${GH_TOKEN}:x-oauth-basic@github.com/".insteadOf "https://github.com/"\n',
        "FROM a\nRUN gpg --batch --passphrase-file /run/secrets/gpg_pass --import /tmp/k.asc\n",
        'FROM a\nRUN mkdir -p /app && docker run -p 8080:80 x && echo $VERSION\nCMD mysql -p"$DB_PASSWORD"\n',
        "FROM a\nRUN DJANGO_SECRET_KEY=placeholder python manage.py collectstatic\n",
    ]
    INVALID = [
        Invalid("FROM a\nENV DB_CONN=Server=db;Database=app;Password=s3cretpass99;\n", line=2),
        Invalid("FROM a\nRUN pip install --index-url https://ci:s3cretpass99@pypi.example.org/simple app\n",
                line=2, variable="RUN"),
        Invalid('FROM a\nRUN export DB_PASS="mysecretpassword" && ./migrate\n', line=2, variable="DB_PASS"),
        Invalid("FROM a\nRUN gpg --batch --passphrase 1234 --import /tmp/k.asc\n", line=2, variable="RUN"),
        Invalid('FROM a\nCMD ["redis-server", "--requirepass", "s3cr3tPass"]\n', line=2, variable="CMD"),
        Invalid('FROM a\nENTRYPOINT ["java", "-Dspring.datasource.password=hunter2", "-jar", "/app.jar"]\n', line=2,
                variable="ENTRYPOINT"),
        Invalid("FROM a\nHEALTHCHECK --interval=10s CMD mysqladmin ping -h 127.0.0.1 -uroot -proot123\n", line=2,
                variable="HEALTHCHECK"),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        for p in ctx.flow.pairs:
            value = p.kv.value
            # the cheap look first: a value that cannot embed a credential needs no other test
            if not value or not may_embed_credentials(value) or known_format(value):
                continue
            if ctx.secret(p.name, value)[0]:
                continue  # the whole value is the secret: MS001/MS003
            details = [d for d in embedded_credentials(value) if "reference to" not in d]
            if not details:
                continue
            f = self.finding(ctx, p.line, p.name, fixable=False, value_class="real-looking",
                             what=p.what + " ", detail="; ".join(details),
                             fix="move the credential to runtime configuration")
            # the credential, not the whole value: the rest (host, path) is a plain setting
            parts = embedded_secret_parts(value)
            spans = _spans(ctx.flow.df.data, p.kv.value_start, p.kv.value_end, parts)
            values = {f"{p.name}#{n}": part for n, part in enumerate(parts)}
            yield Hit(f, secret_values=values, redact=spans)
        yield from self._runs(ctx)

    def _runs(self, ctx: Context) -> Iterator[Hit]:
        """Literal credentials in the commands of RUN, CMD, ENTRYPOINT and HEALTHCHECK: URLs with a password,
        ``?token=...``, header values, password flags, ``export NAME=...`` of a secret name."""
        df = ctx.flow.df
        for ins in df.instructions:
            keyword = ins.effective
            if keyword not in _COMMANDS:
                continue
            text = _command(ins)
            parts: list[str] = []
            details: list[str] = []
            if _RUN_HINT.search(text):
                parts = embedded_secret_parts(text)
                if parts:
                    details = [d for d in embedded_credentials(text) if "reference to" not in d]
            assigned: dict[str, list[str]] = {}
            for name, what, literal in command_credentials(text, ctx.name_class):
                if name is None:
                    if literal not in parts:
                        parts.append(literal)
                    details.append(what)
                else:
                    assigned.setdefault(name, []).append(literal)
            line = ins.start_line
            if parts:
                spans = _spans(df.data, ins.start, ins.end, parts)
                article = "an " if keyword[0] in "AEIOU" else "a "
                f = self.finding(ctx, line, keyword, fixable=False, value_class="real-looking", what=article,
                                 detail="; ".join(dict.fromkeys(details)) or "credential in a URL",
                                 fix="pass the credential as a build secret (RUN --mount=type=secret)"
                                 if keyword == "RUN" else "read the credential from the runtime environment")
                yield Hit(f, secret_values={f"{keyword}@{line + 1}#{n}": p for n, p in enumerate(parts)},
                          redact=spans)
            for name, literals in assigned.items():
                spans = _spans(df.data, ins.start, ins.end, literals)
                f = self.finding(ctx, line, name, fixable=False, value_class="real-looking", what="",
                                 detail=f"a literal assigned in the {keyword} command",
                                 fix="pass it as a build secret (RUN --mount=type=secret,env=...)"
                                 if keyword == "RUN" else "provide it at runtime")
                yield Hit(f, secret_values={f"{name}@{line + 1}#{n}": v for n, v in enumerate(literals)},
                          redact=spans)
