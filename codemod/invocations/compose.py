"""Compose files: ``build.args`` -> ``build.secrets`` plus top-level ``secrets`` (formats.md section 3).

Each service is mapped to the Dockerfile it builds (``build: <context>`` or
``build.context`` + ``build.dockerfile``, relative to the compose file) and gets
exactly that Dockerfile's secrets: a passed arg moves to ``build.secrets`` with a
top-level ``{id: {environment: VAR}}`` (short syntax, so ``source`` = ``target`` =
the id, which ``docker compose`` and ``docker buildx bake`` both read the same
way); a service that never passed the arg gets the secret too, so ``docker
compose build`` keeps working. An arg whose ARG was removed is dropped; one that
fed a runtime secret into ENV is passed in ``environment:`` instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.discover import real_path
from codemod.invocations.composecheck import build_secrets_blocked, top_blocked
from codemod.invocations.coverage import (
    Coverage,
    by_dockerfile,
    env_var_of,
    literal_value_class,
    redact_literal,
)
from codemod.invocations.result import InvocationResult
from codemod.invocations.text import (
    Editor,
    block,
    column,
    decode_text,
    finding,
    finish,
    insertion,
    line_end,
    line_no,
    line_start,
    newline_of,
    only_blank_before,
    rest_is_blank_or_comment,
    secret_flag,
)
from codemod.invocations.yamlnodes import (
    after_node,
    after_pair,
    content_end,
    get,
    has_merge,
    is_alias_of_earlier,
    is_block,
    is_map,
    is_scalar,
    is_seq,
    map_step,
    parse_yaml,
    render_scalar,
    scalar_source,
    seq_indent,
)
from codemod.model import BuildSecret, DockerfileMigration

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

KIND = "compose-build-arg-secret"
_NULL = "tag:yaml.org,2002:null"
_DOC_END = re.compile(r"^\.\.\.[ \t]*\r?$", re.M)


@dataclass
class _Arg:
    name: str
    value: str | None  # None: taken from the environment (``- NAME`` / ``NAME:``)
    start: int  # the ``-`` or the key
    end: int  # last character of the entry
    value_src: str | None  # map form: the value's source text
    removable: bool
    value_span: tuple[int, int] = (0, 0)  # the value's characters (quotes excluded)


@dataclass
class _File:
    text: str
    display: str
    base: Path
    ed: Editor
    nl: str
    step: int
    seq: int
    result: InvocationResult
    #: why the top-level secrets cannot take new entries ("" when they can)
    top_blocked: str = ""
    #: top-level secret id -> environment variable, in the order services need them
    top: dict[str, str] = field(default_factory=dict)

    def note(self, index: int, message: str) -> None:
        self.result.notes.append(f"{self.display}:{line_no(self.text, index)}: {message}")

    def add(self, index: int, variable: str, message: str, **kw: object) -> None:
        self.result.findings.append(finding(self.display, self.text, index, variable, KIND, message, **kw))  # type: ignore[arg-type]

    def block(self, index: int, name: str, reason: str, dockerfile: Path | None) -> None:
        block(self.result, self.display, self.text, index, name, reason, KIND, dockerfile)

    def insert_lines(self, at: int, lines: list[str]) -> None:
        self.ed.insert(at, insertion(self.text, at, lines, self.nl))


def migrate_compose(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    result = InvocationResult()
    if b"build" not in data:
        return result
    text = decode_text(data)
    root = parse_yaml(text, display)
    ed = Editor(text)
    if root is None or not is_map(root):
        return finish(result, text, ed)
    services = get(root, "services")
    if services is None or not is_map(services[1]):
        return finish(result, text, ed)
    per_dockerfile = by_dockerfile(migrations)
    step = map_step(root, text)
    seq = seq_indent(root, text)
    f = _File(text, display, path.parent, ed, newline_of(text), step, step if seq is None else seq, result,
              top_blocked(text, root))
    for key, svc in services[1].value:
        if is_scalar(key) and is_map(svc) and not is_alias_of_earlier(key, svc):
            _service(f, key, svc, per_dockerfile)
    if f.top:
        _top_level(f, root)
    return finish(result, text, ed)



def _dockerfile(f: _File, build: Node) -> Path | None:
    if is_scalar(build):
        context, dockerfile = str(build.value), "Dockerfile"
    elif is_map(build):
        if get(build, "dockerfile_inline") is not None:
            return None
        c, d = get(build, "context"), get(build, "dockerfile")
        context = str(c[1].value) if c is not None and is_scalar(c[1]) else "."
        dockerfile = str(d[1].value) if d is not None and is_scalar(d[1]) else "Dockerfile"
    else:
        return None
    if "://" in context or context.startswith("git@") or "$" in context or "$" in dockerfile:
        return None
    return real_path(f.base / context / dockerfile)


@dataclass
class _Svc:
    """One service's build, while its args are gone through."""

    name: str
    bkey: Node
    build: Node
    dockerfile: Path | None
    cov: Coverage
    shown: str
    #: why build.secrets cannot take new ids ("" when it can)
    blocked: str
    #: secret id -> (environment variable, where it was asked for)
    wanted: dict[str, tuple[str, int]] = field(default_factory=dict)
    runtime: list[_Arg] = field(default_factory=list)
    removed: list[_Arg] = field(default_factory=list)
    asked: set[str] = field(default_factory=set)


