from __future__ import annotations

from collections.abc import Iterator

from codemod.model import Hit
from codemod.rules import migration, references
from codemod.rules.base import NAME_WORDS, Context, Invalid, Rule


class SecretPersistedInLayer(Rule):
    """What it does: flags a RUN that writes a secret somewhere that outlives the step (``> .npmrc``,
    ``npm config set``, ``bundle config``, ``git clone https://user:$TOKEN@...``, ``huggingface-cli
    login``, ``poetry config http-basic``) when no undo known to remove every copy can be added.

    Why: a secret mount keeps the token out of the history, but a file the step writes stays in its layer
    (and reaches the final image through ``COPY --from``).

    Fix: none automatic: write and use the credential in one RUN and delete it there, or pass it to the
    tool through its environment variable. The secret is left as it is until then.
    """

    CODE = "MS015"
    KIND = "secret-persisted-in-layer"
    SEVERITY = ("error", "7.5")
    WORDS = NAME_WORDS
    REFERENCES = (references.MOUNT_SECRET,)
    MESSAGE = "RUN writes secret {name} into the layer ({what}) and nothing undoes it"
    VALID = ['FROM node:20\nARG NPM_TOKEN\nRUN echo "x=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc\n']
    INVALID = [
        Invalid('FROM node:20\nARG NPM_TOKEN\nRUN echo "x=${NPM_TOKEN}" >> .npmrc\nRUN npm ci\nRUN npm test\n',
                line=3),
        # the URL, token included, stays in /src/lib/.git/config
        Invalid("FROM alpine/git\nARG GITHUB_TOKEN\n"
                "RUN git clone https://x-access-token:${GITHUB_TOKEN}@github.com/acme/lib.git /src/lib\n", line=3),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        for sp in migration.secret_plans(ctx):
            for i, what in sp.persisted:
                line = ctx.flow.df.instructions[i].start_line
                yield Hit(self.finding(ctx, line, sp.anchor.name, fixable=False, what=what,
                                       fix="write and use the credential in one RUN and remove it there, "
                                           "or pass it through the tool's environment variable"))
