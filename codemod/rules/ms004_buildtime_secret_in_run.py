from __future__ import annotations

from collections.abc import Iterator

from codemod.analysis.values import ValueKind
from codemod.model import Hit
from codemod.rules.base import Context, Invalid, Rule
from codemod.rules.buildtime import plan as buildtime_plan


class BuildtimeSecretInRun(Rule):
    """What it does: flags a RUN that reads a secret build arg: ``$NAME`` in the command (shell or exec
    form, heredoc bodies), through an ENV alias, or implicitly through a tool that reads the variable
    (npm with a committed ``.npmrc`` naming ``${NPM_TOKEN}``, sentry-cli, bundler, twine, ...).

    Why: every RUN that sees a build arg records it in the image history (``|1 NAME=value /bin/sh -c ...``),
    whatever ``--build-arg`` passed.

    Fix: remove the ARG and mount the secret on each RUN that reads it, ``required=true``. Shell-form RUNs
    get ``--mount=type=secret,id=<id>,required=true`` and ``export NAME="$(cat /run/secrets/<id>)" && ``
    (works on BuildKit since Dockerfile 1.2 and on buildah/podman); exec-form, heredoc and ONBUILD RUNs
    get ``env=NAME`` and ``# syntax=docker/dockerfile:1``. A RUN that persists the token (writes
    ``.npmrc``, ``npm config set``, ``git config ... insteadOf``) is merged with the next RUN that uses it,
    which undoes the persistence at its end. Build with ``--secret id=<id>,env=NAME``.
    """

    KIND = "buildtime-secret-in-run"
    MESSAGE = "RUN reads secret build arg {name}, recorded in the image history; mount it as secret {id}"
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
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        for p in flow.pairs:
            bp = buildtime_plan(ctx, p)
            if bp is None:
                continue
            first = True
            for r in bp.reads:
                ins = flow.df.instructions[r.ins_index]
                fix = (f"--secret id={bp.id},env={p.name} at build time" if bp.fixable else bp.reason)
                f = self.finding(ctx, ins.start_line, p.name, fixable=bp.fixable, id=bp.id, fix=fix,
                                 value_class=ValueKind.BUILD_ARG.value)
                default = flow.arg_default(p)
                yield Hit(
                    f,
                    bp.actions if first and bp.fixable else [],
                    secret_values={p.name: default} if default else {},
                    build_secrets={bp.id: p.name} if bp.fixable else {},
                )
                first = False