def _service(f: _File, name_node: Node, svc: Node, per_dockerfile: dict[Path, list[DockerfileMigration]]) -> None:
    service = str(name_node.value)
    b = get(svc, "build")
    if b is None:
        if has_merge(svc):
            f.note(name_node.start_mark.index,
                   f"service {service} uses a YAML merge key; a build it inherits is not checked")
        return
    bkey, build = b
    if is_alias_of_earlier(bkey, build):
        f.note(bkey.start_mark.index, f"service {service}: build is a YAML alias; left alone")
        return
    dockerfile = _dockerfile(f, build)
    migs = per_dockerfile.get(dockerfile, []) if dockerfile is not None else []
    shown = os.path.relpath(dockerfile, f.base) if dockerfile is not None else "?"
    # build.secrets and the top-level secrets must both take the ids, or a secret arg stays where it is
    s = _Svc(service, bkey, build, dockerfile, Coverage.join(migs), shown,
             f.top_blocked or build_secrets_blocked(build))
    args = get(build, "args") if is_map(build) else None
    entries, block_style = _args(f, args) if args is not None else ([], True)
    for a in entries:
        _arg(f, s, a, block_style)
    _mounted_secrets(f, s, [x for m in migs for x in m.build_secrets])
    present = _present_build_secrets(f, build)
    need = [(sid, var) for sid, (var, _) in s.wanted.items() if sid not in present]
    for sid, (var, _) in s.wanted.items():
        f.result.build_flags.append(secret_flag(sid, var))
        if sid in f.top and f.top[sid] != var:
            f.note(bkey.start_mark.index, f"secret {sid} is read from {f.top[sid]} for another service, "
                   f"not {var}: check the top-level secrets entry")
        f.top.setdefault(sid, var)
    all_gone = args is not None and bool(entries) and len(s.removed) == len(entries) and block_style
    _edit_args(f, args, s.removed, all_gone)
    _add_build_secrets(f, bkey, build, args, all_gone, need)
    for a in s.runtime:
        for key in s.cov.runtime_env.get(a.name, [a.name]):
            _add_environment(f, svc, a, service, key)


