"""CI systems whose configuration is YAML holding shell lines: GitLab CI, CircleCI, Bitbucket Pipelines, Drone,
Travis and Azure Pipelines (Cloud Build: :mod:`codemod.invocations.cloudbuild`).

Each format names the keys whose values are shell text (a string, or a list of strings): GitLab's
``script``/``before_script``/``after_script``, CircleCI's ``run`` (or its ``command``), Bitbucket's
``script``, Drone's ``commands``, Travis's phases, Azure's ``script``/``bash``. Every such string is read as
the shell reads it (:mod:`codemod.invocations.views`) and its ``docker build`` lines are rewritten as in
scripts (:mod:`codemod.invocations.scripts`); kaniko lines, ``DOCKER_BUILDKIT=0`` and docker older than
20.10 are blocked. A list shared through a YAML anchor is edited once, where it is written.

Where the CI's docker builds with the legacy builder by default (Bitbucket, Travis), a ``docker build`` that
gets a secret gets ``DOCKER_BUILDKIT=1`` before it. Azure secret variables are not in a script's environment
unless its step maps them: a ``$(NAME)`` value becomes ``env: {NAME: $(NAME)}`` on the step. Azure's
``Docker@2`` task passes ``arguments`` to ``docker build``: those are rewritten too. Drone's
``plugins/docker`` ``build_args_from_env`` become ``secrets_from_env``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.invocations.coverage import Coverage
from codemod.invocations.result import InvocationResult
from codemod.invocations.scripts import (
    KIND,
    Rewrite,
    docker_blocked,
    literal_note,
    rewrite_options,
    rewrite_span,
    step_env_need,
)
from codemod.invocations.stepenv import add_env, env_editable, env_values
from codemod.invocations.text import (
    Editor,
    block,
    decode_text,
    finding,
    finish,
    insertion,
    line_end,
    line_start,
    newline_of,
)
from codemod.invocations.views import yaml_view
from codemod.invocations.yamlnodes import (
    STRAY_REASON,
    after_node,
    column,
    get,
    is_block,
    is_map,
    is_scalar,
    is_seq,
    map_step,
    parse_yaml,
    scalar_source,
    stray_build_args,
    verify_yaml,
)
from codemod.model import DockerfileMigration

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

_MACRO = re.compile(r"\$\((?P<n>[A-Za-z_][A-Za-z0-9_.]*)\)")
_SHELL_VAR = re.compile(r"\$\$?(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))")
_WINDOWS = re.compile(r"(?im)^\s*vmImage\s*:\s*['\"]?windows")


@dataclass(frozen=True)
class Format:
    """Where a CI format keeps shell text, and what its docker needs."""

    name: str
    shell_keys: frozenset[str]
    #: keys of a step or job whose mapping is the environment of its shell text
    env_key: str = ""
    #: the CI's docker builds with the legacy builder unless DOCKER_BUILDKIT=1
    buildkit_prefix: bool = False
    #: ``$$`` is the CI's escape for the shell's ``$`` (GitLab, Drone)
    dollar_escape: bool = False


FORMATS: dict[str, Format] = {
    "gitlab": Format("gitlab", frozenset({"script", "before_script", "after_script"}), dollar_escape=True),
    "circleci": Format("circleci", frozenset({"run"})),
    "bitbucket": Format("bitbucket", frozenset({"script", "after-script"}), buildkit_prefix=True),
    "drone": Format("drone", frozenset({"commands"}), dollar_escape=True),
    "travis": Format("travis", frozenset({"script", "before_install", "install", "before_script", "after_script",
                                          "after_success", "after_failure", "before_deploy", "after_deploy"}),
                     buildkit_prefix=True),
    "azure": Format("azure", frozenset({"script", "bash"}), env_key="env"),
}
_NOT_POSIX = {"azure": frozenset({"pwsh", "powershell"})}


@dataclass
class _Ci:
    fmt: Format
    text: str
    display: str
    nl: str
    step: int
    cov: Coverage
    ed: Editor
    result: InvocationResult
    docker_blocked: str
    windows: bool = False
    #: ids of the scalars read as commands, arguments or plugin settings
    read: set[int] = field(default_factory=set)

    def block(self, index: int, name: str, reason: str) -> None:
        block(self.result, self.display, self.text, index, name, reason, KIND)


def migrate_ci_yaml(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration], fmt: str
                    ) -> InvocationResult:
    result = InvocationResult()
    if b"build-arg" not in data and b"build_arg" not in data:
        return result
    text = decode_text(data)
    root = parse_yaml(text, display)
    ed = Editor(text)
    if root is None:
        return finish(result, text, ed)
    c = _Ci(FORMATS[fmt], text, display, newline_of(text), map_step(root, text), Coverage.of(migrations), ed, result,
            docker_blocked(text), fmt == "azure" and _WINDOWS.search(text) is not None)
    for owner, key, value, flow in _shell_nodes(c, root):
        _shell(c, owner, key, value, flow)
    if fmt == "azure":
        for step in _mappings(root):
            _docker_task(c, step)
    if fmt == "drone":
        for step in _mappings(root):
            _drone_plugin(c, step)
    for name, at in stray_build_args(root, c.read):
        if c.cov.action(name) is not None:
            c.block(at, name, STRAY_REASON)
    return verify_yaml(finish(result, text, ed), display)


def _mappings(root: Node) -> Iterator[Node]:
    """Every mapping of the tree, each once (an alias is not walked again)."""
    stack, seen = [root], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if is_map(n):
            yield n
            stack.extend(v for _, v in reversed(n.value))
        elif is_seq(n):
            stack.extend(reversed(n.value))


def _shell_nodes(c: _Ci, root: Node) -> Iterator[tuple[Node, Node, Node, bool]]:
    """(owning mapping, key, scalar of shell text, in a flow collection) for every shell string, each once."""
    seen: set[int] = set()
    for owner in _mappings(root):
        for k, v in owner.value:
            if not is_scalar(k) or k.value not in c.fmt.shell_keys | _NOT_POSIX.get(c.fmt.name, frozenset()):
                continue
            if c.fmt.name == "circleci" and is_map(v):
                cmd = get(v, "command")
                k, v, owner = (cmd[0], cmd[1], v) if cmd is not None else (k, v, owner)
            for item, flow in _scalars(v, not is_block(owner)):
                if id(item) not in seen and not str(getattr(item, "tag", "")).startswith("!"):
                    seen.add(id(item))
                    c.read.add(id(item))
                    yield owner, k, item, flow


def _scalars(node: Node, flow: bool) -> Iterator[tuple[Node, bool]]:
    if is_scalar(node):
        yield node, flow
    elif is_seq(node) and not str(getattr(node, "tag", "")).startswith("!"):
        for item in node.value:
            yield from _scalars(item, flow or not is_block(node))


def _shell(c: _Ci, owner: Node, key: Node, value: Node, flow: bool) -> None:
    if "build-arg" not in str(value.value):
        return
    shell = str(key.value)
    if shell in _NOT_POSIX.get(c.fmt.name, ()) or (c.windows and shell == "script"):
        _block_all(c, value, f"a {shell} step" + (" on a Windows agent (cmd.exe)" if c.windows else "")
                   + " is not POSIX shell text this rewrite can edit")
        return
    got = yaml_view(c.text, value, flow=flow)
    if got is None:
        _block_all(c, value, "the shell text is in a YAML form this rewrite cannot edit (a flow collection or an "
                   "escape sequence)")
        return
    view, start, end = got
    env = get(owner, c.fmt.env_key) if c.fmt.env_key else None
    rw = Rewrite(view, c.display, KIND, "shell", c.cov, c.ed, c.result, raw=c.text, docker_blocked=c.docker_blocked,
                 buildkit_prefix=c.fmt.buildkit_prefix, step_env=env_values(env), env_editable=env_editable(env),
                 resolve=_azure_value if c.fmt.name == "azure" else _escaped_value if c.fmt.dollar_escape else None)
    rewrite_span(rw, start, end)
    if rw.env_needs:
        add_env(c.ed, c.text, c.nl, owner, key, rw.env_needs, c.step, key=c.fmt.env_key)


def _block_all(c: _Ci, value: Node, reason: str) -> None:
    src = scalar_source(c.text, value)
    for m in re.finditer(r"build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)", src):
        if c.cov.action(m.group(1)) is not None:
            c.block(value.start_mark.index + m.start(1), m.group(1), reason)


def _azure_value(rw: Rewrite, at: int, name: str, value: str) -> str | None:
    """Azure: ``$(NAME)`` is a pipeline variable the agent writes into the text; a secret one is in no
    environment until the step maps it (``env: {NAME: $(NAME)}``). ``$NAME`` is an environment variable."""
    m = _MACRO.fullmatch(value)
    if m is not None:
        return step_env_need(rw, at, name, None, value)  # the step maps it, under the build arg's name
    v = _SHELL_VAR.fullmatch(value)
    if v is not None:
        return v.group("b") or v.group("p")
    literal_note(rw, at, name)
    return name


def _escaped_value(rw: Rewrite, at: int, name: str, value: str) -> str | None:
    """GitLab and Drone write ``$$NAME`` for the shell's ``$NAME`` (their own ``$NAME`` is expanded before the
    shell runs, from the same variables the job's environment has)."""
    v = _SHELL_VAR.fullmatch(value)
    if v is not None:
        return v.group("b") or v.group("p")
    literal_note(rw, at, name)
    return name


