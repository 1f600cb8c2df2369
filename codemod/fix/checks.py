"""What every rewritten Dockerfile is checked for before anything is written (design.md section 4).

- its pairs equal the input's minus the removed ones, with the set values (:func:`check_pairs`);
- each RUN's command is the original command plus only an inserted prefix (secret exports, inline
  placeholders, a merged RUN's command) and an undo suffix; its flags are the original ones plus
  secret mounts (:func:`check_runs`);
- every RUN that consumed a secret before still gets it after: a secret mount exposing the variable
  it read, or the placeholder inline (:func:`check_served`).

These read the output as text, independently of how the planner wrote it. A failure raises
:class:`RewriteError`, and the caller leaves the file as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from codemod.dockerfile.scanner import Dockerfile, Instruction, process_word
from codemod.model import Action, RemovePair, SetValue


class RewriteError(Exception):
    """The rewrite would not be faithful; the file is left as it was."""


def _pairs(df: Dockerfile) -> list[tuple[str, str, str]]:
    return [(ins.effective, kv.key, kv.value) for ins in df.instructions for kv in ins.kvs]


def check_pairs(before: Dockerfile, after: Dockerfile, actions: Iterable[Action]) -> None:
    """The output's pairs are the input's minus the removed ones, with the set values."""
    actions = list(actions)
    removed = {(a.ins, a.kv) for a in actions if isinstance(a, RemovePair)}
    sets = {(a.ins, a.kv): a.text for a in actions if isinstance(a, SetValue)}
    expected = []
    for i, ins in enumerate(before.instructions):
        for k, kv in enumerate(ins.kvs):
            if (i, k) in removed:
                continue
            value = process_word(sets[(i, k)], before.escape) if (i, k) in sets else kv.value
            expected.append((ins.effective, kv.key, value))
    got = _pairs(after)
    if got != expected:
        missing = [p[1] for p in expected if p not in got]
        extra = [p[1] for p in got if p not in expected]
        raise RewriteError(
            "the rewrite changed pairs it should have kept "
            f"(missing: {', '.join(missing) or '-'}; unexpected: {', '.join(extra) or '-'})"
        )


_SECRET_MOUNT = re.compile(r"^--mount=type=secret,id=(?P<id>[^,\s]+)(?:,env=(?P<env>[A-Za-z_][A-Za-z0-9_]*))?"
                           r"(?:,mode=0[0-7]{3})?(?:,required=true)?$")
_VAR = r"[A-Za-z_][A-Za-z0-9_]*"
_ID = r"[^\s/\"']+"
#: the prefixes the migration may put before a RUN's command, one at a time
_PREFIXES = (
    re.compile(rf'^export (?P<var>{_VAR})="\$\(cat /run/secrets/(?P<id>{_ID})\)" && '),
    re.compile(rf'^if \[ -f /run/secrets/(?P<id>{_ID}) \]; then export (?P<var>{_VAR})="\$\(cat '
               rf'/run/secrets/(?P=id)\)"; fi && '),
    re.compile(rf'^export (?P<var>{_VAR})="\$\(cat /run/secrets/(?P<id>{_ID}) 2>/dev/null \|\| printf %s '
               rf'(?:\'[^\']*\'|[^\s"\'$`\\;&|]+)\)" && '),
    re.compile(rf"^export (?P<var>{_VAR})=(?:'[^']*'|[^\s\"'$`\\;&|]+) && "),
)
#: the undo commands the migration may append: removing a file, or a tool's own unset/logout
_UNDO = re.compile(r" && (?:rm -f \S+|git config (?:--global |--system |--file \S+ )?--remove-section \S+|"
                   r"pip3? config (?:--(?:user|global|site) )?unset \S+|bundle config unset \S+|"
                   r"composer config (?:-g |--global )?--unset \S+|poetry config --unset \S+|docker logout \S+)$")


def _runs(df: Dockerfile) -> list[tuple[int, Instruction]]:
    return [(i, ins) for i, ins in enumerate(df.instructions) if ins.effective == "RUN"]


def _flags(ins: Instruction) -> list[str]:
    return ins.sub_flags if ins.keyword == "ONBUILD" else ins.flags


def _strip_prefixes(cmd: str) -> tuple[str, dict[str, str]]:
    """``cmd`` without the migration's prefixes, and the variables they expose: var -> secret id ("" inline)."""
    exposed: dict[str, str] = {}
    while True:
        for p in _PREFIXES:
            m = p.match(cmd)
            if m:
                exposed[m.group("var")] = m.groupdict().get("id") or ""
                cmd = cmd[m.end():]
                break
        else:
            return cmd, exposed