def _arg(f: _File, s: _Svc, a: _Arg, block_style: bool) -> None:
    """One ``build.args`` entry: moved to build.secrets, removed, passed at runtime, blocked or reported."""
    action = s.cov.action(a.name)
    if a.value is not None:
        redact_literal(f.result, a.name, a.value, *a.value_span, covered=action in ("secret", "runtime"))
    if action is None:
        if s.cov.report_uncovered(a.name):
            f.add(a.start, a.name,
                  f"build arg {a.name} passes a secret into the build of service {s.name}, and no migrated "
                  "Dockerfile covers it: its value is recorded in the image; mount it as a build secret by hand",
                  fixable=False, value_class=_value_class(a))
        return
    if action == "secret":
        s.asked.add(s.cov.id_of(a.name))
    why = s.cov.mixed_reason(a.name) if action == "mixed" else s.blocked if action == "secret" else ""
    if not why and not (block_style and a.removable):
        why = "flow-style or shared args are not edited"
    if why:
        f.block(a.start, a.name, f"service {s.name}: {why}", s.dockerfile)
        return
    s.removed.append(a)
    if action == "secret":
        sid = s.cov.id_of(a.name)
        var = _variable(f, a)
        s.wanted.setdefault(sid, (var, a.start))
        f.add(a.start, a.name, f"build arg {a.name} now reaches the build as secret {sid} "
              f"(build.secrets, read from environment variable {var})", fix=secret_flag(sid, var),
              value_class=_value_class(a))
        if a.name in s.cov.runtime:
            s.runtime.append(a)
    elif action == "runtime":
        s.runtime.append(a)
        f.add(a.start, a.name, f"build arg {a.name} fed a runtime secret into the image: "
              f"passed in environment of service {s.name} instead", value_class=_value_class(a))
    else:
        f.add(a.start, a.name, f"build arg {a.name} has no ARG in {s.shown} after the migration: removed")


def _mounted_secrets(f: _File, s: _Svc, mounted: list[BuildSecret]) -> None:
    """Secrets the Dockerfile now mounts that the service never passed as args: build.secrets gets them too,
    or the service is a producer that cannot be rewritten."""
    present = _present_build_secrets(f, s.build) if s.blocked else set()
    for bs in mounted:
        if bs.id in s.wanted or bs.id in s.asked or bs.id in present:
            continue
        if s.blocked:
            f.block(s.bkey.start_mark.index, bs.arg, f"service {s.name} builds {s.shown}, which now mounts secret "
                    f"{bs.id}, but {s.blocked}", s.dockerfile)
            continue
        s.wanted[bs.id] = (bs.arg, -1)
        if bs.id not in _present_build_secrets(f, s.build):
            f.add(s.bkey.start_mark.index, bs.arg, f"service {s.name} builds {s.shown}, which now mounts secret "
                  f"{bs.id}: build.secrets gets it (read from environment variable {bs.arg})",
                  fix=secret_flag(bs.id, bs.arg))


def _value_class(a: _Arg) -> str:
    if a.value is None:
        return ""
    var, how = env_var_of(a.value, "compose")
    return literal_value_class(a.name, a.value) if var is None and how == "literal" else ""


def _variable(f: _File, a: _Arg) -> str:
    if a.value is None:
        return a.name
    var, how = env_var_of(a.value, "compose")
    if var is not None and how == "var":
        return var
    f.note(a.start, f"build arg {a.name} had a value that is not a variable reference; the secret is now read "
           f"from environment variable {a.name}: set it where compose runs")
    return a.name


def _args(f: _File, args: tuple[Node, Node]) -> tuple[list[_Arg], bool]:
    key, val = args
    text = f.text
    out: list[_Arg] = []
    value: str | None
    if is_seq(val):
        for item in val.value:
            if not is_scalar(item):
                continue
            name, sep, rest = str(item.value).partition("=")
            value = rest if sep else None
            dash = text.rfind("-", line_start(text, item.start_mark.index), item.start_mark.index)
            end = content_end(text, item)
            ok = dash >= 0 and only_blank_before(text, dash) and rest_is_blank_or_comment(text, end + 1)
            src_end = int(item.end_mark.index) - (1 if getattr(item, "style", None) in ("'", '"') else 0)
            eq = text.find("=", item.start_mark.index, src_end)
            out.append(_Arg(name.strip(), value, dash if dash >= 0 else item.start_mark.index,
                            end, None, ok, (eq + 1, src_end) if eq >= 0 else (0, 0)))
    elif is_map(val):
        for k, v in val.value:
            if not is_scalar(k):
                continue
            empty = is_scalar(v) and v.start_mark.index == v.end_mark.index
            value = None if (is_scalar(v) and v.tag == _NULL) else str(v.value) if is_scalar(v) else ""
            end = text.index(":", k.end_mark.index) if empty else content_end(text, v)
            ok = only_blank_before(text, k.start_mark.index) and rest_is_blank_or_comment(text, end + 1)
            src = scalar_source(text, v) if is_scalar(v) and value is not None else None
            quoted = 1 if getattr(v, "style", None) in ("'", '"') else 0
            span = (v.start_mark.index + quoted, v.end_mark.index - quoted) if is_scalar(v) else (0, 0)
            out.append(_Arg(str(k.value), value, k.start_mark.index, end, src, ok, span))
    else:
        return [], False
    if is_alias_of_earlier(key, val):
        # ``args: *shared``: the entries live in an anchor other services use too; report, never edit
        for a in out:
            a.removable = False
    return out, is_block(val)