# -- Azure Docker@2, Drone plugins/docker ----------------------------------------------------------------


def _docker_task(c: _Ci, step: Node) -> None:
    task = get(step, "task")
    inputs = get(step, "inputs")
    if task is None or inputs is None or not is_map(inputs[1]) or not str(task[1].value).startswith("Docker@"):
        return
    args = get(inputs[1], "arguments")
    if args is None or not is_scalar(args[1]) or "build-arg" not in str(args[1].value):
        return
    c.read.add(id(args[1]))
    command = get(inputs[1], "command")
    cmd = str(command[1].value) if command is not None and is_scalar(command[1]) else "buildAndPush"
    if cmd != "build":
        _block_all(c, args[1], f"{task[1].value} ignores arguments for command {cmd}: split it into build and push "
                   "steps first")
        return
    got = yaml_view(c.text, args[1], flow=not is_block(inputs[1]))
    if got is None:
        _block_all(c, args[1], "the arguments are in a YAML form this rewrite cannot edit")
        return
    env = get(step, "env")
    rw = Rewrite(got[0], c.display, KIND, "shell", c.cov, c.ed, c.result, raw=c.text, docker_blocked=c.docker_blocked,
                 step_env=env_values(env), env_editable=env_editable(env), resolve=_azure_value)
    rewrite_options(rw, got[1], got[2], legacy=True)
    if rw.env_needs:
        add_env(c.ed, c.text, c.nl, step, task[0], rw.env_needs, c.step)


