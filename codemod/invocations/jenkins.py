"""Jenkinsfiles: ``sh '...'``/``sh '''...'''``/``sh "..."`` steps and the Docker Pipeline plugin's
``docker.build("image", "--build-arg X=... .")``, and a declarative agent's ``additionalBuildArgs``.

A small Groovy lexer finds the string literals (comments skipped, GString ``${...}`` nesting followed); a
string that is the script of an ``sh`` step (``sh '...'``, ``sh(script: "...")``) is shell text, read as
the shell will get it (:func:`codemod.invocations.views.groovy_view`: Groovy's ``\\$`` is the shell's
``$``), and the second argument of ``docker.build`` is the options of a ``docker build``.

In a double-quoted string ``${NAME}``/``$NAME`` is Groovy's, written into the script before the shell runs:
``--secret id=...,env=NAME`` reads the environment instead, so NAME must be an environment variable of the
step (``environment { NAME = credentials(...) }``, ``withCredentials([string(..., variable: 'NAME')])``,
``withEnv``, ``env.NAME = ...``; ``${env.NAME}`` is one by its spelling); otherwise the producer is blocked.
A ``--build-arg`` of a migrated arg in any other string (a variable assembled for later, a ``bat`` step) is
a producer this rewrite cannot place: blocked too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from codemod.invocations.coverage import Coverage
from codemod.invocations.result import InvocationResult
from codemod.invocations.scripts import KIND, Rewrite, docker_blocked, literal_note, rewrite_options, rewrite_span
from codemod.invocations.text import Editor, block, decode_text, finish
from codemod.invocations.views import groovy_view
from codemod.model import DockerfileMigration

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ARG_NAME = re.compile(r"build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)")
_REF = re.compile(r"\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))")
_NOT_POSIX = ("bat", "powershell", "pwsh")


@dataclass
class Token:
    kind: str  # ident | string | punct
    start: int
    end: int
    text: str
    #: a string's quotes: ', ", ''', """
    quote: str = ""


@dataclass
class _Jf:
    text: str
    display: str
    cov: Coverage
    ed: Editor
    result: InvocationResult
    docker_blocked: str
    env_names: set[str] = field(default_factory=set)
    done: set[int] = field(default_factory=set)


