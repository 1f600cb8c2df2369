"""``docker-bake.hcl``: a target's ``args = { NAME = ... }`` -> ``secret = ["id=<id>,env=<V>"]`` (formats.md
section 2, buildx ``docs/bake-reference.md`` ``target.secret``: the CSV form ``--secret`` takes).

V is the bake variable the value named (``"${NPM_TOKEN}"`` or ``NPM_TOKEN``: bake reads a variable from the
environment variable of the same name), else NAME with a note. Each target gets the secrets of the Dockerfile
it builds (``context``/``dockerfile``, relative to the bake file); a file with ``inherits`` or a computed path
is matched against every migration. Only the entries of a migrated arg change: an ``args`` left empty goes
whole; ``secret`` is extended (a one-line list, or a list with one item per line) or written where ``args``
was. An entry this rewrite cannot edit (several on one line, a heredoc) blocks its secret.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from codemod.invocations.coverage import Coverage, by_dockerfile, literal_value_class, redact_literal
from codemod.invocations.result import InvocationResult
from codemod.invocations.text import (
    Editor,
    block,
    decode_text,
    finding,
    finish,
    line_end,
    line_no,
    line_start,
    newline_of,
)
from codemod.model import DockerfileMigration

KIND = "script-build-arg-secret"
_TARGET = re.compile(r"(?m)^[ \t]*target[ \t]+\"(?P<name>[^\"]+)\"[ \t]*\{")
_ATTR = re.compile(r"(?m)^(?P<ind>[ \t]*)(?P<key>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*=[ \t]*")
_ENTRY = re.compile(r"^(?P<ind>[ \t]*)\"?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\"?[ \t]*=[ \t]*(?P<value>.*?)[ \t]*,?[ \t]*"
                    r"(?:(?:#|//).*)?\r?$")
_STRING_VALUE = re.compile(r"\"(?P<s>(?:[^\"\\]|\\.)*)\"")
_VAR_REF = re.compile(r"(?P<v>[A-Za-z_][A-Za-z0-9_]*)|\"\$\{(?P<i>[A-Za-z_][A-Za-z0-9_]*)\}\"")


@dataclass
class _Bake:
    text: str
    display: str
    nl: str
    base: Path
    ed: Editor
    result: InvocationResult

    def block(self, index: int, name: str, reason: str, dockerfile: Path | None) -> None:
        block(self.result, self.display, self.text, index, name, reason, KIND, dockerfile)


def skip(text: str, i: int) -> int:
    """Index past a string, heredoc or comment starting at ``i`` (``i`` itself when none starts there)."""
    if text.startswith(("#", "//"), i):
        j = text.find("\n", i)
        return len(text) if j < 0 else j
    if text.startswith("/*", i):
        j = text.find("*/", i + 2)
        return len(text) if j < 0 else j + 2
    if text.startswith("<<", i):
        m = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n").match(text, i)
        if m is not None:
            end = re.compile(rf"(?m)^[ \t]*{re.escape(m.group(1))}[ \t]*$").search(text, m.end())
            return len(text) if end is None else end.end()
    if text.startswith('"', i):
        j, depth = i + 1, 0
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text.startswith("${", j):
                depth += 1
            elif depth and text[j] == "}":
                depth -= 1
            elif not depth and text[j] == '"':
                return j + 1
            j += 1
        return len(text)
    return i


def matching(text: str, i: int) -> int:
    """Index of the bracket closing the one at ``i``."""
    pairs = {"{": "}", "[": "]", "(": ")"}
    stack = [pairs[text[i]]]
    j = i + 1
    while j < len(text) and stack:
        k = skip(text, j)
        if k != j:
            j = k
            continue
        c = text[j]
        if c in pairs:
            stack.append(pairs[c])
        elif c == stack[-1]:
            stack.pop()
            if not stack:
                return j
        j += 1
    return len(text) - 1


def _attrs(text: str, start: int, end: int) -> dict[str, tuple[int, int, int]]:
    """Attributes at the top of a block body ``[start, end)``: key -> (line start, value start, value end)."""
    out: dict[str, tuple[int, int, int]] = {}
    i = start
    while i < end:
        m = _ATTR.match(text, line_start(text, i)) if text[line_start(text, i) : i].strip() == "" else None
        if m is not None and m.start("key") == i:
            vstart = m.end()
            vend = matching(text, vstart) + 1 if text[vstart : vstart + 1] in "{[" else line_end(text, vstart) - 1
            out.setdefault(m.group("key"), (m.start(), vstart, vend))
            i = max(vend, i + 1)
            continue
        k = skip(text, i)
        if k != i:
            i = k
        elif text[i] in "{[(":
            i = matching(text, i) + 1
        else:
            i += 1
    return out


def migrate_bake(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    result = InvocationResult()
    if b"args" not in data:
        return result
    text = decode_text(data)
    ed = Editor(text)
    b = _Bake(text, display, newline_of(text), path.parent, ed, result)
    loose = "inherits" in text
    per_dockerfile = by_dockerfile(migrations)
    for m in _TARGET.finditer(text):
        open_ = m.end() - 1
        close = matching(text, open_)
        attrs = _attrs(text, open_ + 1, close)
        if "args" not in attrs:
            continue
        dockerfile = None if loose else _dockerfile(b, attrs)
        cov = Coverage.of(migrations) if dockerfile is None else Coverage.join(per_dockerfile.get(dockerfile, []))
        _target(b, m.group("name"), attrs, cov, dockerfile)
    return finish(result, text, ed)



def _string_attr(b: _Bake, attrs: dict[str, tuple[int, int, int]], key: str) -> str | None:
    if key not in attrs:
        return None
    _, s, e = attrs[key]
    m = _STRING_VALUE.fullmatch(b.text[s:e].strip())
    return m.group("s") if m is not None else "${"  # computed: not a path this can follow


def _dockerfile(b: _Bake, attrs: dict[str, tuple[int, int, int]]) -> Path | None:
    context = _string_attr(b, attrs, "context") or "."
    dockerfile = _string_attr(b, attrs, "dockerfile") or "Dockerfile"
    if "${" in context + dockerfile or "://" in context or "dockerfile-inline" in attrs:
        return None
    return Path(os.path.realpath(b.base / context / dockerfile))


def _entries(b: _Bake, s: int, e: int) -> list[tuple[int, int, str, str]] | None:
    """(line start, line end, NAME, value source) of each entry of an ``{ ... }`` object, one per line; None
    when the object is not written that way."""
    text = b.text
    if line_no(text, s) == line_no(text, e - 1):
        inner = text[s + 1 : e - 1].strip()
        return [] if not inner else None
    out = []
    for ls in _line_starts(text, line_end(text, s), line_start(text, e - 1)):
        line = text[ls : line_end(text, ls)].rstrip("\n")
        if not line.strip() or line.strip().startswith(("#", "//")):
            continue
        m = _ENTRY.match(line)
        if m is None or "," in m.group("value").rstrip(","):
            return None
        out.append((ls, line_end(text, ls), m.group("name"), m.group("value").rstrip(",").strip()))
    return out


def _line_starts(text: str, a: int, b: int) -> list[int]:
    out = []
    while a < b:
        out.append(a)
        a = line_end(text, a)
    return out


def _target(b: _Bake, name: str, attrs: dict[str, tuple[int, int, int]], cov: Coverage, df: Path | None) -> None:
    ls, s, e = attrs["args"]
    entries = _entries(b, s, e)
    if entries is None:
        for m in re.finditer(r"\"?([A-Za-z_][A-Za-z0-9_]*)\"?[ \t]*=", b.text[s:e]):
            if cov.action(m.group(1)) is not None:
                b.block(s + m.start(1), m.group(1), f"target {name}: args is not one entry per line", df)
        return
    secrets: list[str] = []
    gone: list[tuple[int, int]] = []
    for a, z, arg, value in entries:
        action = cov.action(arg)
        _redact(b, a, z, arg, value, action)
        if action is None:
            continue
        if action == "mixed":
            b.block(a, arg, cov.mixed_reason(arg), df)
            continue
        gone.append((a, z))
        at = a + len(b.text[a:z]) - len(b.text[a:z].lstrip(" \t"))
        if action != "secret":
            b.result.findings.append(finding(b.display, b.text, at, arg, KIND, f"target {name}: args entry {arg} "
                                             "has no ARG after the migration: removed"))
            continue
        sid, var = cov.id_of(arg), _variable(b, at, arg, value)
        secrets.append(f"id={sid},env={var}")
        b.result.build_flags.append(f"--secret id={sid},env={var}")
        b.result.findings.append(finding(b.display, b.text, at, arg, KIND,
                                         f"target {name}: args entry {arg} now reaches the build as secret {sid} "
                                         f"(read from environment variable {var})",
                                         fix=f'secret = ["id={sid},env={var}"]', value_class=_value_class(arg, value)))
    if gone:
        _write(b, attrs, entries, gone, secrets)


def _write(b: _Bake, attrs: dict[str, tuple[int, int, int]], entries: list[tuple[int, int, str, str]],
           gone: list[tuple[int, int]], secrets: list[str]) -> None:
    ls, s, e = attrs["args"]
    everything = len(gone) == len(entries)
    if everything:
        b.ed.delete(ls, line_end(b.text, e - 1))
    else:
        for a, z in gone:
            b.ed.delete(a, z)
    if not secrets:
        return
    ind = b.text[ls : ls + len(b.text[ls:]) - len(b.text[ls:].lstrip(" \t"))]
    items = ", ".join(f'"{x}"' for x in secrets)
    if "secret" not in attrs:
        at = ls if everything else line_end(b.text, e - 1)
        b.ed.insert(at, f"{ind}secret = [{items}]{b.nl}")
        return
    _, ss, se = attrs["secret"]
    close = se - 1
    if b.text[ss : ss + 1] != "[":
        b.block(ss, secrets[0].split(",")[0][3:], "secret is not a list this rewrite can extend", None)
        return
    if line_no(b.text, ss) == line_no(b.text, close):
        inner = b.text[ss + 1 : close].strip()
        b.ed.insert(close, (", " + items) if inner else items)
        return
    first = line_end(b.text, ss)
    item_ind = b.text[first : first + len(b.text[first:]) - len(b.text[first:].lstrip(" \t"))]
    prev = b.text[:close].rstrip()
    if not prev.endswith((",", "[")):
        b.ed.insert(len(prev), ",")
    b.ed.insert(line_start(b.text, close), "".join(f'{item_ind}"{x}",{b.nl}' for x in secrets))


def _variable(b: _Bake, at: int, arg: str, value: str) -> str:
    m = _VAR_REF.fullmatch(value)
    if m is not None and value not in ("null", "true", "false"):
        return m.group("v") or m.group("i")
    b.result.notes.append(f"{b.display}:{line_no(b.text, at)}: args entry {arg} had a value that is not a "
                          f"variable; the secret is now read from environment variable {arg}: set it where bake runs")
    return arg


def _value_class(arg: str, value: str) -> str:
    m = _STRING_VALUE.fullmatch(value)
    return literal_value_class(arg, m.group("s")) if m is not None and "${" not in value else ""


def _redact(b: _Bake, a: int, z: int, arg: str, value: str, action: str | None) -> None:
    m = _STRING_VALUE.fullmatch(value)
    if m is None or "${" in value:
        return
    start = b.text.find(value, a, z) + 1
    redact_literal(b.result, arg, m.group("s"), start, start + len(m.group("s")),
                   covered=action in ("secret", "runtime"))
