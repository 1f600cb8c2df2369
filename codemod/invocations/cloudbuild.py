"""Google Cloud Build (``cloudbuild.yaml``/``.json``).

A step of the docker builder (``gcr.io/cloud-builders/docker``, or any ``docker`` image) with ``args:
['build', ..., '--build-arg', 'NAME=...']`` runs docker with that argv, no shell: the two items become
``'--secret', 'id=<id>,env=<V>'``. V is NAME when the value came from the step's environment (no value:
``secretEnv``/``env``), or a new ``env`` entry ``NAME=<value>`` when the value was a substitution
(``${_NPM_TOKEN}``), which Cloud Build writes into the argv. A step whose ``script:`` (or ``bash -c`` args)
is shell text is rewritten as a script, ``$$NAME`` being the shell's ``$NAME``.

Cloud Build's docker builder uses the legacy builder, which has no ``--secret``, unless ``DOCKER_BUILDKIT=1``
is in the step's environment (GoogleCloudPlatform/cloud-builders#506, google-github-actions/setup-gcloud#658:
"the --mount option requires BuildKit"): a step that now passes a secret gets it. A kaniko step
(``gcr.io/kaniko-project/executor``) has no build secrets: blocked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.invocations.coverage import Coverage, literal_value_class, redact_literal
from codemod.invocations.result import InvocationResult
from codemod.invocations.scripts import KANIKO_REASON, KIND, Rewrite, docker_blocked, literal_note, rewrite_span
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
    parse_yaml,
    stray_build_args,
    verify_yaml,
)
from codemod.model import DockerfileMigration

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

_SUBST = re.compile(r"\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))")
_ESCAPED = re.compile(r"\$\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))")
_SHELLS = ("bash", "sh", "/bin/bash", "/bin/sh")
BUILDKIT_NOTE = ("DOCKER_BUILDKIT=1 added to the step's env: Cloud Build's docker builder uses the legacy builder "
                 "otherwise, which has no --secret")


@dataclass
class _Cb:
    text: str
    display: str
    nl: str
    cov: Coverage
    ed: Editor
    result: InvocationResult
    docker_blocked: str

    def block(self, index: int, name: str, reason: str) -> None:
        block(self.result, self.display, self.text, index, name, reason, KIND)


def migrate_cloudbuild(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]
                       ) -> InvocationResult:
    result = InvocationResult()
    if b"build-arg" not in data:
        return result
    text = decode_text(data)
    root = parse_yaml(text, display)
    ed = Editor(text)
    steps = get(root, "steps") if root is not None and is_map(root) else None
    if steps is None or not is_seq(steps[1]):
        return finish(result, text, ed)
    c = _Cb(text, display, newline_of(text), Coverage.of(migrations), ed, result, docker_blocked(text))
    for step in steps[1].value:
        if is_map(step):
            _step(c, step)
    for name, at in stray_build_args(root, _read(steps[1])):
        if c.cov.action(name) is not None:
            c.block(at, name, STRAY_REASON)
    return verify_yaml(finish(result, text, ed), display)


def _read(steps: Node) -> set[int]:
    """Ids of the scalars read above: each step's ``script`` and ``args`` items. A ``--build-arg`` anywhere
    else (a substitution's default, ``options.env``) is a producer this rewrite does not place."""
    read: set[int] = set()
    for step in steps.value:
        for key in ("args", "script"):
            pair = get(step, key) if is_map(step) else None
            if pair is not None:
                read.add(id(pair[1]))
                read.update(id(n) for n in (pair[1].value if is_seq(pair[1]) else []))
    return read


def _step(c: _Cb, step: Node) -> None:
    name = get(step, "name")
    image = str(name[1].value) if name is not None and is_scalar(name[1]) else ""
    args = get(step, "args")
    items = [i for i in args[1].value if is_scalar(i)] if args is not None and is_seq(args[1]) else []
    words = [str(i.value) for i in items]
    entry = get(step, "entrypoint")
    script = get(step, "script")
    if script is not None and is_scalar(script[1]):
        _shell(c, step, script[1], not is_block(step))
    elif entry is not None and str(entry[1].value) in _SHELLS and "-c" in words[:-1]:
        assert args is not None
        _shell(c, step, items[words.index("-c") + 1], not is_block(args[1]))
    elif "kaniko" in image:
        _block_argv(c, items, KANIKO_REASON)
    elif re.search(r"(?:^|/)docker(?::|$)", image) and (words[:1] == ["build"] or words[:2] == ["buildx", "build"]):
        assert args is not None
        _argv(c, step, args, items, buildx=words[0] == "buildx")
    else:
        _block_argv(c, items, f"the builder {image or '?'} is not one this rewrite knows")


def _pairs(items: list[Node]) -> list[tuple[Node | None, Node, str, str | None]]:
    """(the ``--build-arg`` item or None, the item holding NAME[=value], NAME, value) of each build arg."""
    out: list[tuple[Node | None, Node, str, str | None]] = []
    for k, item in enumerate(items):
        v = str(item.value)
        if v == "--build-arg" and k + 1 < len(items):
            spec, flag = str(items[k + 1].value), item
            target = items[k + 1]
        elif v.startswith("--build-arg="):
            spec, flag, target = v[len("--build-arg=") :], None, item
        else:
            continue
        name, eq, value = spec.partition("=")
        out.append((flag, target, name, value if eq else None))
    return out


def _block_argv(c: _Cb, items: list[Node], reason: str) -> None:
    for _, target, name, _ in _pairs(items):
        if c.cov.action(name) is not None:
            c.block(target.start_mark.index, name, reason)


def _argv(c: _Cb, step: Node, args: tuple[Node, Node], items: list[Node], *, buildx: bool) -> None:
    env = _env_items(step)
    why = c.docker_blocked or ("" if buildx or "DOCKER_BUILDKIT=0" not in env else
                               "DOCKER_BUILDKIT=0 selects the legacy builder, which has no --secret")
    needs: list[str] = []
    gone: list[Node] = []
    emitted = False
    for flag, target, name, value in _pairs(items):
        action = c.cov.action(name)
        vstart = target.start_mark.index + (1 if getattr(target, "style", None) else 0)
        if value is not None:
            off = len(name) + 1 + (len("--build-arg=") if flag is None else 0)
            redact_literal(c.result, name, value, vstart + off, vstart + off + len(value),
                           covered=action in ("secret", "runtime"))
        if action is None:
            continue
        if action == "mixed" or (why and action == "secret"):
            c.block(target.start_mark.index, name, c.cov.mixed_reason(name) if action == "mixed" else why)
            continue
        if action != "secret":
            gone += [x for x in (flag, target) if x is not None]
            c.result.findings.append(finding(c.display, c.text, target.start_mark.index, name, KIND,
                                             f"--build-arg {name} has no ARG after the migration: removed"))
            continue
        emitted |= _argv_secret(c, flag, target, name, value, needs, env)
    _remove_items(c, args[1], gone)
    if emitted and not buildx and "DOCKER_BUILDKIT=1" not in env:
        needs.insert(0, "DOCKER_BUILDKIT=1")
        c.result.notes.append(f"{c.display}:{_line(c, args[0])}: {BUILDKIT_NOTE}")
    _add_env_items(c, step, args[0], needs)


def _argv_secret(c: _Cb, flag: Node | None, target: Node, name: str, value: str | None, needs: list[str],
                 env: dict[str, str]) -> bool:
    sid = c.cov.id_of(name)
    var = name
    if value is not None:
        esc, sub = _ESCAPED.fullmatch(value), _SUBST.fullmatch(value)
        if esc is not None:
            var = esc.group("b") or esc.group("p")
        elif sub is not None:
            if env.get(name, value) != value:
                c.block(target.start_mark.index, name, f"the step's env sets {name} to something else")
                return False
            if name not in env:
                needs.append(f"{name}={value}")
        else:
            c.result.notes.append(f"{c.display}:{_line(c, target)}: --build-arg {name} had a value that is not a "
                                  f"substitution; the secret is now read from {name}: set it in the step's secretEnv")
    secret = f"--secret id={sid},env={var}"
    c.result.build_flags.append(secret)
    c.result.findings.append(finding(c.display, c.text, target.start_mark.index, name, KIND,
                                     f"--build-arg {name} now reaches the build as secret {sid} (read from "
                                     f"environment variable {var})", fix=secret,
                                     value_class=literal_value_class(name, value) if value and "$" not in value
                                     else ""))
    if flag is None:
        _set_item(c, target, f"--secret=id={sid},env={var}")
    else:
        _set_item(c, flag, "--secret")
        _set_item(c, target, f"id={sid},env={var}")
    return True


def _line(c: _Cb, node: Node) -> int:
    return c.text.count("\n", 0, node.start_mark.index) + 1


def _set_item(c: _Cb, item: Node, value: str) -> None:
    quoted = 1 if getattr(item, "style", None) in ("'", '"') else 0
    c.ed.replace(item.start_mark.index + quoted, item.end_mark.index - quoted, value)


def _remove_items(c: _Cb, seq: Node, gone: list[Node]) -> None:
    if not gone:
        return
    ids = {id(g) for g in gone}
    items = seq.value
    for k, item in enumerate(items):
        if id(item) not in ids:
            continue
        if is_block(seq):
            c.ed.delete(line_start(c.text, item.start_mark.index), line_end(c.text, item.start_mark.index))
        elif k + 1 < len(items):
            c.ed.delete(item.start_mark.index, items[k + 1].start_mark.index)
        else:
            c.ed.delete(items[k - 1].end_mark.index, item.end_mark.index)


def _env_items(step: Node) -> dict[str, str]:
    env = get(step, "env")
    out: dict[str, str] = {}
    if env is not None and is_seq(env[1]):
        for i in env[1].value:
            if is_scalar(i):
                k, _, v = str(i.value).partition("=")
                out[k] = v
                out[str(i.value)] = v  # "DOCKER_BUILDKIT=1" in env answers the whole entry too
    return out


def _add_env_items(c: _Cb, step: Node, anchor: Node, needs: list[str]) -> None:
    """Add ``KEY=value`` entries to the step's ``env`` list (block or flow), or write one."""
    if not needs:
        return
    env = get(step, "env")
    if env is not None and is_seq(env[1]) and env[1].value:
        first = env[1].value[0]
        q = getattr(first, "style", None) or ""
        q = q if q in ("'", '"') else ""
        if is_block(env[1]):
            dash = column(c.text, first.start_mark.index) - 2
            at = after_node(c.text, env[1])
            c.ed.insert(at, insertion(c.text, at, [" " * dash + f"- {q}{n}{q}" for n in needs], c.nl))
        else:
            c.ed.insert(env[1].value[-1].end_mark.index, "".join(f", {q}{n}{q}" for n in needs))
        return
    if env is not None:
        for n in needs:
            c.block(env[0].start_mark.index, n.split("=")[0], "the step's env is not a list this rewrite can extend")
        return
    ind = column(c.text, anchor.start_mark.index)
    line = " " * ind + "env: [" + ", ".join(f"'{n}'" for n in needs) + "]"
    at = line_start(c.text, anchor.start_mark.index) if only_blank_before(c.text, anchor.start_mark.index) \
        else after_node(c.text, step)
    c.ed.insert(at, insertion(c.text, at, [line], c.nl))


def _shell(c: _Cb, step: Node, value: Node, flow: bool) -> None:
    if not is_scalar(value) or "build-arg" not in str(value.value):
        return
    got = yaml_view(c.text, value, flow=flow)
    if got is None:
        _block_text(c, value)
        return
    env = _env_items(step)
    rw = Rewrite(got[0], c.display, KIND, "shell", c.cov, c.ed, c.result, raw=c.text,
                 docker_blocked=c.docker_blocked or ("DOCKER_BUILDKIT=0 selects the legacy builder, which has no "
                                                     "--secret" if "DOCKER_BUILDKIT=0" in env else ""),
                 buildkit_prefix="DOCKER_BUILDKIT=1" not in env, step_env=env, resolve=_shell_value)
    rewrite_span(rw, got[1], got[2])
    needs = [f"{k}={v}" for k, v in rw.env_needs.items()]
    args = get(step, "args") or get(step, "script")
    if needs and args is not None:
        _add_env_items(c, step, args[0], needs)


def _block_text(c: _Cb, value: Node) -> None:
    for m in re.finditer(r"build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)", str(value.value)):
        if c.cov.action(m.group(1)) is not None:
            c.block(value.start_mark.index, m.group(1), "the shell text is in a YAML form this rewrite cannot edit")


def _shell_value(rw: Rewrite, at: int, name: str, value: str) -> str | None:
    """``$$X`` is the shell's ``$X`` (an environment variable: secretEnv, env); ``${_X}`` is a substitution
    Cloud Build writes into the text, which now reaches the build through the step's env as NAME."""
    esc = _ESCAPED.fullmatch(value)
    if esc is not None:
        return esc.group("b") or esc.group("p")
    sub = _SUBST.fullmatch(value)
    if sub is not None:
        have = rw.step_env.get(name)
        if have is not None and have != value:
            rw.block(at, name, f"the step's env sets {name} to something else")
            return None
        if have is None:
            rw.env_needs.setdefault(name, value)
        return name
    literal_note(rw, at, name)
    return name