def tokens(text: str) -> list[Token]:
    """Identifiers, string literals and punctuation of Groovy source (comments and numbers dropped)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c in "'\"":
            q = text[i : i + 3] if text.startswith(c * 3, i) else c
            end = _string_end(text, i + len(q), q)
            out.append(Token("string", i, end, text[i:end], q))
            i = end
        elif (m := _IDENT.match(text, i)) is not None:
            out.append(Token("ident", i, m.end(), m.group()))
            i = m.end()
        else:
            out.append(Token("punct", i, i + 1, c))
            i += 1
    return out


def _string_end(text: str, i: int, q: str) -> int:
    """Index past the closing quotes of a string whose content starts at ``i``."""
    n = len(text)
    depth = 0
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if q[0] == '"' and text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if depth and text[i] == "}":
            depth -= 1
        elif depth and text[i] in "'\"":
            inner = text[i : i + 3] if text.startswith(text[i] * 3, i) else text[i]
            i = _string_end(text, i + len(inner), inner)
            continue
        elif not depth and text.startswith(q, i):
            return i + len(q)
        elif not depth and len(q) == 1 and text[i] == "\n":
            return i  # an unterminated one-line string: stop at the line's end
        i += 1
    return n


def migrate_jenkinsfile(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]
                        ) -> InvocationResult:
    result = InvocationResult()
    if b"build-arg" not in data:
        return result
    text = decode_text(data)
    ed = Editor(text)
    j = _Jf(text, display, Coverage.of(migrations), ed, result, docker_blocked(text), _env_names(text))
    toks = tokens(text)
    for k, t in enumerate(toks):
        if t.kind != "ident":
            continue
        if t.text == "sh" or t.text in _NOT_POSIX:
            s = _step_script(toks, k + 1)
            if s is not None:
                _script(j, s, posix=t.text == "sh")
        elif t.text == "additionalBuildArgs" and k + 1 < len(toks) and toks[k + 1].kind == "string":
            _options(j, toks[k + 1])  # agent { dockerfile { additionalBuildArgs '--build-arg ...' } }
        elif t.text == "docker" and _is(toks, k + 1, ".") and _is(toks, k + 2, "build") and _is(toks, k + 3, "("):
            if len(toks) > k + 6 and toks[k + 4].kind == "string" and _is(toks, k + 5, ",") \
                    and toks[k + 6].kind == "string":
                _options(j, toks[k + 6])
    for t in toks:  # a --build-arg in any other string: a producer this rewrite cannot place
        if t.kind == "string" and t.start not in j.done:
            _block_strings(j, t, "a Groovy string that is not the script of an sh step or the options of "
                           "docker.build (a variable assembled for later, a concatenation)")
    return finish(result, text, ed)


def _is(toks: list[Token], k: int, text: str) -> bool:
    return k < len(toks) and toks[k].text == text and toks[k].kind != "string"


def _step_script(toks: list[Token], k: int) -> Token | None:
    """The script string of a step call starting at token ``k``: ``'...'``, ``('...')``, ``(script: '...')``,
    ``label: 'x', script: '...'``."""
    paren = _is(toks, k, "(")
    k += paren
    while k < len(toks):
        t = toks[k]
        if t.kind == "string":
            return t
        if t.kind == "ident" and _is(toks, k + 1, ":"):
            if t.text == "script" and k + 2 < len(toks) and toks[k + 2].kind == "string":
                return toks[k + 2]
            k += 3  # a named argument: skip its (simple) value
            while k < len(toks) and not _is(toks, k, ",") and not _is(toks, k, ")"):
                k += 1
            k += 1
            continue
        return None
    return None


def _content(t: Token) -> tuple[int, int]:
    q = len(t.quote)
    end = t.end - q if t.text.endswith(t.quote) and t.end - t.start >= 2 * q else t.end
    return t.start + q, end


def _script(j: _Jf, t: Token, *, posix: bool) -> None:
    j.done.add(t.start)
    if "build-arg" not in t.text:
        return
    if not posix:
        _block_strings(j, t, "a Windows bat/powershell step is not POSIX shell text this rewrite can edit")
        return
    start, end = _content(t)
    view = groovy_view(j.text, start, end, t.quote[0] == '"')
    if view is None:
        _block_strings(j, t, "the Groovy string holds an escape this rewrite cannot read")
        return
    rw = _rewrite(j, view, t)
    rewrite_span(rw, start, end)


def _options(j: _Jf, t: Token) -> None:
    j.done.add(t.start)
    if "build-arg" not in t.text:
        return
    start, end = _content(t)
    view = groovy_view(j.text, start, end, t.quote[0] == '"')
    if view is None:
        _block_strings(j, t, "the Groovy string holds an escape this rewrite cannot read")
        return
    rewrite_options(_rewrite(j, view, t), start, end, legacy=True)


def _rewrite(j: _Jf, view: str, t: Token) -> Rewrite:
    interpolating = t.quote[0] == '"'

    def resolve(rw: Rewrite, at: int, name: str, value: str) -> str | None:
        return _groovy_value(j, rw, at, name, value, interpolating)

    return Rewrite(view, j.display, KIND, "groovy", j.cov, j.ed, j.result, raw=j.text,
                   docker_blocked=j.docker_blocked, resolve=resolve)


def _groovy_value(j: _Jf, rw: Rewrite, at: int, name: str, value: str, interpolating: bool) -> str | None:
    m = _REF.fullmatch(value)
    if m is None:
        literal_note(rw, at, name)
        return name
    var = m.group("b") or m.group("p")
    if not interpolating:
        return var  # the shell's own variable
    raw = j.text[at : j.text.find("\n", at) if "\n" in j.text[at:] else len(j.text)]
    eq = raw.find("=")
    after = raw[eq + 1 :].lstrip("\"'")
    if after.startswith(("\\$", "${env.")) or var in j.env_names:
        return var  # the shell's $VAR (written \$VAR), env.VAR, or a variable the step's environment has
    rw.block(at, name, f"${{{var}}} is a Groovy value written into the script, not an environment variable "
             "the build can read (declare it in environment {} or withCredentials, or use \\$" + var + ")")
    return None


def _env_names(text: str) -> set[str]:
    """Names the steps' environment has: withCredentials variables, withEnv, env.X =, environment blocks."""
    names = set(re.findall(r"[Vv]ariable\s*:\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]", text))
    names |= set(re.findall(r"\benv\.([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]", text))
    for m in re.finditer(r"withEnv\s*\(\s*\[([^\]]*)\]", text):
        names |= set(re.findall(r"['\"]([A-Za-z_][A-Za-z0-9_]*)=", m.group(1)))
    for m in re.finditer(r"\benvironment\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        names |= set(re.findall(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", text[m.end() : i]))
    return names


def _block_strings(j: _Jf, t: Token, reason: str) -> None:
    for m in _ARG_NAME.finditer(t.text):
        if j.cov.action(m.group(1)) is not None:
            block(j.result, j.display, j.text, t.start + m.start(1), m.group(1), reason, KIND)
