"""Skaffold (``skaffold.yaml``): an artifact's ``docker.buildArgs`` -> ``docker.secrets`` (``- id: <id>`` with
``env: <V>``), Skaffold's own secret syntax (its schema's ``DockerSecret``: ``id``, ``src`` or ``env``;
"Secrets is used to pass in --secret to docker build, `useBuildKit: true` is required").

V is the variable a ``{{.NAME}}`` template read (Skaffold fills it from the environment), NAME for a null
value (docker reads NAME), else NAME with a note. ``build.local.useBuildkit: false``, kaniko
(``kaniko.buildArgs``, ``build.cluster``) and Google Cloud Build (``build.googleCloudBuild``) builds are
blocked: their builds take no env-sourced secret this rewrite can write. Each artifact gets the secrets of the
Dockerfile it builds (``context`` + ``docker.dockerfile``, relative to the file).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.invocations.coverage import Coverage, by_dockerfile, literal_value_class, redact_literal
from codemod.invocations.result import InvocationResult
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
    only_blank_before,
    rest_is_blank_or_comment,
)
from codemod.invocations.yamlnodes import (
    after_node,
    column,
    content_end,
    get,
    is_block,
    is_map,
    is_scalar,
    is_seq,
    map_step,
    parse_yaml,
    render_scalar,
    verify_yaml,
)
from codemod.model import DockerfileMigration

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

KIND = "script-build-arg-secret"
_TEMPLATE = re.compile(r"\{\{\s*\.(?P<n>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NULL = "tag:yaml.org,2002:null"


@dataclass
class _Sk:
    text: str
    display: str
    nl: str
    step: int
    base: Path
    ed: Editor
    result: InvocationResult
    #: why no artifact of this file can take a secret ("" when they can)
    builder_blocked: str

    def block(self, index: int, name: str, reason: str, dockerfile: Path | None) -> None:
        block(self.result, self.display, self.text, index, name, reason, KIND, dockerfile)


def migrate_skaffold(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]
                     ) -> InvocationResult:
    result = InvocationResult()
    if b"buildArgs" not in data:
        return result
    text = decode_text(data)
    root = parse_yaml(text, display)
    ed = Editor(text)
    if root is None or not is_map(root):
        return finish(result, text, ed)
    s = _Sk(text, display, newline_of(text), map_step(root, text), path.parent, ed, result, _builder_blocked(text))
    per_dockerfile = by_dockerfile(migrations)
    for art in _artifacts(root):
        context = get(art, "context")
        ctx = str(context[1].value) if context is not None and is_scalar(context[1]) else "."
        kaniko = get(art, "kaniko")
        if kaniko is not None and is_map(kaniko[1]):
            _block_args(s, kaniko[1], Coverage.of(migrations), "kaniko has no build secrets", None)
        docker = get(art, "docker")
        if docker is None or not is_map(docker[1]):
            continue
        df = _dockerfile(s, ctx, docker[1])
        cov = Coverage.of(migrations) if df is None else Coverage.join(per_dockerfile.get(df, []))
        if s.builder_blocked:
            _block_args(s, docker[1], cov, s.builder_blocked, df)
        else:
            _docker(s, docker, cov, df)
    return verify_yaml(finish(result, text, ed), display)



def _builder_blocked(text: str) -> str:
    if re.search(r"(?m)^\s*useBuildkit\s*:\s*false\b", text):
        return "build.local.useBuildkit is false: skaffold then builds without BuildKit, which has no --secret"
    if re.search(r"(?m)^\s*(?:cluster|googleCloudBuild)\s*:", text):
        return "a cluster (kaniko) or Google Cloud Build build: skaffold passes no env-sourced secret there"
    return ""


def _artifacts(root: Node) -> list[Node]:
    """Every artifact of ``build`` and of each profile's ``build``."""
    builds = [get(root, "build")]
    profiles = get(root, "profiles")
    if profiles is not None and is_seq(profiles[1]):
        builds += [get(p, "build") for p in profiles[1].value if is_map(p)]
    out = []
    for b in builds:
        arts = get(b[1], "artifacts") if b is not None and is_map(b[1]) else None
        if arts is not None and is_seq(arts[1]):
            out += [a for a in arts[1].value if is_map(a)]
    return out


def _dockerfile(s: _Sk, ctx: str, docker: Node) -> Path | None:
    d = get(docker, "dockerfile")
    name = str(d[1].value) if d is not None and is_scalar(d[1]) else "Dockerfile"
    if "{{" in ctx + name:
        return None
    return Path(os.path.realpath(s.base / ctx / name))


