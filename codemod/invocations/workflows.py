"""GitHub Actions workflows (formats.md section 4).

``docker/build-push-action``: a ``build-args`` line for an ARG that became a
build secret moves to the ``secrets`` input as ``<id>=<same value>`` (the action
writes the value to a file and passes ``--secret id=<id>,src=<file>``); lines
for removed ARGs are dropped; the other build args and every expression stay.
``run:`` steps are shell: ``docker build --build-arg`` is rewritten as in
scripts, and a value that was an expression (``${{ secrets.X }}``) now reaches
``--secret id=<id>,env=X`` through the step's ``env:``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.invocations.common import (
    Coverage,
    Editor,
    after_node,
    block_scalar_lines,
    column,
    content_end,
    decode_text,
    env_var_of,
    finding,
    finish,
    get,
    insertion,
    is_alias_of_earlier,
    is_block,
    is_map,
    is_scalar,
    is_seq,
    line_end,
    line_no,
    line_start,
    literal_value_class,
    map_step,
    newline_of,
    only_blank_before,
    parse_yaml,
    redact_literal,
    scalar_source,
    secret_flag,
    strong_secret_name,
)
from codemod.invocations.result import InvocationResult
from codemod.invocations.scripts import Rewrite, rewrite_span, warn_buildkit_off
from codemod.model import DockerfileMigration

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

KIND = "workflow-build-arg-secret"
ACTION = "docker/build-push-action"
_ENTRY = re.compile(r"""(?P<q>["']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*?)(?P=q)[ \t]*\r?\n?""", re.S)
_SHELLS = ("bash", "sh")


@dataclass
class _Entry:
    start: int  # line start
    end: int  # past the line's newline
    name: str
    value: str
    quote: str
    value_start: int


@dataclass
class _Wf:
    text: str
    display: str
    nl: str
    step: int
    cov: Coverage
    ed: Editor
    result: InvocationResult

    def add(self, index: int, variable: str, message: str, **kw: object) -> None:
        self.result.findings.append(finding(self.display, self.text, index, variable, KIND, message, **kw))  # type: ignore[arg-type]

    def note(self, index: int, message: str) -> None:
        self.result.notes.append(f"{self.display}:{line_no(self.text, index)}: {message}")

    def insert_lines(self, at: int, lines: list[str]) -> None:
        self.ed.insert(at, insertion(self.text, at, lines, self.nl))


def migrate_workflow(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    result = InvocationResult()
    if b"build-arg" not in data:
        return result
    text = decode_text(data)
    root = parse_yaml(text, display)
    ed = Editor(text)
    if root is None or not is_map(root):
        return finish(result, text, ed)
    w = _Wf(text, display, newline_of(text), map_step(root, text), Coverage.of(migrations), ed, result)
    jobs = get(root, "jobs")
    if jobs is None or not is_map(jobs[1]):
        return finish(result, text, ed)
    top_env = _env_values(text, get(root, "env"))
    emitted = 0
    for _, job in jobs[1].value:
        if not is_map(job):
            continue
        steps = get(job, "steps")
        if steps is None or not is_seq(steps[1]):
            continue
        job_env = {**top_env, **_env_values(text, get(job, "env"))}
        default_shell = _default_shell(job) or _default_shell(root)
        for step in steps[1].value:
            if not is_map(step):
                continue
            uses = get(step, "uses")
            if uses is not None and is_scalar(uses[1]) and str(uses[1].value).split("@")[0] == ACTION:
                _build_push(w, step)
            run = get(step, "run")
            if run is not None and is_scalar(run[1]):
                emitted += _run_step(w, step, run, job_env, default_shell)
    if emitted:
        warn_buildkit_off(Rewrite(text, display, KIND, "workflow", w.cov, ed, result, secrets_emitted=emitted))
    return finish(result, text, ed)


def _default_shell(node: Node) -> str | None:
    d = get(node, "defaults")
    r = get(d[1], "run") if d is not None else None
    s = get(r[1], "shell") if r is not None else None
    return str(s[1].value) if s is not None and is_scalar(s[1]) else None


def _env_values(text: str, env: tuple[Node, Node] | None) -> dict[str, str]:
    if env is None or not is_map(env[1]):
        return {}
    return {str(k.value): str(v.value) for k, v in env[1].value if is_scalar(k) and is_scalar(v)}


# -- docker/build-push-action -----------------------------------------------------------------------


def _entries(text: str, node: Node) -> list[_Entry] | None:
    """The ``NAME=value`` lines of a list input; None for a style this rewrite does not edit."""
    if not is_scalar(node):
        return None
    style = getattr(node, "style", None)
    if style == "|":
        spans = block_scalar_lines(text, node)
    elif style is None and line_no(text, node.start_mark.index) == line_no(text, node.end_mark.index):
        spans = [(node.start_mark.index, node.end_mark.index)]
    else:
        return None
    out: list[_Entry] = []
    for s, e in spans:
        content = text[s:e]
        stripped = content.strip(" \t")
        if not stripped.strip() or stripped.startswith("#"):
            continue
        m = _ENTRY.fullmatch(stripped)
        if m is not None:
            lead = len(content) - len(stripped)
            out.append(_Entry(s, e, m.group("name"), m.group("value"), m.group("q"), s + lead + m.start("value")))
    return out


def _ids(node: Node | None, *, csv: bool) -> set[str]:
    """Ids of a ``secrets``/``secret-files`` (one per line) or ``secret-envs`` (lines or CSV) input."""
    ids: set[str] = set()
    if node is None or not is_scalar(node):
        return ids
    for line in str(node.value).splitlines():
        for part in line.split(",") if csv else [line]:
            key = part.strip().strip("\"'").partition("=")[0].strip()
            if key:
                ids.add(key)
    return ids


def _build_push(w: _Wf, step: Node) -> None:
    text = w.text
    with_ = get(step, "with")
    if with_ is None or not is_map(with_[1]):
        return
    ba = get(with_[1], "build-args")
    if ba is None:
        return
    bkey, bval = ba
    entries = _entries(text, bval)
    if entries is None or not is_block(with_[1]):
        names = re.findall(r"(?m)^\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)=", str(getattr(bval, "value", "")))
        for name in names:
            if w.cov.action(name) is not None or strong_secret_name(name):
                w.add(bkey.start_mark.index, name, f"build-args line {name}: this YAML style is not edited; "
                      "move it to the secrets input by hand", fixable=False)
        return
    existing = get(with_[1], "secrets")
    have = _ids(existing[1] if existing else None, csv=False)
    for key in ("secret-envs", "secret-files"):
        other = get(with_[1], key)
        have |= _ids(other[1] if other else None, csv=key == "secret-envs")
    covered = [e for e in entries if w.cov.action(e.name) is not None]
    for e in entries:
        redact_literal(w.result, e.name, e.value, e.value_start, e.value_start + len(e.value),
                       covered=w.cov.action(e.name) in ("secret", "runtime"))
    for e in entries:
        if e not in covered and strong_secret_name(e.name):
            w.add(_first_char(text, e), e.name, f"build-args line {e.name} passes a secret into the build, and no "
                  "migrated Dockerfile covers it: its value is recorded in the image", fixable=False,
                  value_class=_value_class(e))
    if not covered:
        return
    all_gone = len(covered) == len(entries)
    blocked = _blocked(text, bkey, bval, existing, all_gone)
    if blocked:
        for e in covered:
            w.add(_first_char(text, e), e.name, f"build-args line {e.name}: {blocked}; move it by hand",
                  fixable=False)
        return

    moved: list[str] = []
    for e in covered:
        at = _first_char(text, e)
        action = w.cov.action(e.name)
        if action != "secret":
            what = "fed a runtime secret into the image" if action == "runtime" else "has no ARG after the migration"
            w.add(at, e.name, f"build-args line {e.name} {what}: removed")
            continue
        sid = w.cov.id_of(e.name)
        var, how = env_var_of(e.value, "workflow")
        flag = secret_flag(sid, var if var is not None and how in ("secrets", "env", "var") else e.name)
        w.result.build_flags.append(flag)
        w.add(at, e.name, f"build-args line {e.name} moves to the secrets input as {sid} (the same value)",
              fix=f"secrets: {sid}=...", value_class=_value_class(e))
        if sid not in have:
            have.add(sid)
            moved.append(f"{e.quote}{sid}={e.value}{e.quote}")

    key_ind = column(text, bkey.start_mark.index)
    content_ind = _content_indent(text, bval, key_ind + w.step)
    if all_gone:
        insert_at = line_start(text, bkey.start_mark.index)
        w.ed.delete(insert_at, line_end(text, content_end(text, bval)))
    else:
        for e in covered:
            w.ed.delete(e.start, e.end)
        insert_at = after_node(text, bval)
    if not moved:
        return
    if existing is None:
        w.insert_lines(insert_at, [" " * key_ind + "secrets: |"] + [" " * content_ind + m for m in moved])
        return
    skey, sval = existing
    if getattr(sval, "style", None) == "|":
        ind = _content_indent(text, sval, column(text, skey.start_mark.index) + w.step)
        w.insert_lines(after_node(text, sval), [" " * ind + m for m in moved])
    else:
        pad = " " * (column(text, skey.start_mark.index) + w.step)
        old = scalar_source(text, sval)
        w.ed.replace(sval.start_mark.index, sval.end_mark.index,
                     "|" + w.nl + pad + old + "".join(w.nl + pad + m for m in moved))


def _first_char(text: str, e: _Entry) -> int:
    line = text[e.start : e.end]
    return e.start + len(line) - len(line.lstrip(" \t"))


def _blocked(text: str, bkey: Node, bval: Node, existing: tuple[Node, Node] | None, all_gone: bool) -> str:
    """Why the lines cannot be moved surgically ("" when they can)."""
    if all_gone and not only_blank_before(text, bkey.start_mark.index):
        return "build-args does not start its line"
    if not all_gone and getattr(bval, "style", None) != "|":
        return "build-args is not a literal block"
    if existing is None:
        return ""
    sval = existing[1]
    style = getattr(sval, "style", None)
    if style == "|":
        return ""
    one_line = line_no(text, sval.start_mark.index) == line_no(text, sval.end_mark.index)
    if is_scalar(sval) and style is None and one_line and scalar_source(text, sval).strip():
        return ""
    return "the secrets input is not a literal block"


def _content_indent(text: str, node: Node, default: int) -> int:
    if getattr(node, "style", None) == "|":
        for s, e in block_scalar_lines(text, node):
            line = text[s:e]
            if line.strip():
                return len(line) - len(line.lstrip(" "))
    return default


def _value_class(e: _Entry) -> str:
    _, how = env_var_of(e.value, "workflow")
    return literal_value_class(e.name, e.value) if how == "literal" and "$" not in e.value else ""


# -- run: steps ---------------------------------------------------------------------------------------


def _run_step(w: _Wf, step: Node, run: tuple[Node, Node], job_env: dict[str, str], default_shell: str | None) -> int:
    text = w.text
    rkey, rval = run
    if "--build-arg" not in str(rval.value):
        return 0
    shell_node = get(step, "shell")
    shell = str(shell_node[1].value) if shell_node is not None and is_scalar(shell_node[1]) else default_shell
    style = getattr(rval, "style", None)
    one_line = line_no(text, rval.start_mark.index) == line_no(text, rval.end_mark.index)
    span: tuple[int, int] | None = None
    if shell is not None and shell.split()[0] not in _SHELLS:
        span = None
    elif style == "|":
        content = block_scalar_lines(text, rval)
        span = (content[0][0], content[-1][1]) if content else None
    elif style is None and one_line:
        span = (rval.start_mark.index, rval.end_mark.index)
    elif style in ("'", '"') and one_line and not re.search(r"\\|''", scalar_source(text, rval)[1:-1]):
        span = (rval.start_mark.index + 1, rval.end_mark.index - 1)
    if span is None:
        for name in re.findall(r"--build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)", str(rval.value)):
            if w.cov.action(name) is not None or strong_secret_name(name):
                w.add(rkey.start_mark.index, name, f"--build-arg {name} in a run step this rewrite does not edit "
                      "(folded or escaped YAML, or not a POSIX shell): change it by hand", fixable=False)
        return 0

    env = get(step, "env")
    env_editable = env is None or (is_map(env[1]) and is_block(env[1]) and bool(env[1].value)
                                   and not is_alias_of_earlier(*env))
    step_env = {**job_env, **_env_values(text, env)}
    rw = Rewrite(text, w.display, KIND, "workflow", w.cov, w.ed, w.result, step_env=step_env,
                 env_editable=env_editable)
    rewrite_span(rw, *span)
    if rw.env_needs:
        lines = [f"{name}: {_render_expr(expr)}" for name, expr in rw.env_needs.items()]
        if env is not None:
            ind = column(text, env[1].value[0][0].start_mark.index)
            w.insert_lines(after_node(text, env[1]), [" " * ind + line for line in lines])
        else:
            ind = column(text, rkey.start_mark.index)
            block = [" " * ind + "env:"] + [" " * (ind + w.step) + line for line in lines]
            if only_blank_before(text, rkey.start_mark.index):
                w.insert_lines(line_start(text, rkey.start_mark.index), block)
            else:
                w.insert_lines(after_node(text, step), block)
    return rw.secrets_emitted


def _render_expr(expr: str) -> str:
    if ": " in expr or " #" in expr or expr[:1] in "'\"{[&*!|>%@`#":
        return json.dumps(expr, ensure_ascii=False)
    return expr
