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

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.invocations.coverage import Coverage, env_var_of, literal_value_class, redact_literal
from codemod.invocations.result import InvocationResult
from codemod.invocations.scripts import Rewrite, docker_blocked, rewrite_span
from codemod.invocations.stepenv import add_env, env_editable, env_values
from codemod.invocations.text import (
    Editor,
    block,
    decode_text,
    finding,
    finish,
    insertion,
    line_end,
    line_no,
    line_start,
    newline_of,
    only_blank_before,
    secret_flag,
)
from codemod.invocations.views import yaml_view
from codemod.invocations.yamlnodes import (
    STRAY_REASON,
    after_node,
    block_scalar_lines,
    column,
    content_end,
    get,
    is_block,
    is_map,
    is_scalar,
    is_seq,
    map_step,
    parse_yaml,
    scalar_source,
    stray_build_args,
)
from codemod.model import DockerfileMigration

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

KIND = "workflow-build-arg-secret"
ACTION = "docker/build-push-action"
_ENTRY = re.compile(r"""(?P<q>["']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*?)(?P=q)[ \t]*\r?\n?""", re.S)
_SHELLS = ("bash", "sh")
SSH_ACTION = "appleboy/ssh-action"
#: inputs of other actions (and of reusable workflows) that pass build args: not rewritten, blocked
_ARGS_INPUT = re.compile(r"(?i)(?:secret[-_]?)?build[-_]?args?")
_PREFILTER = re.compile(rb"(?i)build[-_]?arg|ssh-action")


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
    docker_blocked: str = ""
    #: the repository root (a workflow sits in <root>/.github/workflows/), for the Dockerfile an input names
    root: Path | None = None
    #: ids of the scalars read as commands or build inputs
    read: set[int] = field(default_factory=set)

    def add(self, index: int, variable: str, message: str, **kw: object) -> None:
        self.result.findings.append(finding(self.display, self.text, index, variable, KIND, message, **kw))  # type: ignore[arg-type]

    def note(self, index: int, message: str) -> None:
        self.result.notes.append(f"{self.display}:{line_no(self.text, index)}: {message}")

    def block(self, index: int, name: str, reason: str, dockerfile: Path | None = None) -> None:
        block(self.result, self.display, self.text, index, name, reason, KIND, dockerfile)

    def insert_lines(self, at: int, lines: list[str]) -> None:
        self.ed.insert(at, insertion(self.text, at, lines, self.nl))