def _edit_args(f: _File, args: tuple[Node, Node] | None, removed: list[_Arg], all_gone: bool) -> None:
    if args is None or not removed:
        return
    key, val = args
    if all_gone and only_blank_before(f.text, key.start_mark.index):
        f.ed.delete(line_start(f.text, key.start_mark.index), after_node(f.text, val))
        return
    for a in removed:
        f.ed.delete(line_start(f.text, a.start), line_end(f.text, a.end))


def _present_build_secrets(f: _File, build: Node) -> set[str]:
    s = get(build, "secrets") if is_map(build) else None
    present: set[str] = set()
    if s is None or not is_seq(s[1]):
        return present
    for item in s[1].value:
        if is_scalar(item):
            present.add(str(item.value))
        elif is_map(item):
            src, tgt = get(item, "source"), get(item, "target")
            if tgt is not None and is_scalar(tgt[1]):
                present.add(str(tgt[1].value))
                if src is not None and is_scalar(src[1]) and src[1].value != tgt[1].value:
                    f.note(item.start_mark.index, f"build secret {src[1].value} has target {tgt[1].value}: "
                           "docker buildx bake uses the source as the id (formats.md section 3)")
            elif src is not None and is_scalar(src[1]):
                present.add(str(src[1].value))
    return present


def _add_build_secrets(f: _File, bkey: Node, build: Node, args: tuple[Node, Node] | None, all_gone: bool,
                       need: list[tuple[str, str]]) -> None:
    if not need:
        if all_gone and args is not None and is_map(build) and len(build.value) == 1:
            # an empty build mapping is invalid; compose's default context is the compose file's directory
            ind = column(f.text, args[0].start_mark.index)
            f.insert_lines(line_start(f.text, args[0].start_mark.index), [" " * ind + "context: ."])
        return
    text = f.text
    items = [render_scalar(sid) for sid, _ in need]
    if is_scalar(build):
        ind = column(text, bkey.start_mark.index) + f.step
        colon = text.index(":", bkey.end_mark.index)
        f.ed.replace(colon + 1, build.start_mark.index, f.nl + " " * ind + "context: ")
        f.insert_lines(after_node(text, build),
                       [" " * ind + "secrets:"] + [" " * (ind + f.seq) + "- " + i for i in items])
        return
    existing = get(build, "secrets")
    if existing is not None:  # a non-empty block list (_build_secrets_blocked)
        dash = column(text, existing[1].start_mark.index)
        f.insert_lines(after_node(text, existing[1]), [" " * dash + "- " + i for i in items])
        return
    first = build.value[0][0]
    ind = column(text, first.start_mark.index)
    seq = f.seq
    if args is not None and is_seq(args[1]) and is_block(args[1]) and args[1].value:
        seq = column(text, args[1].start_mark.index) - column(text, args[0].start_mark.index)
    lines = [" " * ind + "secrets:"] + [" " * (ind + seq) + "- " + i for i in items]
    if args is not None and all_gone:
        at = line_start(text, args[0].start_mark.index)
    elif args is not None:
        at = after_pair(text, *args)
    else:
        at = after_node(text, build)
    f.insert_lines(at, lines)