def _block_args(s: _Sk, node: Node, cov: Coverage, reason: str, df: Path | None) -> None:
    args = get(node, "buildArgs")
    if args is not None and is_map(args[1]):
        for k, _ in args[1].value:
            if is_scalar(k) and cov.action(str(k.value)) is not None:
                s.block(k.start_mark.index, str(k.value), reason, df)


def _docker(s: _Sk, docker: tuple[Node, Node], cov: Coverage, df: Path | None) -> None:
    args = get(docker[1], "buildArgs")
    if args is None:
        return
    akey, aval = args
    if not is_map(aval) or not is_block(aval) or not is_block(docker[1]):
        _block_args(s, docker[1], cov, "buildArgs is not a block mapping this rewrite can edit", df)
        return
    gone: list[Node] = []
    secrets: list[tuple[str, str]] = []
    for k, v in aval.value:
        name = str(k.value)
        action = cov.action(name)
        if is_scalar(v) and v.tag != _NULL and v.start_mark.index != v.end_mark.index and "{{" not in str(v.value):
            q = 1 if getattr(v, "style", None) in ("'", '"') else 0
            redact_literal(s.result, name, str(v.value), v.start_mark.index + q, v.end_mark.index - q,
                           covered=action in ("secret", "runtime"))
        if action is None:
            continue
        if action == "mixed" or not (only_blank_before(s.text, k.start_mark.index)
                                     and rest_is_blank_or_comment(s.text, content_end(s.text, v) + 1)):
            s.block(k.start_mark.index, name, cov.mixed_reason(name) if action == "mixed"
                    else "the buildArgs entry is not one line this rewrite can remove", df)
            continue
        gone.append(k)
        _found(s, k, v, name, action, cov, secrets)
    if gone:
        _edit(s, docker, args, gone, secrets)


def _found(s: _Sk, k: Node, v: Node, name: str, action: str, cov: Coverage, secrets: list[tuple[str, str]]) -> None:
    if action != "secret":
        s.result.findings.append(finding(s.display, s.text, k.start_mark.index, name, KIND,
                                         f"buildArgs entry {name} has no ARG after the migration: removed"))
        return
    sid = cov.id_of(name)
    value = str(v.value) if is_scalar(v) and v.tag != _NULL else None
    m = _TEMPLATE.fullmatch(value.strip()) if value else None
    var = m.group("n") if m is not None else name
    if value and m is None:
        s.result.notes.append(f"{s.display}:{s.text.count(chr(10), 0, k.start_mark.index) + 1}: buildArgs entry "
                              f"{name} had a value that is not a template of a variable; the secret is now read "
                              f"from environment variable {name}: set it where skaffold runs")
    secrets.append((sid, var))
    s.result.build_flags.append(f"--secret id={sid},env={var}")
    s.result.findings.append(finding(s.display, s.text, k.start_mark.index, name, KIND,
                                     f"buildArgs entry {name} now reaches the build as secret {sid} (docker.secrets, "
                                     f"read from environment variable {var})", fix=f"--secret id={sid},env={var}",
                                     value_class=literal_value_class(name, value) if value and m is None else ""))


def _edit(s: _Sk, docker: tuple[Node, Node], args: tuple[Node, Node], gone: list[Node],
          secrets: list[tuple[str, str]]) -> None:
    akey, aval = args
    everything = len(gone) == len(aval.value)
    if everything:
        at = line_start(s.text, akey.start_mark.index)
        s.ed.delete(at, after_node(s.text, aval))
    else:
        ids = {id(k) for k in gone}
        for k, v in aval.value:
            if id(k) in ids:
                s.ed.delete(line_start(s.text, k.start_mark.index), line_end(s.text, content_end(s.text, v)))
        at = after_node(s.text, aval)
    if not secrets:
        return
    existing = get(docker[1], "secrets")
    lines = []
    if existing is not None and is_seq(existing[1]) and is_block(existing[1]) and existing[1].value:
        dash = column(s.text, existing[1].value[0].start_mark.index) - 2
        at = after_node(s.text, existing[1])
    elif existing is None:
        ind = column(s.text, akey.start_mark.index)
        dash = ind + s.step
        lines.append(" " * ind + "secrets:")
    else:
        for sid, _ in secrets:
            s.block(existing[0].start_mark.index, sid, "docker.secrets is not a block list this rewrite can extend",
                    None)
        return
    for sid, var in secrets:
        lines += [" " * dash + f"- id: {render_scalar(sid)}", " " * (dash + 2) + f"env: {render_scalar(var)}"]
    s.ed.insert(at, insertion(s.text, at, lines, s.nl))
    if "useBuildkit" not in s.text:
        s.result.notes.append(f"{s.display}: skaffold passes docker.secrets only to a BuildKit build: set "
                              "build.local.useBuildkit: true where docker's default builder is not BuildKit")