def migrate_workflow(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    result = InvocationResult()
    if _PREFILTER.search(data) is None:
        return result
    text = decode_text(data)
    root = parse_yaml(text, display)
    ed = Editor(text)
    jobs = get(root, "jobs") if root is not None and is_map(root) else None
    if root is None or jobs is None or not is_map(jobs[1]):
        return finish(result, text, ed)
    repo = path.parent.parent.parent if path.parent.parent.name == ".github" else None
    w = _Wf(text, display, newline_of(text), map_step(root, text), Coverage.of(migrations), ed, result,
            docker_blocked(text), repo)
    top_env = env_values(get(root, "env"))
    for _, job in jobs[1].value:
        if is_map(job):
            _job(w, job, top_env, _default_shell(job) or _default_shell(root))
    for name, at in stray_build_args(root, w.read):
        if w.cov.action(name) is not None:
            w.block(at, name, STRAY_REASON)
    return finish(result, text, ed)


def _job(w: _Wf, job: Node, top_env: dict[str, str], default_shell: str | None) -> None:
    uses = get(job, "uses")
    if uses is not None and is_scalar(uses[1]):
        _reusable(w, job, str(uses[1].value))
    steps = get(job, "steps")
    if steps is None or not is_seq(steps[1]):
        return
    job_env = {**top_env, **env_values(get(job, "env"))}
    for step in steps[1].value:
        if not is_map(step):
            continue
        uses = get(step, "uses")
        action = str(uses[1].value).split("@")[0] if uses is not None and is_scalar(uses[1]) else ""
        if action == ACTION:
            _build_push(w, step)
        elif action == SSH_ACTION:
            _ssh_action(w, step, job_env)
        elif action:
            _other_action(w, step, action)
        run = get(step, "run")
        if run is not None and is_scalar(run[1]):
            _run_step(w, step, run, job_env, default_shell)


def _default_shell(node: Node) -> str | None:
    d = get(node, "defaults")
    r = get(d[1], "run") if d is not None else None
    s = get(r[1], "shell") if r is not None else None
    return str(s[1].value) if s is not None and is_scalar(s[1]) else None


# -- inputs this rewrite cannot change: reusable workflows, other actions ---------------------------------


def _named_in(w: _Wf, node: Node) -> list[tuple[str, int]]:
    """(NAME, index) of each covered ``NAME=``/``NAME:`` entry inside a scalar input."""
    w.read.add(id(node))
    if not is_scalar(node):
        return []
    src = scalar_source(w.text, node)
    base = int(node.start_mark.index)
    out = []
    for m in re.finditer(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)[ \t]*[=:]", src):
        if w.cov.action(m.group(1)) is not None:
            out.append((m.group(1), base + m.start(1)))
    return out


def _reusable(w: _Wf, job: Node, called: str) -> None:
    """``jobs.<id>.uses`` a reusable workflow: its build-args inputs (``with:``, ``secrets:``) reach a build
    in the called workflow, whose inputs this run cannot change in step."""
    where = "in this repository" if called.startswith("./") else "in another repository"
    for key in ("with", "secrets"):
        inputs = get(job, key)
        if inputs is None or not is_map(inputs[1]):
            continue
        for k, v in inputs[1].value:
            if is_scalar(k) and _ARGS_INPUT.fullmatch(str(k.value)):
                for name, at in _named_in(w, v):
                    w.block(at, name, f"input {k.value} of the reusable workflow {called} ({where}) passes it as "
                            "a build arg; the called workflow must take it as a secret first")


def _other_action(w: _Wf, step: Node, action: str) -> None:
    with_ = get(step, "with")
    if with_ is None or not is_map(with_[1]):
        return
    for k, v in with_[1].value:
        if is_scalar(k) and _ARGS_INPUT.fullmatch(str(k.value)):
            for name, at in _named_in(w, v):
                w.block(at, name, f"input {k.value} of {action} is not rewritten (only docker/build-push-action's "
                        "build-args are)")


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
    ba = get(with_[1], "build-args") if with_ is not None and is_map(with_[1]) else None
    if with_ is None or ba is None:
        return
    bkey, bval = ba
    w.read.add(id(bval))
    dockerfile = _action_dockerfile(w, with_[1])
    entries = _entries(text, bval)
    if entries is None or not is_block(with_[1]):
        names = re.findall(r"(?m)^\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)=", str(getattr(bval, "value", "")))
        for name in names:
            if w.cov.action(name) is not None:
                w.block(bkey.start_mark.index, name, "build-args in this YAML style is not edited", dockerfile)
            elif w.cov.report_uncovered(name):
                w.add(bkey.start_mark.index, name, f"build-args line {name} passes a secret into the build, and no "
                      "migrated Dockerfile covers it: its value is recorded in the image", fixable=False)
        return
    covered = [e for e in entries if w.cov.action(e.name) is not None]
    for e in entries:
        redact_literal(w.result, e.name, e.value, e.value_start, e.value_start + len(e.value),
                       covered=w.cov.action(e.name) in ("secret", "runtime"))
        if e not in covered and w.cov.report_uncovered(e.name):
            w.add(_first_char(text, e), e.name, f"build-args line {e.name} passes a secret into the build, and no "
                  "migrated Dockerfile covers it: its value is recorded in the image", fixable=False,
                  value_class=_value_class(e))
    if not covered:
        return
    existing = get(with_[1], "secrets")
    why = _blocked(text, bkey, bval, existing, len(covered) == len(entries))
    mixed = [e for e in covered if w.cov.action(e.name) == "mixed"]
    for e in covered if why else mixed:
        w.block(_first_char(text, e), e.name, why or w.cov.mixed_reason(e.name), dockerfile)
    if why or mixed:
        return
    _move_to_secrets(w, with_[1], ba, entries, covered, existing)


def _action_dockerfile(w: _Wf, with_: Node) -> Path | None:
    """The Dockerfile a build-push-action step builds (``file:``, else ``context:``/Dockerfile), if it can
    be told."""
    f, c = get(with_, "file"), get(with_, "context")
    file = str(f[1].value) if f is not None and is_scalar(f[1]) else None
    ctx = str(c[1].value) if c is not None and is_scalar(c[1]) else "."
    if w.root is None or "${{" in (file or "") + ctx or "://" in ctx:
        return None
    return ((w.root / file) if file else (w.root / ctx / "Dockerfile")).resolve()


def _move_to_secrets(w: _Wf, with_: Node, ba: tuple[Node, Node], entries: list[_Entry], covered: list[_Entry],
                     existing: tuple[Node, Node] | None) -> None:
    text = w.text
    bkey, bval = ba
    have = _ids(existing[1] if existing else None, csv=False)
    for key in ("secret-envs", "secret-files"):
        other = get(with_, key)
        have |= _ids(other[1] if other else None, csv=key == "secret-envs")
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
        w.result.build_flags.append(secret_flag(sid, var if var is not None and how in ("secrets", "env", "var")
                                                else e.name))
        w.add(at, e.name, f"build-args line {e.name} moves to the secrets input as {sid} (the same value)",
              fix=f"secrets: {sid}=...", value_class=_value_class(e))
        if sid not in have:
            have.add(sid)
            moved.append(f"{e.quote}{sid}={e.value}{e.quote}")
    all_gone = len(covered) == len(entries)
    key_ind = column(text, bkey.start_mark.index)
    content_ind = _content_indent(text, bval, key_ind + w.step)
    if all_gone:
        insert_at = line_start(text, bkey.start_mark.index)
        w.ed.delete(insert_at, line_end(text, content_end(text, bval)))
    else:
        for e in covered:
            w.ed.delete(e.start, e.end)
        insert_at = after_node(text, bval)
    if moved:
        _add_secret_lines(w, existing, insert_at, key_ind, content_ind, moved)


def _add_secret_lines(w: _Wf, existing: tuple[Node, Node] | None, insert_at: int, key_ind: int, content_ind: int,
                      moved: list[str]) -> None:
    text = w.text
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


# -- run: steps, ssh-action scripts ---------------------------------------------------------------------


def _run_step(w: _Wf, step: Node, run: tuple[Node, Node], job_env: dict[str, str], default_shell: str | None) -> None:
    rkey, rval = run
    w.read.add(id(rval))
    if "build-arg" not in str(rval.value):
        return
    shell_node = get(step, "shell")
    shell = str(shell_node[1].value) if shell_node is not None and is_scalar(shell_node[1]) else default_shell
    if shell is not None and shell.split()[0] not in _SHELLS:
        _block_names(w, rkey, rval, f"a run step in shell {shell.split()[0]}, not a POSIX shell")
        return
    _shell_step(w, step, (rkey, rval), job_env, "workflow", rkey)


def _block_names(w: _Wf, key: Node, val: Node, reason: str) -> None:
    for name in re.findall(r"build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)", str(val.value)):
        if w.cov.action(name) is not None:
            w.block(key.start_mark.index, name, reason)
        elif w.cov.report_uncovered(name):
            w.add(key.start_mark.index, name, f"--build-arg {name} passes a secret into the build, and no migrated "
                  "Dockerfile covers it: its value is recorded in the image", fixable=False)


def _shell_step(w: _Wf, step: Node, pair: tuple[Node, Node], job_env: dict[str, str], mode: str, anchor: Node
                ) -> Rewrite | None:
    """Rewrite the shell text of a ``run:`` or an ssh-action ``script:``; ``${{ secrets.X }}`` values reach
    the build through the step's ``env:`` (a new one goes before the line of ``anchor``)."""
    key, val = pair
    got = yaml_view(w.text, val, flow=not is_block(step))
    if got is None:
        _block_names(w, key, val, "the shell text is in a YAML form this rewrite cannot edit (a flow "
                     "collection or an escape sequence)")
        return None
    view, start, end = got
    env = get(step, "env")
    rw = Rewrite(view, w.display, KIND, mode, w.cov, w.ed, w.result, step_env={**job_env, **env_values(env)},
                 env_editable=env_editable(env), raw=w.text, docker_blocked=w.docker_blocked)
    rewrite_span(rw, start, end)
    add_env(w.ed, w.text, w.nl, step, anchor, rw.env_needs, w.step)
    return rw


def _ssh_action(w: _Wf, step: Node, job_env: dict[str, str]) -> None:
    """appleboy/ssh-action runs ``with.script`` on another host: a value from ``${{ secrets.X }}`` must now
    reach that host as a variable, through the step's ``env:`` and the action's ``envs`` list."""
    with_ = get(step, "with")
    script = get(with_[1], "script") if with_ is not None and is_map(with_[1]) else None
    if with_ is None or script is None or not is_scalar(script[1]) or "build-arg" not in str(script[1].value):
        return
    w.read.add(id(script[1]))
    envs = get(with_[1], "envs")
    if envs is not None and not (is_scalar(envs[1]) and getattr(envs[1], "style", None) is None
                                 and line_no(w.text, envs[1].start_mark.index)
                                 == line_no(w.text, envs[1].end_mark.index)):
        _block_names(w, script[0], script[1], "the action's envs input is not a one-line list this rewrite can extend")
        return
    uses = get(step, "uses")
    assert uses is not None
    rw = _shell_step(w, step, script, job_env, "remote", uses[0])
    if rw is None or not rw.env_needs:
        if rw is not None and rw.secrets_emitted:
            w.note(script[1].start_mark.index, "the remote host's docker must be 20.10 or newer with BuildKit to "
                   "read --secret")
        return
    names = list(rw.env_needs)
    if envs is None:
        ind = column(w.text, with_[1].value[0][0].start_mark.index)
        w.insert_lines(after_node(w.text, with_[1]), [" " * ind + "envs: " + ",".join(names)])
    else:
        have = [x.strip() for x in str(envs[1].value).split(",") if x.strip()]
        add = [n for n in names if n not in have]
        if add:
            w.ed.insert(envs[1].end_mark.index, ("," if have else "") + ",".join(add))
    w.note(script[1].start_mark.index, "the remote host's docker must be 20.10 or newer with BuildKit to read "
           "--secret; the step passes " + ", ".join(names) + " to the host (envs)")
