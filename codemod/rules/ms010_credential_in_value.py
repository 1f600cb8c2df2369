from __future__ import annotations

import re
from collections.abc import Iterator

from codemod.analysis.values import (
    embedded_credentials,
    embedded_secret_parts,
    known_format,
    may_embed_credentials,
)
from codemod.model import Hit
from codemod.rules.base import CREDENTIAL_WORDS, FORMAT_WORDS, NAME_WORDS, Context, Invalid, Rule

#: what a credential in a RUN's URL or header looks like, before the full scan
_RUN_HINT = re.compile(
    r"://[^\s/@]*:[^\s/@]*@|[?&;][A-Za-z_-]*(?:token|key|sig|signature|password|passwd|pwd|secret)=|"
    r"Bearer|Basic|hooks\.slack\.com|discord(?:app)?\.com/api/webhooks",
    re.IGNORECASE,
)


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


class CredentialInValue(Rule):
    """What it does: flags a literal credential inside a larger ARG/ENV value: a URL with a password,
    a ``token=``/``key=``/``sig=`` query parameter, a webhook URL, a connection string ``Password=``,
    a ``Basic``/``Bearer`` header value.

    Why: the whole value is recorded in the image, credential included.

    Fix: none automatic (the rest of the value is configuration): move the credential to runtime
    configuration or a secret mount by hand. Reported, never rewritten.
    """

    CODE = "MS010"
    KIND = "credential-in-value"
    SEVERITY = ("error", "8.0")
    WORDS = (*NAME_WORDS, *FORMAT_WORDS, *CREDENTIAL_WORDS)
    REFERENCES = ()
    MESSAGE = "{what}{name} holds a literal credential: {detail}"
    VALID = [
        "FROM a\nENV DATABASE_URL=postgres://db:5432/app\n",
        "FROM a\nENV BROKER_URL=amqp://u:${PW}@h/\n",
    ]
    INVALID = [
        Invalid("FROM a\nENV DATABASE_URL=postgres://app:s3cretpass@db:5432/app\n", line=2),
        Invalid("FROM a\nRUN pip install --index-url https://ci:s3cretpass99@pypi.example.org/simple app\n",
                line=2, variable="RUN"),
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
        """Literal credentials in the URLs of a RUN (``https://user:pass@host``, ``?token=...``)."""
        df = ctx.flow.df
        for i, ins in enumerate(df.instructions):
            if ins.effective != "RUN":
                continue
            text = ctx.flow.run_text(i)
            if not _RUN_HINT.search(text):
                continue
            parts = embedded_secret_parts(text)
            if not parts:
                continue
            details = [d for d in embedded_credentials(text) if "reference to" not in d]
            spans = _spans(df.data, ins.start, ins.end, parts)
            f = self.finding(ctx, ins.start_line, "RUN", fixable=False, value_class="real-looking", what="a ",
                             detail="; ".join(details) or "credential in a URL",
                             fix="pass the credential as a build secret (RUN --mount=type=secret)")
            yield Hit(f, secret_values={f"RUN@{ins.start_line + 1}#{n}": p for n, p in enumerate(parts)},
                      redact=spans)
