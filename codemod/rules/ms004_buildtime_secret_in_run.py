from __future__ import annotations

from collections.abc import Iterator

from codemod.analysis.consumers import Mode
from codemod.analysis.values import ValueKind
from codemod.model import Hit
from codemod.rules import migration, references
from codemod.rules.base import NAME_WORDS, Context, Invalid, Rule


class BuildtimeSecretInRun(Rule):
    """What it does: flags a RUN that reads a secret build arg: ``$NAME`` in the command (shell or exec
    form, heredoc bodies), through an ENV alias, through a tool that reads the variable by itself (npm
    with a committed ``.npmrc`` naming ``${NPM_TOKEN}``, sentry-cli, bundler, pip, ...), or possibly: it
    runs code the tool cannot see into (``npm run build``, ``python manage.py``, ``make``).

    Why: every RUN that sees a build arg records it in the image history (``|1 NAME=value /bin/sh -c ...``),
    whatever ``--build-arg`` passed.

    Fix: remove the ARG and mount the secret on each RUN that reads it: ``required=true`` where it reads
    it by name or through a known tool, no ``required`` where it only may read it or runs under ONBUILD
    (a build that never passed the value runs as before). Shell-form RUNs get
    ``--mount=type=secret,id=<id>`` and ``export NAME="$(cat /run/secrets/<id>)" && `` (Dockerfile 1.2+,
    buildah, podman); exec-form and heredoc RUNs get ``env=NAME`` and ``# syntax=docker/dockerfile:1``.
    A RUN that writes the token into its layer (``.npmrc``, ``npm config set``, ``git config ...
    insteadOf``) undoes it in the same RUN, or is merged with the next RUN that uses it, when an undo that
    really removes it exists; otherwise nothing changes and a human decides (MS015). Build with
    ``--secret id=<id>,env=NAME``.
    """

    CODE = "MS004"
    KIND = "buildtime-secret-in-run"
    SEVERITY = ("error", "7.5")
    WORDS = NAME_WORDS
    REFERENCES = (references.MOUNT_SECRET, references.BUILDX_SECRET)
    MESSAGE = "RUN {how} secret build arg {name}, recorded in the image history; mount it as secret {id}"
    VALID = [
        "FROM node:20\nRUN --mount=type=secret,id=npm_token,required=true "
        'export NPM_TOKEN="$(cat /run/secrets/npm_token)" && npm ci\n',
        "FROM node:20\nARG NODE_ENV=production\nRUN echo $NODE_ENV\n",
        "FROM alpine\nARG TOKEN_TTL=60\nRUN echo $TOKEN_TTL\n",
    ]
    INVALID = [
        Invalid(
            "FROM node:20\nARG NPM_TOKEN\n"
            'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc\n',
            line=3,
            expected="FROM node:20\nRUN --mount=type=secret,id=npm_token,required=true "
            'export NPM_TOKEN="$(cat /run/secrets/npm_token)" && '
            'echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc\n',
        ),
        Invalid(
            'FROM alpine\nARG GITHUB_TOKEN\nRUN ["sh", "-c", "curl -H \\"Authorization: token $GITHUB_TOKEN\\" x"]\n',
            line=3,
            expected="# syntax=docker/dockerfile:1\nFROM alpine\n"
            'RUN --mount=type=secret,id=github_token,env=GITHUB_TOKEN,required=true '
            '["sh", "-c", "curl -H \\"Authorization: token $GITHUB_TOKEN\\" x"]\n',
        ),
        # read by a step that runs code (the Sentry plugin of the build reads SENTRY_AUTH_TOKEN): kept
        Invalid(
            "FROM node:20\nARG SENTRY_AUTH_TOKEN\nRUN npm run build\n",
            line=3,
            expected="FROM node:20\nRUN --mount=type=secret,id=sentry_auth_token "
            "if [ -f /run/secrets/sentry_auth_token ]; then "
            'export SENTRY_AUTH_TOKEN="$(cat /run/secrets/sentry_auth_token)"; fi && npm run build\n',
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        df = ctx.flow.df
        for sp in migration.secret_plans(ctx):
            if sp.anchor.what != "ARG":
                continue
            seen: set[int] = set()
            for c in sp.consumers:
                if c.ins in seen:
                    continue
                seen.add(c.ins)
                how = "may read" if c.read.mode is Mode.POSSIBLE else "reads"
                yield migration.hit(self, ctx, sp, df.instructions[c.ins].start_line, sp.anchor.name,
                                    value_class=ValueKind.BUILD_ARG.value, id=sp.id, how=how)