def _without_undos(cmd: str) -> list[str]:
    """``cmd`` and the forms of it with trailing undo commands taken off, one at a time."""
    out = [cmd]
    while (m := _UNDO.search(out[-1])) is not None:
        out.append(out[-1][: m.start()])
    return out


def check_runs(before: Dockerfile, after: Dockerfile) -> dict[int, int]:
    """Check every RUN of ``after`` against ``before``; return before RUN index -> after RUN index (a RUN
    merged into the next one maps to that one)."""
    old = _runs(before)
    new = _runs(after)
    mapping: dict[int, int] = {}
    j = 0
    for ai, a in new:
        if j >= len(old):
            raise RewriteError(f"the rewrite added a RUN (line {a.start_line + 1})")
        bi, b = old[j]
        extra = [f for f in _flags(a) if f not in _flags(b)]
        if [f for f in _flags(a) if f in _flags(b)] != _flags(b) or not all(_SECRET_MOUNT.match(f) for f in extra):
            raise RewriteError(f"RUN line {b.start_line + 1}: the rewrite changed its flags")
        if a.json or a.heredocs or b.json or b.heredocs:
            if a.value != b.value or [h.content for h in a.heredocs] != [h.content for h in b.heredocs]:
                raise RewriteError(f"RUN line {b.start_line + 1}: the rewrite changed its command")
            mapping[bi] = ai
            j += 1
            continue
        rest, _ = _strip_prefixes(a.value[0] if a.value else "")
        forms = _without_undos(rest)
        cmd = b.value[0] if b.value else ""
        if cmd in forms:
            mapping[bi] = ai
            j += 1
            continue
        if j + 1 < len(old) and not old[j + 1][1].json and not old[j + 1][1].heredocs:
            bi2, b2 = old[j + 1]
            merged = f"{cmd} && {b2.value[0] if b2.value else ''}"
            if merged in forms:
                mapping[bi] = mapping[bi2] = ai
                j += 2
                continue
        raise RewriteError(f"RUN line {b.start_line + 1}: the rewritten command is not the original command "
                           "with only a prefix and an undo added")
    if j != len(old):
        raise RewriteError(f"the rewrite removed a RUN (line {old[j][1].start_line + 1})")
    return mapping


def exposed_secrets(ins: Instruction) -> dict[str, str]:
    """What a RUN gets from the migration: variable -> secret id (``""``: a placeholder written inline)."""
    ids: dict[str, str] = {}
    env_ids: dict[str, str] = {}
    for f in _flags(ins):
        m = _SECRET_MOUNT.match(f)
        if m:
            ids[m.group("id")] = m.group("id")
            if m.group("env"):
                env_ids[m.group("env")] = m.group("id")
    out = dict(env_ids)
    if not ins.json and not ins.heredocs and ins.value:
        _, exposed = _strip_prefixes(ins.value[0])
        for var, sid in exposed.items():
            if sid == "" or sid in ids:
                out[var] = sid
    return out


def check_served(after: Dockerfile, mapping: dict[int, int], consumers: Iterable[tuple[int, str, str]]) -> None:
    """Every (RUN index before, variable, secret id) consumer gets its variable in the mapped RUN after."""
    for ins_before, var, sid in consumers:
        ai = mapping.get(ins_before)
        if ai is None:
            raise RewriteError(f"a RUN that read {var} is gone")
        got = exposed_secrets(after.instructions[ai])
        if var not in got or got[var] not in (sid, ""):
            raise RewriteError(f"RUN line {after.instructions[ai].start_line + 1} no longer gets {var}")
