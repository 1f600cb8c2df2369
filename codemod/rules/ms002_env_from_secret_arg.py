from __future__ import annotations

import re
from collections.abc import Iterator, Set

from codemod.analysis.flow import Pair, reference
from codemod.analysis.names import tokenize
from codemod.analysis.values import ValueKind, classify_value, known_format
from codemod.model import Action, Hit, RemovePair, SetValue
from codemod.rules.base import Context, Invalid, Rule
from codemod.rules.buildtime import plan as buildtime_plan

_PATH_NAME = re.compile(r"_(PATH|DIR|FILE)$", re.I)


def binds_secret(ctx: Context, env: Pair) -> tuple[Pair, ValueKind] | None:
    """The ARG behind ``ENV NAME=$ARG`` when the pair carries a secret into the image."""
    ref = reference(env.kv.value)
    if ref is None:
        return None
    arg = ctx.flow.arg_at(env.ins_index, ref[0])
    if arg is None:
        return None
    bp = buildtime_plan(ctx, arg)
    if bp is not None and (env.ins_index, env.kv_index) in bp.alias_keys:
        return None  # an alias a build step reads: MS004 mounts the secret and drops the alias
    value, _ = ctx.resolved(env)
    kind = classify_value(value) if value is not None else ValueKind.REFERENCE
    if value is not None and known_format(value):
        return arg, ValueKind.REAL
    if kind in (ValueKind.NOT_SECRET,):
        return None
    for name in (env.name, arg.name):
        nc = ctx.name_class(name)
        if not nc.secret:
            continue
        if not nc.weak:
            return arg, kind
        if kind in (ValueKind.REAL, ValueKind.PLACEHOLDER):
            return arg, kind
    return None


def group_of(name: str) -> str:
    tokens = tokenize(name)
    return tokens[0] if tokens else name.lower()


class EnvFromSecretArg(Rule):
    """What it does: flags an ENV pair whose whole value is a secret ARG (``ENV X=${X_DEFAULT}``).

    Why: ENV values are in the image config (``docker inspect``) for anyone who pulls the image.

    Fix: remove the pair and the ARG behind it; the value is runtime configuration now. When the ARG had
    a default of its own, the plain settings of the same group bound the same way (``SUPABASE_URL``,
    ``POSTGRES_HOST``) move to runtime configuration too, and in-image paths among them become literal ENV.
    """

    KIND = "env-from-secret-arg"
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
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        flow = ctx.flow
        flagged: dict[tuple[int, int], tuple[Pair, Pair, ValueKind]] = {}
        for p in flow.pairs:
            if p.what == "ENV":
                hit = binds_secret(ctx, p)
                if hit is not None:
                    flagged[(p.ins_index, p.kv_index)] = (p, hit[0], hit[1])
        #: the flagged pairs bound to each ARG, by the ARG's (ins_index, kv_index)
        by_arg: dict[tuple[int, int], set[tuple[int, int]]] = {}
        for k, (_, a, _) in flagged.items():
            by_arg.setdefault((a.ins_index, a.kv_index), set()).add(k)
        #: (stage, group) -> the ENV pairs there whose whole value is a plain ``$NAME``, and that NAME, in file order
        members: dict[tuple[int, str], list[tuple[Pair, str]]] = {}
        for p in flow.pairs:
            if p.what == "ENV" and (ref := reference(p.kv.value)) is not None and not ref[1]:
                members.setdefault((p.stage, group_of(p.name)), []).append((p, ref[0]))
        grouped: set[tuple[int, str]] = set()
        for env, arg, kind in flagged.values():
            actions: list[Action] = [RemovePair(env.ins_index, env.kv_index)]
            removed = by_arg[(arg.ins_index, arg.kv_index)]
            if not ctx.other_uses(arg, removed):
                actions.append(RemovePair(arg.ins_index, arg.kv_index))
            moved: dict[str, str | None] = {env.name: None}
            secret_values = {}
            default = flow.arg_default(arg)
            if default:
                secret_values[env.name] = default
                group = (env.stage, group_of(env.name))
                if group not in grouped:
                    grouped.add(group)
                    self._move_group(ctx, members.get(group, []), flagged.keys(), actions, moved)
            f = self.finding(ctx, env.line, env.name, value_class=kind.value, arg=arg.name,
                             fix=f"remove ENV {env.name}; provide it at runtime")
            yield Hit(f, actions, secret_values=secret_values, moved=moved)

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
