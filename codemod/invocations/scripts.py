"""``docker build --build-arg`` in Makefiles, shell scripts and workflow ``run:`` steps (formats.md section 2).

A ``--build-arg NAME=...`` for an ARG that became a build secret turns into
``--secret id=<id>,env=<V>``, V being the variable the old value expanded
(``$(V)``/``${V}`` in make, ``$$V``, ``$V``/``${V}``/``"$V"`` in shell,
``${{ secrets.V }}`` through the step's ``env:`` in a workflow), else NAME
(``--build-arg NAME`` read the variable NAME too). An explicit ``env=`` never
falls back to a file of the same name, which a bare ``id=`` would. Args whose
ARG the migration removed are dropped. Words are found with a small shell
lexer (quotes, ``$(...)``, ``${...}``, ``${{ ... }}``, continuations, comments,
heredocs); anything built at run time (``"${ARGS[@]}"``, ``--build-arg "$X"``,
an array or variable assembled earlier) is left alone and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from codemod.invocations.common import (
    NAME,
    Coverage,
    Editor,
    buildkit_disabled_lines,
    decode_text,
    env_var_of,
    finding,
    finish,
    line_no,
    line_start,
    literal_value_class,
    redact_literal,
    secret_flag,
    strong_secret_name,
)
from codemod.invocations.result import InvocationResult
from codemod.model import DockerfileMigration

KIND = "script-build-arg-secret"
_PROGRAMS = frozenset({"docker", "podman", "buildah"})
# $(DOCKER), ${CONTAINER_ENGINE}, $DOCKER_CLI: a variable naming the container CLI
_PROGRAM_VAR = re.compile(r"\$[({]?[A-Za-z_]*(?i:docker|podman|buildah|container|engine)[A-Za-z0-9_]*[)}]?")
_WRAPPERS = frozenset({"sudo", "env", "time", "exec", "command", "nice", "nohup"})
# reserved words that may start a simple command's line: `if x; then docker build ...`
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "{"})
# global options of docker/podman that take a separate value
_VALUE_OPTIONS = frozenset({"-H", "--host", "-c", "--context", "--config", "-l", "--log-level", "--tlscacert",
                            "--tlscert", "--tlskey", "--connection", "--url", "--root", "--runroot",
                            "--storage-driver", "--storage-opt", "--remote"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_DYNAMIC = re.compile(r"\[[@*]\]|\$[@*]|\$\{[@*]\}|\$[({]?[A-Za-z_0-9]*(?i:args|flags|opts|options)[A-Za-z0-9_]*[)}]?")
_CONTINUATION = re.compile(r"[ \t]*\\\r?\n")
_SPACES = re.compile(r"[ \t]*")


@dataclass
class Word:
    start: int
    end: int
    text: str

    @property
    def bare(self) -> str:
        """The word without quotes around all of it (``"--build-arg"`` -> ``--build-arg``)."""
        t = self.text
        if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
            return t[1:-1]
        return t


@dataclass
class Rewrite:
    """What one file (or one ``run:`` step) needs: the caller owns the editor and the step's ``env:``."""

    text: str
    display: str
    kind: str
    mode: str  # shell | make | workflow
    cov: Coverage
    ed: Editor
    result: InvocationResult
    #: workflow step env: name -> value source; variables the rewrite needs added there
    step_env: dict[str, str] = field(default_factory=dict)
    env_needs: dict[str, str] = field(default_factory=dict)
    env_editable: bool = True
    secrets_emitted: int = 0

    def note(self, index: int, message: str) -> None:
        self.result.notes.append(f"{self.display}:{line_no(self.text, index)}: {message}")

    def add(self, index: int, variable: str, message: str, *, fixable: bool = True, fix: str = "",
            value_class: str = "") -> None:
        self.result.findings.append(finding(self.display, self.text, index, variable, self.kind, message,
                                            fixable=fixable, fix=fix, value_class=value_class))


def is_makefile(path: Path) -> bool:
    return path.name in ("Makefile", "makefile", "GNUmakefile") or path.name.endswith(".mk")


