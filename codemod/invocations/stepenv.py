"""A CI step's environment mapping (GitHub ``env:``, Azure ``env:``), read and extended in place."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from codemod.invocations.text import Editor, insertion, line_start, only_blank_before
from codemod.invocations.yamlnodes import after_node, column, get, is_alias_of_earlier, is_block, is_map, is_scalar

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node


def env_values(env: tuple[Node, Node] | None) -> dict[str, str]:
    if env is None or not is_map(env[1]):
        return {}
    return {str(k.value): str(v.value) for k, v in env[1].value if is_scalar(k) and is_scalar(v)}


def env_editable(env: tuple[Node, Node] | None) -> bool:
    return env is None or (is_map(env[1]) and is_block(env[1]) and bool(env[1].value) and not is_alias_of_earlier(*env))


def render_expr(expr: str) -> str:
    if ": " in expr or " #" in expr or expr[:1] in "'\"{[&*!|>%@`#":
        return json.dumps(expr, ensure_ascii=False)
    return expr


def add_env(ed: Editor, text: str, nl: str, step: Node, anchor: Node, needs: dict[str, str], step_indent: int,
            key: str = "env") -> None:
    """Add ``needs`` (name -> value) to the step's ``key:`` mapping, or a new one before the line of ``anchor``
    (a key of the step) when it starts its line, else after the step."""
    if not needs:
        return
    lines = [f"{name}: {render_expr(expr)}" for name, expr in needs.items()]
    env = get(step, key)
    if env is not None:
        ind = column(text, env[1].value[0][0].start_mark.index)
        ed.insert(after_node(text, env[1]), insertion(text, after_node(text, env[1]), [" " * ind + x for x in lines],
                                                      nl))
        return
    ind = column(text, anchor.start_mark.index)
    block = [" " * ind + f"{key}:"] + [" " * (ind + step_indent) + x for x in lines]
    at = line_start(text, anchor.start_mark.index) if only_blank_before(text, anchor.start_mark.index) \
        else after_node(text, step)
    ed.insert(at, insertion(text, at, block, nl))
