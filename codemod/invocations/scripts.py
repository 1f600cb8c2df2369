"""``docker build --build-arg`` in shell text: Makefiles, scripts, workflow ``run:`` steps and every CI file's
script lines (formats.md section 2).

A ``--build-arg NAME=...`` for an ARG that became a build secret turns into
``--secret id=<id>,env=<V>``, V being the variable the old value expanded
(``$(V)``/``${V}`` in make, ``$$V``, ``$V``/``${V}``/``"$V"`` in shell,
``${{ secrets.V }}`` through the step's ``env:`` in a workflow), else NAME
(``--build-arg NAME`` read the variable NAME too). An explicit ``env=`` never
falls back to a file of the same name, which a bare ``id=`` would. Args whose
ARG the migration removed are dropped. Words come from :mod:`codemod.invocations.shellwords`.

A producer that cannot be rewritten is *blocked* (design.md section 3.5): a ``--build-arg`` outside a
command this rewrite knows (an array, a variable, another tool), kaniko (no build secrets), a docker build
under ``DOCKER_BUILDKIT=0`` (the legacy builder has no ``--secret``) or a docker older than 20.10 (no
env-sourced secrets). The run then keeps that secret as it was, in every file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codemod.invocations.coverage import NAME, Coverage, env_var_of, literal_value_class, redact_literal
from codemod.invocations.result import InvocationResult
from codemod.invocations.shellwords import Word, commands
from codemod.invocations.text import Editor, block, decode_text, finding, finish, line_no, line_start
from codemod.model import DockerfileMigration

KIND = "script-build-arg-secret"
_PROGRAMS = frozenset({"docker", "podman", "buildah"})
# $(DOCKER), ${CONTAINER_ENGINE}, $DOCKER_CLI: a variable naming the container CLI
_PROGRAM_VAR = re.compile(r"\$[({]?[A-Za-z_]*(?i:docker|podman|buildah|container|engine)[A-Za-z0-9_]*[)}]?")
_KANIKO = re.compile(r"(?:.*/)?(?:kaniko/)?executor")
_WRAPPERS = frozenset({"sudo", "env", "time", "exec", "command", "nice", "nohup"})
# reserved words that may start a simple command's line: `if x; then docker build ...`
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "{"})
# global options of docker/podman that take a separate value
_VALUE_OPTIONS = frozenset({"-H", "--host", "-c", "--context", "--config", "-l", "--log-level", "--tlscacert",
                            "--tlscert", "--tlskey", "--connection", "--url", "--root", "--runroot",
                            "--storage-driver", "--storage-opt", "--remote"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_DYNAMIC = re.compile(r"\[[@*]\]|\$[@*]|\$\{[@*]\}|\$[({]?[A-Za-z_0-9]*(?i:args|flags|opts|options)[A-Za-z0-9_]*[)}]?")
_CONTINUATION = re.compile(r"[ \t\0]*\\\r?\n")
_SPACES = re.compile(r"[ \t\0]*")
_BUILDKIT_WORD = re.compile(r"DOCKER_BUILDKIT=[\"']?(?P<v>[0-9]+)")
_BUILDKIT_OFF = re.compile(r"""\bDOCKER_BUILDKIT\b["']?[ \t]*(?:[:?+]?=|:)[ \t]*["']?0(?![0-9])""")
_OLD_DOCKER = re.compile(r"\bdocker:(?P<maj>1[0-9]|20)\.(?P<min>[0-9]+)|setup_remote_docker:\s*\n\s*version:\s*"
                         r"['\"]?(?P<cmaj>1[0-9]|20)\.(?P<cmin>[0-9]+)")
KANIKO_REASON = "kaniko has no build secrets (RUN --mount=type=secret needs BuildKit, buildah or podman)"


@dataclass
class Rewrite:
    """What one file (or one step of it) needs: the caller owns the editor and the step's ``env:``.

    ``text`` is what the lexer reads: the file's text, or a view of it of the same length
    (:mod:`codemod.invocations.views`); ``raw`` is the file's text, for line numbers.
    """

    text: str
    display: str
    kind: str
    mode: str  # shell | make | workflow | azure | groovy | remote
    cov: Coverage
    ed: Editor
    result: InvocationResult
    #: workflow step env: name -> value source; variables the rewrite needs added there
    step_env: dict[str, str] = field(default_factory=dict)
    env_needs: dict[str, str] = field(default_factory=dict)
    env_editable: bool = True
    secrets_emitted: int = 0
    raw: str = ""
    #: why no docker build of this text can take a secret ("" when it can): DOCKER_BUILDKIT=0, old docker
    docker_blocked: str = ""
    #: write DOCKER_BUILDKIT=1 before a ``docker build`` that gets a secret (CI whose docker defaults to the
    #: legacy builder: Bitbucket, Cloud Build, Travis)
    buildkit_prefix: bool = False
    #: maps a value's variable to the environment variable the build reads, or blocks (returns None)
    resolve: Callable[[Rewrite, int, str, str], str | None] | None = None

    def __post_init__(self) -> None:
        if not self.raw:
            self.raw = self.text

    def note(self, index: int, message: str) -> None:
        self.result.notes.append(f"{self.display}:{line_no(self.raw, index)}: {message}")

    def add(self, index: int, variable: str, message: str, *, fixable: bool = True, fix: str = "",
            value_class: str = "") -> None:
        self.result.findings.append(finding(self.display, self.raw, index, variable, self.kind, message,
                                            fixable=fixable, fix=fix, value_class=value_class))

    def block(self, index: int, name: str, reason: str) -> None:
        block(self.result, self.display, self.raw, index, name, reason, self.kind)


def is_makefile(path: Path) -> bool:
    return path.name in ("Makefile", "makefile", "GNUmakefile") or path.name.endswith(".mk")


def migrate_script(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    result = InvocationResult()
    if b"build-arg" not in data:
        return result
    text = decode_text(data)
    ed = Editor(text)
    rw = Rewrite(text, display, KIND, "make" if is_makefile(path) else "shell", Coverage.of(migrations), ed, result,
                 docker_blocked=docker_blocked(text))
    rewrite_span(rw, 0, len(text))
    return finish(result, text, ed)


def docker_blocked(text: str) -> str:
    """Why a ``docker build`` in this file cannot take a secret: ``DOCKER_BUILDKIT=0`` somewhere in it (the
    legacy builder has no ``--secret``), or a pinned docker older than 20.10 (no ``env=`` secrets)."""
    for off in _BUILDKIT_OFF.finditer(text):
        nl = text.find("\n", off.end())
        rest = text[off.end() : len(text) if nl < 0 else nl]
        if rest.strip(" \t\r\"'") and not rest.lstrip(" \t\"'").startswith(("#", ";", "&&", "\\")):
            continue  # `DOCKER_BUILDKIT=0 docker build ...`: that command's own, judged where it stands
        return (f"DOCKER_BUILDKIT=0 (line {line_no(text, off.start())}) selects the legacy builder, which has "
                "no --secret")
    for m in _OLD_DOCKER.finditer(text):
        major, minor = int(m.group("maj") or m.group("cmaj")), int(m.group("min") or m.group("cmin"))
        if (major, minor) < (20, 10):
            return (f"docker {major}.{minor} (line {line_no(text, m.start())}) is older than 20.10, whose "
                    "--secret cannot read an environment variable")
    return ""


# -- docker build commands ------------------------------------------------------------------------


def _program(words: list[Word]) -> int | None:
    """Index of the program word, past assignments, wrappers and reserved words."""
    i = 0
    wrapped = False
    while i < len(words):
        w = words[i].bare.lstrip("@-+") if i == 0 else words[i].bare
        if w in _WRAPPERS:
            wrapped = True
        elif not (_ASSIGNMENT.match(w) or w in _KEYWORDS or (wrapped and w.startswith("-"))):
            break
        i += 1
    return i if i < len(words) else None


def build_options_start(words: list[Word]) -> int | None:
    """Index of the first word after ``docker [buildx|image|builder] build`` (or podman/buildah), else None."""
    i = _program(words)
    if i is None:
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


def _legacy_docker(words: list[Word], first: int) -> int | None:
    """The program word's index when the command is ``docker build``/``docker image build`` (the builder
    DOCKER_BUILDKIT picks), not buildx, podman or buildah."""
    i = _program(words)
    if i is None:
        return None
    prog = words[i].bare.lstrip("@-+") if i == 0 else words[i].bare
    name = prog.rsplit("/", 1)[-1]
    if name in ("podman", "buildah") or (name != "docker" and not re.search(r"(?i)docker", prog)):
        return None
    if any(w.bare == "buildx" for w in words[i + 1 : first]):
        return None
    return i


def is_kaniko(words: list[Word]) -> bool:
    i = _program(words)
    return i is not None and _KANIKO.fullmatch(words[i].bare.lstrip("@-+")) is not None


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
        if first is not None:
            _build_command(rw, words, first)
        elif is_kaniko(words):
            _blocked_command(rw, words, KANIKO_REASON)
        else:
            _outside_build(rw, words)


def rewrite_options(rw: Rewrite, start: int, end: int, *, legacy: bool) -> None:
    """Text that is only the options of a build command (Azure Docker@2 ``arguments``); ``legacy``: the
    command is ``docker build``, which DOCKER_BUILDKIT=0 turns to the legacy builder."""
    for words in commands(rw.text, start, end, make=False):
        _build_command(rw, words, 0, legacy=legacy)


def build_arg_words(words: list[Word], first: int) -> list[tuple[int, int, Word, int]]:
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


def _named_args(words: list[Word], first: int) -> list[tuple[str, int]]:
    """(NAME, index of NAME) of each build arg whose name can be read."""
    out = []
    for _, _, word, off in build_arg_words(words, first):
        parsed = split_arg(word.text[off:])
        if parsed is not None and NAME.fullmatch(parsed[0]):
            out.append((parsed[0], word.start + off))
    return out


def _outside_build(rw: Rewrite, words: list[Word]) -> None:
    for name, at in _named_args(words, 0):
        if rw.cov.action(name) is not None:
            rw.block(at, name, "not part of a docker, podman or buildah build command this tool can rewrite "
                     "(an array, a variable or another tool)")
        elif rw.cov.report_uncovered(name):
            rw.add(at, name, f"--build-arg {name} passes a secret into a build, and no migrated Dockerfile covers "
                   "it: its value is recorded in the image", fixable=False)


def _blocked_command(rw: Rewrite, words: list[Word], reason: str) -> None:
    for name, at in _named_args(words, 0):
        if rw.cov.action(name) is not None:
            rw.block(at, name, reason)


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


def _why_blocked(rw: Rewrite, words: list[Word], first: int, options_only: bool) -> str:
    """Why this command cannot take secrets ("" when it can)."""
    if options_only:
        return rw.docker_blocked
    legacy = _legacy_docker(words, first)
    if legacy is None:
        return ""
    for w in words[:legacy]:
        m = _BUILDKIT_WORD.match(w.bare)
        if m is not None:
            return "" if m.group("v") != "0" else "DOCKER_BUILDKIT=0 selects the legacy builder, which has no --secret"
    return rw.docker_blocked


def _build_command(rw: Rewrite, words: list[Word], first: int, *, legacy: bool = False) -> None:
    if rw.cov:
        for w in words[first:]:
            if _DYNAMIC.search(w.text):
                rw.note(w.start, f"docker build takes arguments from {w.text}: build args passed that way are "
                        "left alone; check them by hand")
    why = _why_blocked(rw, words, first, legacy)
    have = _secret_ids(words, first)
    removals: list[tuple[int, int]] = []
    emitted = 0
    for k_flag, k_last, word, off in build_arg_words(words, first):
        parsed = split_arg(word.text[off:])
        if parsed is None or not NAME.fullmatch(parsed[0]):
            if rw.cov:
                rw.note(word.start, f"--build-arg {word.text[off:]} is built at run time: left alone")
            continue
        name, raw, single = parsed
        at = word.start + off
        action = rw.cov.action(name)
        _redact(rw, word, off, name, raw, single, action)
        if action is None:
            if rw.cov.report_uncovered(name):
                rw.add(at, name, f"--build-arg {name} passes a secret into the build, and no migrated Dockerfile "
                       "covers it: its value is recorded in the image", fixable=False,
                       value_class=_literal_class(name, raw, single))
            continue
        if action == "mixed" or (why and action == "secret"):
            rw.block(at, name, rw.cov.mixed_reason(name) if action == "mixed" else why)
            continue
        if action != "secret":
            removals.append((k_flag, k_last))
            if action == "runtime":
                rw.add(at, name, f"--build-arg {name} fed a runtime secret into the image, which no longer has "
                       f"the ARG: removed; pass {name} when the container runs (docker run -e, env file)")
            else:
                rw.add(at, name, f"--build-arg {name} has no ARG after the migration: removed")
            continue
        done = _to_secret(rw, words, (k_flag, k_last), at, name, raw, single, have)
        if done == "dup":
            removals.append((k_flag, k_last))
        emitted += done == "new"
    for a, b in _merge(removals):
        rw.ed.delete(*_removal_span(rw.text, words, a, b))
    if emitted and rw.buildkit_prefix and not legacy:
        _prefix_buildkit(rw, words, first)


def _to_secret(rw: Rewrite, words: list[Word], flag: tuple[int, int], at: int, name: str, raw: str | None,
               single: bool, have: set[str]) -> str:
    """Rewrite one build arg as ``--secret``: ``new``, ``dup`` (the id is passed already: drop it) or ``""``."""
    sid = rw.cov.id_of(name)
    var = _variable(rw, at, name, raw, single)
    if var is None:
        return ""
    secret = f"--secret id={sid},env={var}"
    rw.result.build_flags.append(secret)
    rw.add(at, name, f"--build-arg {name} now reaches the build as secret {sid} (read from environment "
           f"variable {var})", fix=secret, value_class=_literal_class(name, raw, single))
    if sid in have:
        return "dup"
    have.add(sid)
    rw.secrets_emitted += 1
    k_flag, k_last = flag
    if k_flag == k_last:
        rw.ed.replace(words[k_flag].start, words[k_flag].end, f"--secret=id={sid},env={var}")
    else:
        rw.ed.replace(words[k_flag].start, words[k_flag].end, "--secret")
        rw.ed.replace(words[k_last].start, words[k_last].end, f"id={sid},env={var}")
    return "new"


def _prefix_buildkit(rw: Rewrite, words: list[Word], first: int) -> None:
    legacy = _legacy_docker(words, first)
    if legacy is None or any(_BUILDKIT_WORD.match(w.bare) for w in words[:legacy]):
        return
    rw.ed.insert(words[legacy].start, "DOCKER_BUILDKIT=1 ")
    rw.note(words[legacy].start, "DOCKER_BUILDKIT=1 added: this CI's docker builds with the legacy builder by "
            "default, which has no --secret")


def _redact(rw: Rewrite, word: Word, off: int, name: str, raw: str | None, single: bool, action: str | None) -> None:
    if raw is None:
        return
    value = raw.replace("'", "") if single else raw.replace('"', "")
    vstart, vend = word.end - len(raw), word.end
    if len(raw) >= 2 and raw[0] in "\"'" and raw[-1] == raw[0]:  # NAME="value"
        vstart, vend = vstart + 1, vend - 1
    elif raw and raw[-1] in "\"'" and word.text[off : off + 1] == raw[-1]:  # "NAME=value"
        vend -= 1
    redact_literal(rw.result, name, value, vstart, vend, covered=action in ("secret", "runtime"))


def _literal_class(name: str, raw: str | None, single: bool) -> str:
    if raw is None:
        return ""
    value = raw.replace('"', "") if not single else raw.replace("'", "")
    if "$" in value and not single:
        return ""
    return literal_value_class(name, value)


def _variable(rw: Rewrite, at: int, name: str, raw: str | None, single: bool) -> str | None:
    """The environment variable the secret is now read from; None when the producer is blocked instead."""
    if raw is None:
        return name
    value = raw if single else raw.replace('"', "")
    if rw.resolve is not None and not single:
        return rw.resolve(rw, at, name, value)
    mode = "workflow" if rw.mode in ("workflow", "remote") else "make" if rw.mode == "make" else "shell"
    var, how = (None, "literal") if single else env_var_of(value, mode)
    if how == "make" and var is not None:
        _check_make_export(rw, at, var)
        return var
    if how in ("var", "env") and var is not None:
        return var
    if how in ("secrets", "expr") and rw.mode in ("workflow", "remote"):
        return step_env_need(rw, at, name, var if how == "secrets" else None, value)
    literal_note(rw, at, name)
    return name


def literal_note(rw: Rewrite, at: int, name: str) -> None:
    rw.note(at, f"--build-arg {name} had a value that is not a variable reference; the secret is now read from "
            f"environment variable {name}: export it before the build")


def step_env_need(rw: Rewrite, at: int, name: str, var: str | None, value: str) -> str | None:
    """The secret comes through the step's ``env:`` as ``var`` (else ``name``) = ``value``; None (blocked)
    when that env cannot be extended or already says something else."""
    target = var if var is not None else name
    have = rw.step_env.get(target)
    if have is not None and _norm(have) != _norm(value) or (have is None and not rw.env_editable):
        why = "already sets it to something else" if have is not None else "cannot be extended"
        rw.block(at, name, f"the step's env needs {target}, but {why}")
        return None
    if have is None:
        rw.env_needs.setdefault(target, value)
    return target


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
    if text[ls:start].strip(" \t\0") == "" and cont is not None:
        return ls, cont.end()  # the whole continuation line
    after = _SPACES.match(text, stop)
    nxt = after.end() if after is not None else stop
    if nxt < len(text) and text[nxt] not in "\r\n" and b + 1 < len(words):
        return start, nxt  # more words follow on this line
    if a > 0:
        return words[a - 1].end, stop  # last words of the command: take the space (and continuation) before
    return start, nxt
