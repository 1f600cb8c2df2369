from __future__ import annotations

from collections.abc import Iterator

from codemod.model import Hit
from codemod.rules.base import Context, Invalid, Rule
from codemod.rules.buildtime import plan as buildtime_plan


class SecretPersistedInLayer(Rule):
    """What it does: flags a RUN that writes a build secret somewhere that outlives the step (``> .npmrc``,
    ``npm config set``, ``git config ... insteadOf``) without undoing it, when no following RUN of the
    stage can be merged with it.

    Why: a secret mount keeps the token out of the history, but a file the step writes stays in its layer.

    Fix: none automatic: move the write and the command that needs it into one RUN and delete the file
    at its end. The ARG is left as is until then.
    """

    KIND = "secret-persisted-in-layer"
    MESSAGE = "RUN writes build secret {name} into the layer ({what}) and nothing undoes it"
    VALID = ['FROM node:20\nARG NPM_TOKEN\nRUN echo "x=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc\n']
    INVALID = [Invalid('FROM node:20\nARG NPM_TOKEN\nRUN echo "x=${NPM_TOKEN}" > .npmrc\nUSER node\n', line=3)]

    def check(self, ctx: Context) -> Iterator[Hit]:
        for p in ctx.flow.pairs:
            bp = buildtime_plan(ctx, p)
            if bp is None:
                continue
            for i, what in bp.persisted:
                line = ctx.flow.df.instructions[i].start_line
                yield Hit(self.finding(ctx, line, p.name, fixable=False, what=what,
                                       fix="write and use the token in one RUN, then delete it"))