def migrate_script(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    result = InvocationResult()
    if b"--build-arg" not in data:
        return result
    text = decode_text(data)
    ed = Editor(text)
    rw = Rewrite(text, display, KIND, "make" if is_makefile(path) else "shell", Coverage.of(migrations), ed, result)
    rewrite_span(rw, 0, len(text))
    warn_buildkit_off(rw)
    return finish(result, text, ed)


def warn_buildkit_off(rw: Rewrite) -> None:
    if not rw.secrets_emitted:
        return
    for line in buildkit_disabled_lines(rw.text):
        rw.result.notes.append(f"{rw.display}:{line}: DOCKER_BUILDKIT=0 selects the legacy builder, which has no "
                               "--secret: the build fails until it is removed")


# -- lexing ---------------------------------------------------------------------------------------


def commands(text: str, start: int, end: int, *, make: bool) -> list[list[Word]]:
    """Simple commands (lists of words with their spans) of a shell text; continuations join lines."""
    out: list[list[Word]] = []
    words: list[Word] = []
    heredocs: list[tuple[str, bool]] = []
    wstart: int | None = None
    i = start

    def flush(j: int) -> None:
        nonlocal wstart
        if wstart is not None:
            words.append(Word(wstart, j, text[wstart:j]))
            wstart = None

    def end_command(j: int) -> None:
        nonlocal words
        flush(j)
        if words:
            out.append(words)
        words = []

    while i < end:
        c = text[i]
        if c == "\\":
            if text.startswith("\n", i + 1) or text.startswith("\r\n", i + 1):
                flush(i)
                i += 2 if text[i + 1] == "\n" else 3
                continue
            if wstart is None:
                wstart = i
            i += 2
            continue
        if c in " \t\r":
            flush(i)
            i += 1
            continue
        if c == "\n":
            end_command(i)
            i += 1
            if heredocs:
                i = _skip_heredocs(text, i, end, heredocs)
                heredocs = []
            continue
        if c == "#" and wstart is None:
            nl = text.find("\n", i, end)
            i = end if nl < 0 else nl
            continue
        if c in ";|()" or (c == "&" and not (i > start and text[i - 1] in "<>") and not text.startswith("&>", i)):
            end_command(i)
            i += 1
            continue
        if c == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            flush(i)
            i, delim, strip = _heredoc_delimiter(text, i + 2, end)
            if delim:
                heredocs.append((delim, strip))
            continue
        if wstart is None:
            wstart = i
        if c == "'":
            j = text.find("'", i + 1, end)
            i = end if j < 0 else j + 1
        elif c == '"':
            i = _skip_dquote(text, i + 1, end, make)
        elif c == "`":
            i = _skip_backtick(text, i + 1, end)
        elif c == "$":
            i = _skip_dollar(text, i, end, make)
        else:
            i += 1
    end_command(end)
    return out


def _skip_dquote(text: str, i: int, end: int, make: bool) -> int:
    while i < end:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "$":
            i = _skip_dollar(text, i, end, make)
        elif c == "`":
            i = _skip_backtick(text, i + 1, end)
        else:
            i += 1
    return end


def _skip_backtick(text: str, i: int, end: int) -> int:
    while i < end:
        if text[i] == "\\":
            i += 2
        elif text[i] == "`":
            return i + 1
        else:
            i += 1
    return end


def _skip_dollar(text: str, i: int, end: int, make: bool) -> int:
    j = i + 1
    if make and text.startswith("$", j):
        j += 1  # make's $$ is the shell's $
    if j >= end:
        return end
    if text.startswith("{{", j):
        k = text.find("}}", j + 2, end)
        return end if k < 0 else k + 2
    if text[j] in "({":
        return _skip_group(text, j, end, make)
    return j


def _skip_group(text: str, i: int, end: int, make: bool) -> int:
    close = {"(": ")", "{": "}"}
    stack = [close[text[i]]]
    i += 1
    while i < end and stack:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and stack[-1] == ")":
            j = text.find("'", i + 1, end)
            i = end if j < 0 else j + 1
            continue
        if c == '"':
            i = _skip_dquote(text, i + 1, end, make)
            continue
        if c in close:
            stack.append(close[c])
        elif c == stack[-1]:
            stack.pop()
        i += 1
    return i


def _heredoc_delimiter(text: str, i: int, end: int) -> tuple[int, str, bool]:
    strip = text.startswith("-", i)
    if strip:
        i += 1
    while i < end and text[i] in " \t":
        i += 1
    m = re.compile(r"""(['"]?)([A-Za-z0-9_.-]+)\1""").match(text, i, end)
    if m is None:
        return i, "", strip
    return m.end(), m.group(2), strip


def _skip_heredocs(text: str, i: int, end: int, heredocs: list[tuple[str, bool]]) -> int:
    for delim, _ in heredocs:
        while i < end:
            nl = text.find("\n", i, end)
            stop = end if nl < 0 else nl + 1
            # inside a YAML run block every line carries the block's indentation: compare stripped
            done = text[i:stop].strip() == delim
            i = stop
            if done:
                break
    return i


# -- docker build commands ------------------------------------------------------------------------


def build_options_start(words: list[Word]) -> int | None:
    """Index of the first word after ``docker [buildx|image|builder] build`` (or podman/buildah), else None."""
    i = 0
    wrapped = False
    while i < len(words):
        w = words[i].bare.lstrip("@-+") if i == 0 else words[i].bare
        if w in _WRAPPERS:
            wrapped = True
        elif not (_ASSIGNMENT.match(w) or w in _KEYWORDS or (wrapped and w.startswith("-"))):
            break
        i += 1
    if i >= len(words):
        return None
    prog = words[i].bare.lstrip("@-+") if i == 0 else words[i].bare
    if prog.rsplit("/", 1)[-1] not in _PROGRAMS and not _PROGRAM_VAR.fullmatch(prog):
        return None
    i += 1
    expect_build = False
    while i < len(words):
        w = words[i].bare
        if w.startswith("-"):
            i += 2 if w in _VALUE_OPTIONS else 1
            continue
        if w in ("build", "bud"):
            return i + 1
        if w in ("buildx", "image", "builder") and not expect_build:
            expect_build = True
            i += 1
            continue
        return None
    return None


def split_arg(word: str) -> tuple[str, str | None, bool] | None:
    """(NAME, raw value or None for ``--build-arg NAME``, single-quoted) of a build-arg word; None if dynamic."""
    name: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(word):
        c = word[i]
        if quote is None and c in "\"'":
            quote = c
        elif quote is not None and c == quote:
            quote = None
        elif c == "=":
            value = word[i + 1 :]
            return "".join(name), value, quote == "'" or "'" in value
        elif c in "$`\\":
            return None
        else:
            name.append(c)
        i += 1
    return "".join(name), None, False


def rewrite_span(rw: Rewrite, start: int, end: int) -> None:
    for words in commands(rw.text, start, end, make=rw.mode == "make"):
        first = build_options_start(words)
        if first is None:
            _outside_build(rw, words)
        else:
            _build_command(rw, words, first)


def _build_arg_words(words: list[Word], first: int) -> list[tuple[int, int, Word, int]]:
    """(index of the flag word, index of the last word, the arg as a word, offset of NAME=... in it)."""
    out: list[tuple[int, int, Word, int]] = []
    k = first
    while k < len(words):
        w = words[k].bare
        if w == "--build-arg" and k + 1 < len(words):
            out.append((k, k + 1, words[k + 1], 0))
            k += 2
            continue
        if words[k].text.startswith("--build-arg="):
            out.append((k, k, words[k], len("--build-arg=")))
        k += 1
    return out


def _outside_build(rw: Rewrite, words: list[Word]) -> None:
    for _, _, word, off in _build_arg_words(words, 0):
        parsed = split_arg(word.text[off:])
        if parsed is None or not NAME.fullmatch(parsed[0]):
            continue
        name = parsed[0]
        at = word.start + off
        if rw.cov.action(name) is not None:
            rw.add(at, name, f"--build-arg {name} is not part of a docker build command this tool can rewrite "
                   "(an array, a variable or another tool): change it by hand", fixable=False)
            rw.note(at, f"--build-arg {name} outside a docker build command left alone")
        elif strong_secret_name(name):
            rw.add(at, name, f"--build-arg {name} passes a secret into a build, and no migrated Dockerfile covers "
                   "it: its value is recorded in the image", fixable=False)


def _secret_ids(words: list[Word], first: int) -> set[str]:
    ids: set[str] = set()
    for k in range(first, len(words)):
        w = words[k].bare
        spec = None
        if w == "--secret" and k + 1 < len(words):
            spec = words[k + 1].bare
        elif w.startswith("--secret="):
            spec = w[len("--secret=") :]
        if spec:
            for part in spec.split(","):
                key, _, value = part.partition("=")
                if key.strip() == "id":
                    ids.add(value.strip())
    return ids


def _build_command(rw: Rewrite, words: list[Word], first: int) -> None:
    if rw.cov:
        for w in words[first:]:
            if _DYNAMIC.search(w.text):
                rw.note(w.start, f"docker build takes arguments from {w.text}: build args passed that way are "
                        "left alone; check them by hand")
    have = _secret_ids(words, first)
    removals: list[tuple[int, int]] = []
    for k_flag, k_last, word, off in _build_arg_words(words, first):
        parsed = split_arg(word.text[off:])
        if parsed is None or not NAME.fullmatch(parsed[0]):
            if rw.cov:
                rw.note(word.start, f"--build-arg {word.text[off:]} is built at run time: left alone")
            continue
        name, raw, single = parsed
        at = word.start + off
        action = rw.cov.action(name)
        if raw is not None:
            value = raw.replace("'", "") if single else raw.replace('"', "")
            vstart, vend = word.end - len(raw), word.end
            if len(raw) >= 2 and raw[0] in "\"'" and raw[-1] == raw[0]:  # NAME="value"
                vstart, vend = vstart + 1, vend - 1
            elif raw[-1:] in "\"'" and word.text[off : off + 1] == raw[-1]:  # "NAME=value"
                vend -= 1
            redact_literal(rw.result, name, value, vstart, vend, covered=action in ("secret", "runtime"))
        if action is None:
            if strong_secret_name(name):
                rw.add(at, name, f"--build-arg {name} passes a secret into the build, and no migrated Dockerfile "
                       "covers it: its value is recorded in the image", fixable=False,
                       value_class=_literal_class(rw, name, raw, single))
            continue
        if action != "secret":
            removals.append((k_flag, k_last))
            if action == "runtime":
                rw.add(at, name, f"--build-arg {name} fed a runtime secret into the image, which no longer has "
                       f"the ARG: removed; pass {name} when the container runs (docker run -e, env file)")
            else:
                rw.add(at, name, f"--build-arg {name} has no ARG after the migration: removed")
            continue
        sid = rw.cov.id_of(name)
        var = _variable(rw, at, name, raw, single)
        if var is None:
            continue
        flag = secret_flag(sid, var)
        rw.result.build_flags.append(flag)
        rw.add(at, name, f"--build-arg {name} now reaches the build as secret {sid} (read from environment "
               f"variable {var})", fix=flag, value_class=_literal_class(rw, name, raw, single))
        if sid in have:
            removals.append((k_flag, k_last))
            continue
        have.add(sid)
        rw.secrets_emitted += 1
        if k_flag == k_last:
            rw.ed.replace(words[k_flag].start, words[k_flag].end, f"--secret=id={sid},env={var}")
        else:
            rw.ed.replace(words[k_flag].start, words[k_flag].end, "--secret")
            rw.ed.replace(word.start, word.end, f"id={sid},env={var}")
    for a, b in _merge(removals):
        rw.ed.delete(*_removal_span(rw.text, words, a, b))


def _literal_class(rw: Rewrite, name: str, raw: str | None, single: bool) -> str:
    if raw is None:
        return ""
    value = raw.replace('"', "") if not single else raw.replace("'", "")
    if "$" in value and not single:
        return ""
    return literal_value_class(name, value)


def _variable(rw: Rewrite, at: int, name: str, raw: str | None, single: bool) -> str | None:
    if raw is None:
        return name
    value = raw if single else raw.replace('"', "")
    var, how = (None, "literal") if single else env_var_of(value, rw.mode)
    if how == "make" and var is not None:
        _check_make_export(rw, at, var)
        return var
    if how == "var" and var is not None:
        return var
    if how in ("secrets", "expr") and rw.mode == "workflow":
        target = var if how == "secrets" and var is not None else name
        have = rw.step_env.get(target)
        if have is not None and _norm(have) != _norm(value) or (have is None and not rw.env_editable):
            why = "already sets it to something else" if have is not None else "cannot be extended"
            rw.add(at, name, f"--build-arg {name}: the step's env needs {target}, but {why}; "
                   "pass the secret by hand", fixable=False)
            return None
        if have is None:
            rw.env_needs.setdefault(target, value)
        return target
    if how == "env" and var is not None:
        return var
    rw.note(at, f"--build-arg {name} had a value that is not a variable reference; the secret is now read from "
            f"environment variable {name}: export it before the build")
    return name


def _norm(expr: str) -> str:
    return re.sub(r"\s+", "", expr.strip().strip("\"'"))


def _check_make_export(rw: Rewrite, at: int, var: str) -> None:
    text = rw.text
    v = re.escape(var)
    assigned = re.search(rf"^(?!\t)[ ]*(?:override[ \t]+)?{v}[ \t]*(?:::=|:::=|:=|\?=|\+=|!=|=)", text, re.M)
    exported = re.search(rf"^(?!\t)[ ]*(?:override[ \t]+)?export[ \t]+(?:[^\n=]*[ \t])?{v}\b", text, re.M)
    if assigned and not exported and ".EXPORT_ALL_VARIABLES" not in text:
        rw.note(at, f"make variable {var} is set in the Makefile but not exported: add `export {var}` so "
                "docker build can read it")


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a == out[-1][1] + 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _removal_span(text: str, words: list[Word], a: int, b: int) -> tuple[int, int]:
    """Bytes to delete so that words[a..b] go and the command stays well formed."""
    start, stop = words[a].start, words[b].end
    ls = line_start(text, start)
    cont = _CONTINUATION.match(text, stop)
    if text[ls:start].strip(" \t") == "" and cont is not None:
        return ls, cont.end()  # the whole continuation line
    after = _SPACES.match(text, stop)
    nxt = after.end() if after is not None else stop
    if nxt < len(text) and text[nxt] not in "\r\n" and b + 1 < len(words):
        return start, nxt  # more words follow on this line
    if a > 0:
        return words[a - 1].end, stop  # last words of the command: take the space (and continuation) before
    return start, nxt