def _env_file_defines(f: _File, svc: Node, name: str) -> str | None:
    ef = get(svc, "env_file")
    if ef is None:
        return None
    paths: list[str] = []
    val = ef[1]
    items = [val] if is_scalar(val) else list(val.value) if is_seq(val) else []
    for item in items:
        if is_scalar(item):
            paths.append(str(item.value))
        elif is_map(item):
            entry = get(item, "path")
            if entry is not None and is_scalar(entry[1]):
                paths.append(str(entry[1].value))
    pattern = re.compile(rb"^[ \t]*(?:export[ \t]+)?" + re.escape(name.encode()) + rb"[ \t]*=", re.M)
    for p in paths:
        try:
            if pattern.search((f.base / p).read_bytes()):
                return p
        except OSError:
            continue
    return None


def _add_environment(f: _File, svc: Node, a: _Arg, service: str, key: str) -> None:
    """Pass the runtime secret the build arg used to bake in as ``key`` (the ENV name) at runtime.

    One ``environment:`` per service, one entry per name: an existing block (map or list form) gets the
    entry in its own form; without one, the first call opens a block and later calls add to it. A literal
    value is never carried into a tracked file: the entry reads ``${KEY}`` and the finding says to rotate it.
    """
    text = f.text
    src_file = _env_file_defines(f, svc, key)
    if src_file is not None:
        f.note(a.start, f"{key} is defined in env_file {src_file} of service {service}; environment left as is")
        return
    literal = a.value is not None and a.value.strip() != "" and env_var_of(a.value, "compose")[1] == "literal"
    if a.value is None:
        value = "${" + a.name + "}"  # compose read it from its own environment: so does the service now
    elif literal or not a.value.strip():
        value = "${" + key + "}"
    else:
        value = a.value  # a reference (${DB_PASS}): the same source as before
    if literal:
        _say_rotate(f, a, key)
    as_map = a.value_src if value == a.value and a.value_src is not None else render_scalar(value)
    added: dict[int, set[str]] = vars(f).setdefault("_environment_added", {})
    mine = added.setdefault(id(svc), set())
    if key in mine:
        return
    env = get(svc, "environment")
    opened = _new_block(f, svc)
    if env is None or opened is not None:
        ind = column(text, svc.value[0][0].start_mark.index)
        lines = [" " * (ind + f.step) + f"{key}: {as_map}"]
        if opened is None:  # the service's first runtime secret: open its block
            opened = after_node(text, svc)
            lines.insert(0, " " * ind + "environment:")
            vars(f).setdefault("_environment_blocks", {})[id(svc)] = opened
        f.insert_lines(opened, lines)
        mine.add(key)
        return
    ekey, eval_ = env
    if is_scalar(eval_) and eval_.tag == _NULL and not scalar_source(text, eval_).strip():  # `environment:` alone
        f.insert_lines(line_end(text, ekey.start_mark.index),
                       [" " * (column(text, ekey.start_mark.index) + f.step) + f"{key}: {as_map}"])
        mine.add(key)
        return
    names = _env_names(eval_)
    if names is None or not is_block(eval_) or not eval_.value or is_alias_of_earlier(ekey, eval_):
        f.add(ekey.start_mark.index, a.name, f"environment of service {service} is not a block list or mapping "
              f"of its own: add {key}: ${{{key}}} by hand", fixable=False)
        return
    if key in names:
        _check_existing(f, eval_, service, key)
        return
    mine.add(key)
    if is_map(eval_):
        ind = column(text, eval_.value[0][0].start_mark.index)
        f.insert_lines(after_node(text, eval_), [" " * ind + f"{key}: {as_map}"])
    else:
        dash = column(text, eval_.start_mark.index)
        f.insert_lines(after_node(text, eval_), [" " * dash + "- " + render_scalar(f"{key}={value}")])


def _new_block(f: _File, svc: Node) -> int | None:
    """Where this run opened the service's ``environment:`` block (None when it did not)."""
    blocks: dict[int, int] = vars(f).get("_environment_blocks", {})
    return blocks.get(id(svc))


