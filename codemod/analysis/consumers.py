"""Who consumes a secret (design.md section 3, "Consumers"): each RUN in scope, and how it reads it.

A RUN reads a variable (a) by name (``$X``, ``${X...}``, exec form, heredoc body), (b) through a tool
known to read it by itself (:data:`codemod.analysis.catalogue.READERS`), or (c) possibly: it runs code
the tool cannot see into. Only a RUN made of inert commands alone (:data:`~codemod.analysis.catalogue.INERT`)
consumes nothing it does not name. A RUN that writes the secret into a file of its layer *persists*
it (:func:`persisted`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from codemod.analysis.catalogue import (
    BUILD_CREDENTIAL_FILE,
    CONSTRUCTS,
    INERT,
    PASS_THROUGH,
    READERS,
    RESERVED,
    SHELLS,
    WRAPPERS,
    WRITERS,
    Writer,
)
from codemod.analysis.contextfiles import ContextFiles
from codemod.analysis.shell import Command, split_commands
from codemod.dockerfile.scanner import Instruction


class Mode(IntEnum):
    """How a RUN reads a variable, weakest first."""

    NONE = 0
    POSSIBLE = 1  # runs code the tool cannot see into
    TOOL = 2  # a tool known to read it by itself
    NAME = 3  # names it


@dataclass(frozen=True)
class Read:
    mode: Mode
    why: str  # for reports: "names it", "npm reads it through .npmrc", "runs `npm run build`"


NO_READ = Read(Mode.NONE, "")


def run_commands(ins: Instruction) -> list[Command] | None:
    """The simple commands a RUN (or ONBUILD RUN) runs; None when they cannot be read."""
    if ins.json:
        return [_exec_command(ins.value)]
    if ins.heredocs:
        out: list[Command] = []
        line = split_commands(ins.value[0] if ins.value else "")
        if line is None:
            return None
        stdin_script = all(not c.words for c in line) or any(_program(c)[0] in SHELLS for c in line)
        out.extend(c for c in line if c.words)
        for h in ins.heredocs:
            body = split_commands(h.content)
            if body is None:
                return None
            if stdin_script:
                out.extend(body)
        return out
    return split_commands(ins.value[0] if ins.value else "")


def _exec_command(argv: list[str]) -> Command:
    from codemod.analysis.shell import Word

    return Command(words=[Word(a, a) for a in argv])


def _program(cmd: Command) -> tuple[str, list[str]]:
    """The program a simple command runs and its arguments, past reserved words and wrappers."""
    words = cmd.argv
    k = 0
    while k < len(words) and words[k] in RESERVED:
        k += 1
    while k < len(words):
        w = words[k]
        base = w.rsplit("/", 1)[-1] if w.startswith("/") else w
        if base in WRAPPERS:
            k += 1
            while k < len(words) and (words[k].startswith("-") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[k])):
                k += 2 if words[k] in ("-u", "-g", "--user", "-n", "-s") else 1
            continue
        return (base if w.startswith("/") else w), words[k + 1 :]
    return "", []


def dumps_environment(cmd: Command) -> bool:
    """Does the command print every variable (``env``, ``printenv``, ``export -p``, ``set``, ``declare -p``)?"""
    words = [w for w in cmd.argv if w not in RESERVED]
    if not words:
        return False
    if words[0] in ("env", "printenv"):
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        return not rest and not {"--version", "--help"} & set(words[1:])
    return words in (["export", "-p"], ["set"], ["declare", "-p"], ["declare", "-x"], ["declare", "-px"])


def _inner_scripts(prog: str, args: list[str]) -> list[str] | None:
    """For a shell: the scripts of its ``-c`` argument; None when it runs a file or standard input."""
    if prog not in SHELLS:
        return []
    if prog == "/usr/bin/env" and args:
        prog, args = args[0], args[1:]
    for i, a in enumerate(args):
        if a.startswith("-") and "c" in a[1:] and not a.startswith("--"):
            return [args[i + 1]] if i + 1 < len(args) else None
        if not a.startswith("-"):
            return None
    return None


def is_inert(cmd: Command, depth: int = 0) -> tuple[bool, str]:
    """(inert, the program) for one simple command."""
    prog, args = _program(cmd)
    if not prog:
        return True, ""
    if prog in CONSTRUCTS or cmd.argv[0] in CONSTRUCTS:
        return True, prog
    if prog in SHELLS:
        scripts = _inner_scripts(prog, args)
        if scripts is None or depth > 3:
            return False, prog
        for s in scripts:
            inner = split_commands(s)
            if inner is None:
                return False, prog
            for c in inner:
                ok, p = is_inert(c, depth + 1)
                if not ok:
                    return False, p
        return True, prog
    if prog in INERT:
        cond = INERT[prog]
        if cond is None or cond.search(" ".join(args)):
            return True, prog
    return False, prog


def _all_commands(cmds: list[Command], depth: int = 0) -> list[Command]:
    """``cmds`` and the commands inside their ``sh -c`` strings."""
    out: list[Command] = []
    for c in cmds:
        out.append(c)
        prog, args = _program(c)
        scripts = _inner_scripts(prog, args) if prog in SHELLS and depth < 3 else []
        for s in scripts or []:
            inner = split_commands(s)
            if inner:
                out.extend(_all_commands(inner, depth + 1))
    return out


#: programs that run another one named after them (``npx sentry-cli``, ``bundle exec rake``)
_RUNNERS = {"npx": 0, "bunx": 0, "pnpx": 0, "yarn dlx": 1, "pnpm exec": 1, "pnpm dlx": 1, "bundle exec": 1,
            "poetry run": 1, "uv run": 1, "uvx": 0, "pipenv run": 1, "yarn exec": 1, "npm exec": 1}


def _runs_also(prog: str, args: list[str]) -> tuple[str, list[str]] | None:
    """The program a runner (``npx``, ``bundle exec``) runs, with its arguments."""
    for key, skip in _RUNNERS.items():
        head = key.split()
        if head[0] != prog or args[: len(head) - 1] != head[1:]:
            continue
        rest = [a for a in args[skip:] if not a.startswith("-")]
        if rest:
            k = args.index(rest[0], skip)
            return rest[0], args[k + 1 :]
    return None


def tool_reader(cmds: list[Command], var: str, files: ContextFiles) -> str:
    """The name of a catalogued tool in ``cmds`` that reads ``var`` by itself ("" if none)."""
    programs: list[tuple[str, list[str]]] = []
    for c in _all_commands(cmds):
        prog, args = _program(c)
        if prog:
            programs.append((prog, args))
            inner = _runs_also(prog, args)
            if inner is not None:
                programs.append(inner)
    for prog, args in programs:
        joined = " ".join(args)
        for r in READERS:
            if not r.program.match(prog) or (r.args is not None and not r.args.search(joined)):
                continue
            if not r.variables.match(var):
                continue
            if r.via == "npmrc" and var not in files.npmrc_vars:
                continue
            if r.via == "maven" and var not in files.maven_vars:
                continue
            return r.name + (" (through .npmrc)" if r.via == "npmrc" else " (through settings.xml)"
                             if r.via == "maven" else "")
    return ""


def run_read(ins: Instruction, names: frozenset[str], var: str, files: ContextFiles) -> Read:
    """How RUN ``ins`` (whose text references ``names``) reads ``var``."""
    if var in names:
        return Read(Mode.NAME, "names it")
    cmds = run_commands(ins)
    if cmds is None:
        return Read(Mode.POSSIBLE, "its command could not be read")
    if any(dumps_environment(c) for c in _all_commands(cmds)):
        return Read(Mode.NAME, "prints the whole environment")
    tool = tool_reader(cmds, var, files)
    if tool:
        return Read(Mode.TOOL, f"{tool} reads it")
    for c in cmds:
        ok, prog = is_inert(c)
        if not ok:
            return Read(Mode.POSSIBLE, f"runs `{prog}`, which may read any variable")
    return NO_READ


# -- persistence ------------------------------------------------------------------------------------

_DEV = re.compile(r"^/dev/(?:null|stdout|stderr|fd/\d+)$")


@dataclass(frozen=True)
class Persisted:
    """``what`` a RUN writes holding the secret; ``undo`` removes every copy (None: nothing known does)."""

    what: str
    undo: str | None
    #: the file written by a plain redirection (``> .npmrc``), for an ``rm -f`` undo
    path: str = ""


def _refs(text: str, var: str) -> bool:
    return re.search(r"\$(?:\{[#!]?" + re.escape(var) + r"\b|" + re.escape(var) + r"\b)", text) is not None


def _removed_later(cmds: list[Command], k: int, path: str) -> bool:
    """Does a command after ``cmds[k]`` remove ``path`` (or a directory holding it)?"""
    base = path.rstrip("/")
    for c in cmds[k + 1 :]:
        prog, args = _program(c)
        if prog != "rm":
            continue
        for a in args:
            if a.startswith("-"):
                continue
            t = a.rstrip("/")
            if t == base or base.startswith(t + "/") or (t.rsplit("/", 1)[-1] == base.rsplit("/", 1)[-1]
                                                        and "/" not in base):
                return True
    return False


def persisted(ins: Instruction, var: str, files: ContextFiles) -> list[Persisted]:
    """What RUN ``ins`` leaves in its layer that holds ``var``'s value, unless the same RUN removes it."""
    cmds = run_commands(ins)
    if cmds is None:
        return []
    cmds = _all_commands(cmds)
    out: list[Persisted] = []
    reads_tool = bool(tool_reader(cmds, var, files))
    fed = False  # the command before pipes the secret into this one
    for k, c in enumerate(cmds):
        text = c.raw
        names_it = _refs(text, var) or dumps_environment(c)
        # a redirection of a command that expands the secret, or the tee after it
        targets = [(op, w.text) for op, w in c.redirects if ">" in op and not _DEV.match(w.text)]
        if names_it:
            # down a pipe, only through commands that pass the value on unchanged (not `| sha256sum`)
            j = k
            while cmds[j].then == "|" and j + 1 < len(cmds):
                j += 1
                prog, args = _program(cmds[j])
                if prog not in PASS_THROUGH:
                    break
                if prog == "tee":
                    targets += [(">>" if "-a" in args else ">", a) for a in args if not a.startswith("-")]
                targets += [(op, w.text) for op, w in cmds[j].redirects if ">" in op and not _DEV.match(w.text)]
        if names_it and targets:
            for op, path in targets:
                if _removed_later(cmds, k, path):
                    continue
                build_file = BUILD_CREDENTIAL_FILE.search(path) is not None
                undo = f"rm -f {path}" if op in (">", ">|") and "$" not in path and build_file else None
                out.append(Persisted(f"writes {path}", undo, path))
        for w in WRITERS:
            m = w.pattern.match(_strip_wrappers(c))
            if m is None:
                continue
            if not (names_it or fed or reads_tool):
                break
            if w.name == "git clone with credentials":
                dest = _clone_dest(c)
                if dest and _removed_later(cmds, k, dest):
                    break
            groups = {key: (val or "") for key, val in m.groupdict().items()}
            undo = w.undo.format(**groups) if w.undo else None
            if not _undone_later(w, groups, undo, cmds[k + 1 :]):
                out.append(Persisted(w.what.format(**groups), undo))
            break
        fed = (names_it or fed) and c.then == "|"
    return out


def _strip_wrappers(c: Command) -> str:
    prog, args = _program(c)
    return " ".join([prog, *args])


def _undone_later(w: Writer, groups: dict[str, str], undo: str | None, later: list[Command]) -> bool:
    """Does a later command of the RUN already undo what writer ``w`` wrote?"""
    if w.undone_by is not None:
        pattern = re.compile(w.undone_by.format(**{k: re.escape(v.strip()) for k, v in groups.items()}), re.I)
        return any(pattern.search(_strip_wrappers(c)) for c in later)
    if undo is None:
        return False
    return any(" ".join(_strip_wrappers(c).split()) == " ".join(undo.split()) for c in later)


def _clone_dest(c: Command) -> str:
    """The directory ``git clone URL [DIR]`` writes (its ``.git/config`` holds the URL)."""
    _, args = _program(c)
    if not args or args[0] != "clone":
        return ""
    at = next((k for k, a in enumerate(args) if "://" in a or a.startswith("git@")), None)
    if at is None:
        return ""
    rest = [a for a in args[at + 1 :] if not a.startswith("-")]
    return rest[0] if rest else args[at].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
