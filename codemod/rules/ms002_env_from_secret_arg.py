from __future__ import annotations

import re
from collections.abc import Iterator, Set

from codemod.analysis.flow import Pair, reference
from codemod.analysis.names import tokenize
from codemod.model import Action, Hit, RemovePair, SetValue
from codemod.rules import migration, references
from codemod.rules.base import NAME_WORDS, Context, Invalid, Rule

_PATH_NAME = re.compile(r"_(PATH|DIR|FILE)$", re.I)


def group_of(name: str) -> str:
    tokens = tokenize(name)
    return tokens[0] if tokens else name.lower()


class EnvFromSecretArg(Rule):
    """What it does: flags an ENV pair whose whole value is a secret ARG (``ENV X=${X_DEFAULT}``).

    Why: ENV values are in the image config (``docker inspect``) for anyone who pulls the image.

    Fix: remove the pair and the ARG behind it. An ENV that reaches an image someone runs becomes runtime
    configuration; build steps that read it (or may) get a secret mount; an ENV only build steps read
    (a builder stage) becomes mounts only. When the ARG had a default of its own, the plain settings of
    the same group bound the same way (``SUPABASE_URL``, ``POSTGRES_HOST``) move to runtime configuration
    too, and in-image paths among them become literal ENV.
    """

    CODE = "MS002"
    KIND = "env-from-secret-arg"
    SEVERITY = ("error", "7.5")
    WORDS = NAME_WORDS
    REFERENCES = (references.COMPOSE_ENV_FILE,)
    MESSAGE = "ENV {name} copies secret build arg {arg} into the image config"
    VALID = [
        "FROM a\nARG APP_VERSION=1\nENV APP_VERSION=${APP_VERSION}\n",
        "FROM a\nARG DEBUG=false\nENV AUTH_ENABLED=${DEBUG}\n",
        "FROM a\nENV DB_PASSWORD=${DB_PASSWORD}\n",
    ]
    INVALID = [
        Invalid("FROM a\nARG DB_PASSWORD\nENV DB_PASSWORD=$DB_PASSWORD\nUSER app\n", line=3,
                expected="FROM a\nUSER app\n"),
        Invalid(
            "FROM a\nARG X_PASSWORD_DEFAULT=changeme\nARG X_HOST_DEFAULT=db\nARG X_DATA_DIR_DEFAULT=/data\n"
            "ENV X_PASSWORD=${X_PASSWORD_DEFAULT} \\\n    X_HOST=${X_HOST_DEFAULT} \\\n"
            "    X_DATA_DIR=${X_DATA_DIR_DEFAULT} \\\n    OTHER=1\n",
            line=5,
            expected="FROM a\n\nENV X_DATA_DIR=/data \\\n    OTHER=1\n",
            variable="X_PASSWORD",
        ),
        # a builder stage: the build step keeps the token, nothing goes to run time
        Invalid("FROM maven:3 AS build\nARG MAVEN_TOKEN\nENV MAVEN_TOKEN=$MAVEN_TOKEN\nRUN mvn -B package\n"
                "FROM eclipse-temurin:21\nCOPY --from=build /app.jar /app.jar\n", line=3, variable="MAVEN_TOKEN",
                expected="FROM maven:3 AS build\nRUN --mount=type=secret,id=maven_token "
                'if [ -f /run/secrets/maven_token ]; then export MAVEN_TOKEN="$(cat /run/secrets/maven_token)"; '
                "fi && mvn -B package\nFROM eclipse-temurin:21\nCOPY --from=build /app.jar /app.jar\n"),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        flagged: dict[tuple[int, int], tuple[Pair, Pair, str]] = {}
        for p in flow.pairs:
            if p.what == "ENV" and (bound := migration.bound_secret(ctx, p)) is not None:
                flagged[(p.ins_index, p.kv_index)] = (p, bound[0], bound[1].value)
        #: (stage, group) -> the ENV pairs there whose whole value is a plain ``$NAME``, and that NAME, in file order
        members: dict[tuple[int, str], list[tuple[Pair, str]]] = {}
        for p in flow.pairs:
            if p.what == "ENV" and (ref := reference(p.kv.value)) is not None and not ref[1]:
                members.setdefault((p.stage, group_of(p.name)), []).append((p, ref[0]))
        grouped: set[tuple[int, str]] = set()
        for env, arg, kind in flagged.values():
            sp = migration.plan(ctx, arg)
            if sp is None:
                continue
            extra: list[Action] = []
            moved: dict[str, str | None] = {}
            if sp.ok and flow.arg_default(arg) and env.name in sp.runtime:
                group = (env.stage, group_of(env.name))
                if group not in grouped:
                    grouped.add(group)
                    self._move_group(ctx, members.get(group, []), flagged.keys(), extra, moved)
            yield migration.hit(self, ctx, sp, env.line, env.name, value_class=kind, extra=extra, moved=moved,
                                arg=arg.name)

    def _move_group(self, ctx: Context, members: list[tuple[Pair, str]], flagged: Set[tuple[int, int]],
                    actions: list[Action], moved: dict[str, str | None]) -> None:
        """Move the settings among ``members`` (a group's plain ``ENV X=$ARG`` pairs) that nothing else reads."""
        flow = ctx.flow
        for q, name in members:
            if (q.ins_index, q.kv_index) in flagged:
                continue
            arg = flow.arg_at(q.ins_index, name)
            if arg is None or not arg.kv.has_value or "$" in arg.kv.raw:
                continue
            bindings = flow.env_bindings_of(arg)
            if len(bindings) != 1 or ctx.other_uses(arg, {(q.ins_index, q.kv_index)}):
                continue
            default = arg.kv.value
            if default.startswith("/") or _PATH_NAME.search(q.name):
                actions.append(SetValue(q.ins_index, q.kv_index, arg.kv.raw))
            else:
                actions.append(RemovePair(q.ins_index, q.kv_index))
                moved[q.name] = default
            actions.append(RemovePair(arg.ins_index, arg.kv_index))
