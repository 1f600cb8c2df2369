"""Whether a compose file's secrets blocks can take new entries surgically (a block mapping or list of
their own); the reason when they cannot, which blocks the build args that need them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codemod.invocations.text import line_no
from codemod.invocations.yamlnodes import get, is_alias_of_earlier, is_block, is_map, is_scalar, is_seq, scalar_source

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

_NULL = "tag:yaml.org,2002:null"


def build_secrets_blocked(build: Node) -> str:
    if is_scalar(build):
        return ""
    if not (is_map(build) and is_block(build) and build.value):
        return "build is not a block mapping"
    existing = get(build, "secrets")
    if existing is not None and (is_alias_of_earlier(*existing) or not (
            is_seq(existing[1]) and is_block(existing[1]) and existing[1].value)):
        return "build.secrets is not a block list of its own"
    return ""


def top_blocked(text: str, root: Node) -> str:
    top = get(root, "secrets")
    if top is None:
        return ""
    tkey, tval = top
    if is_alias_of_earlier(tkey, tval):
        return "the top-level secrets is a YAML alias"
    if is_map(tval) and is_block(tval) and tval.value:
        return ""
    if is_scalar(tval) and tval.tag == _NULL and not scalar_source(text, tval).strip():
        return ""
    if is_map(tval) and not tval.value and line_no(text, tval.start_mark.index) == line_no(text, tval.end_mark.index):
        return ""
    return "the top-level secrets is not a block mapping"