def _say_rotate(f: _File, a: _Arg, key: str) -> None:
    """The build arg's finding, told that its literal value is not carried and must be rotated."""
    findings = f.result.findings
    for i in range(len(findings) - 1, -1, -1):
        g = findings[i]
        if g.variable == a.name and g.line == line_no(f.text, a.start) and "rotate" not in g.message:
            findings[i] = replace(g, message=g.message + f"; its literal value is not carried: the service reads "
                                  f"${{{key}}} from the environment compose runs in, so set {key} there and rotate "
                                  "the value, which is in git history", value_class=g.value_class or "plain")
            return


def _check_existing(f: _File, env: Node, service: str, key: str) -> None:
    """A name already in ``environment:``: left alone, unless it holds a literal secret (reported for a human)."""
    for item in env.value:
        k, v = (item if isinstance(item, tuple) else (None, item))
        if is_map(env) and is_scalar(k) and str(k.value) == key and is_scalar(v) and v.tag != _NULL:
            value = str(v.value)
        elif is_seq(env) and is_scalar(v) and str(v.value).partition("=")[0].strip() == key:
            value = str(v.value).partition("=")[2]
        else:
            continue
        if value and env_var_of(value, "compose")[1] == "literal":
            f.add(v.start_mark.index, key, f"environment of service {service} sets {key} to a literal value: "
                  f"replace it with ${{{key}}} and rotate the value, which is in git history", fixable=False,
                  value_class=literal_value_class(key, value) or "plain")
            redact_literal(f.result, key, value, v.start_mark.index, v.end_mark.index, covered=True)
        return


def _env_names(env: Node) -> set[str] | None:
    if is_map(env):
        return {str(k.value) for k, _ in env.value if is_scalar(k)}
    if is_seq(env):
        return {str(i.value).partition("=")[0].strip() for i in env.value if is_scalar(i)}
    return None


def _top_level(f: _File, root: Node) -> None:
    text = f.text
    top = get(root, "secrets")
    root_ind = column(text, root.value[0][0].start_mark.index)
    existing: set[str] = set()
    if top is not None and is_map(top[1]):
        for k, v in top[1].value:
            if not is_scalar(k):
                continue
            existing.add(str(k.value))
            want = f.top.get(str(k.value))
            env = get(v, "environment") if is_map(v) else None
            if want is not None and env is not None and is_scalar(env[1]) and env[1].value != want:
                f.note(k.start_mark.index, f"top-level secret {k.value} reads {env[1].value}, not {want}; kept")
    missing = [(sid, var) for sid, var in f.top.items() if sid not in existing]
    if not missing:
        return

    def entries(ind: int) -> list[str]:
        out: list[str] = []
        for sid, var in missing:
            out += [" " * ind + f"{render_scalar(sid)}:", " " * (ind + f.step) + f"environment: {render_scalar(var)}"]
        return out

    if top is None:
        at = _end_of_document(text, root)
        lines = entries(root_ind + f.step)
        head = [" " * root_ind + "secrets:"]
        blank = [""] if text[:at].strip() and not text[:at].endswith(("\n\n", "\n\r\n")) else []
        f.insert_lines(at, blank + head + lines)
        return
    tkey, tval = top
    if is_map(tval) and is_block(tval) and tval.value:
        ind = column(text, tval.value[0][0].start_mark.index)
        f.insert_lines(after_node(text, tval), entries(ind))
    elif is_scalar(tval) and tval.tag == _NULL and not scalar_source(text, tval).strip():
        f.insert_lines(line_end(text, tkey.start_mark.index), entries(column(text, tkey.start_mark.index) + f.step))
    elif is_map(tval) and not tval.value and line_start(text, tval.start_mark.index) == line_start(
            text, tval.end_mark.index):
        colon = text.index(":", tkey.end_mark.index)
        f.ed.delete(colon + 1, tval.end_mark.index)
        f.insert_lines(line_end(text, tkey.start_mark.index), entries(column(text, tkey.start_mark.index) + f.step))
    else:
        f.add(tkey.start_mark.index, missing[0][0], "top-level secrets is not a block mapping: declare "
              + ", ".join(sid for sid, _ in missing) + " by hand", fixable=False)


def _end_of_document(text: str, root: Node) -> int:
    end = after_node(text, root)
    m = _DOC_END.search(text, end)
    return m.start() if m is not None else len(text)