def _drone_plugin(c: _Ci, step: Node) -> None:
    """plugins/docker: ``build_args_from_env: [NAME]`` -> ``secrets_from_env: [id=NAME]`` (the plugin passes
    ``--secret id=<id>,env=<NAME>`` and turns BuildKit on); ``build_args`` with literal values: blocked."""
    image = get(step, "image")
    settings = get(step, "settings")
    if image is None or settings is None or not is_map(settings[1]):
        return
    plugin = str(image[1].value).split(":")[0]
    for key in ("build_args", "build_args_from_env"):
        pair = get(settings[1], key)
        if pair is None:
            continue
        items = [i for i in (pair[1].value if is_seq(pair[1]) else [pair[1]]) if is_scalar(i)]
        c.read.update(id(i) for i in items)
        if plugin != "plugins/docker" or key == "build_args" or not is_seq(pair[1]) or not is_block(pair[1]):
            for item in items:
                name = str(item.value).split("=")[0].strip()
                if c.cov.action(name) is not None:
                    c.block(item.start_mark.index, name, f"{plugin} setting {key} is not rewritten")
            continue
        _drone_from_env(c, settings[1], pair, items)


def _drone_from_env(c: _Ci, settings: Node, pair: tuple[Node, Node], items: list[Node]) -> None:
    moved: list[str] = []
    gone: list[Node] = []
    for item in items:
        name = str(item.value).strip()
        action = c.cov.action(name)
        if action == "mixed":
            c.block(item.start_mark.index, name, c.cov.mixed_reason(name))
        if action in (None, "mixed"):
            continue
        gone.append(item)
        sid = c.cov.id_of(name)
        if action == "secret":
            moved.append(f"{sid}={name}")
            c.result.build_flags.append(f"--secret id={sid},env={name}")
        what = (f"moves to secrets_from_env as {sid}" if action == "secret"
                else "has no ARG after the migration: removed")
        c.result.findings.append(finding(c.display, c.text, item.start_mark.index, name, KIND,
                                         f"build_args_from_env {name} {what}",
                                         fix=f"--secret id={sid},env={name}" if action == "secret" else ""))
    if not gone:
        return
    at = line_start(c.text, pair[0].start_mark.index)
    if len(gone) == len(pair[1].value):
        c.ed.delete(at, after_node(c.text, pair[1]))
    else:
        for item in gone:
            c.ed.delete(line_start(c.text, item.start_mark.index), line_end(c.text, item.start_mark.index))
        at = after_node(c.text, pair[1])
    if moved:
        _append_list(c, settings, "secrets_from_env", moved, pair, at)


def _append_list(c: _Ci, mapping: Node, key: str, items: list[str], near: tuple[Node, Node], at: int) -> None:
    """Append ``items`` to the block list ``key`` of ``mapping``, or write it at ``at`` shaped like ``near``."""
    existing = get(mapping, key)
    if existing is not None and is_seq(existing[1]) and is_block(existing[1]) and existing[1].value:
        dash = column(c.text, existing[1].value[0].start_mark.index) - 2
        end = after_node(c.text, existing[1])
        c.ed.insert(end, insertion(c.text, end, [" " * dash + "- " + i for i in items], c.nl))
        return
    if existing is not None:
        for i in items:
            c.block(existing[0].start_mark.index, i.split("=")[1], f"{key} is not a block list this rewrite can "
                    "extend")
        return
    ind = column(c.text, near[0].start_mark.index)
    dash = column(c.text, near[1].value[0].start_mark.index) - 2
    c.ed.insert(at, insertion(c.text, at, [" " * ind + key + ":"] + [" " * dash + "- " + i for i in items], c.nl))
