"""YAML, parsed only to locate nodes (ruamel.yaml): the edits are spans of the original text."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from codemod.invocations.result import InvocationError, InvocationResult
from codemod.invocations.text import column, line_end, line_no

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

_DIRECTIVE = re.compile(r"^%", re.M)
_YAML_SPECIAL = re.compile(
    r"(?i)(?:y|yes|n|no|true|false|on|off|null|~|[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?"
    r"|0x[0-9a-f]+|0o[0-7]+|\.inf|\.nan)"
)
_ALIAS = re.compile(r"[ \t]*:[ \t]*\*[^\s,\]}]+")
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_$./@%+=,:{}-]*")

def render_scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when that reads back as the same string, else double-quoted."""
    if (
        value
        and _PLAIN_SAFE.fullmatch(value)
        and not _YAML_SPECIAL.fullmatch(value)
        and value[0] not in "{}-:,%@"
        and ": " not in value
        and not value.endswith(":")
    ):
        return value
    return json.dumps(value, ensure_ascii=False)


def parse_yaml(text: str, display: str) -> Node | None:
    """The composed node tree (ruamel.yaml), or InvocationError with ``display:line: reason``.

    The tree of the last few texts is remembered: a compose file is read for its services and for its
    rewrite in the same run. Callers must not change the nodes.
    """
    return _parse_yaml_cached(text, display)


@functools.lru_cache(maxsize=4)
def _parse_yaml_cached(text: str, display: str) -> Node | None:
    node = _compose_c(text)
    if node is None:
        node = _compose_pure(text, display)
    if node is not None:
        _check_duplicates(node, text, display, set())
    return node


def _compose_c(text: str) -> Node | None:
    """libyaml's composer (ruamel.yaml.clib), about 8 times faster than the pure one, or None to use the pure
    one: when the C parser is missing, on a BOM (libyaml's marks would not count it), on text that is not
    valid Unicode, on any error (the pure parser then words it), on a last line with no line break (the
    parsers give the end of the last block a different line and column), on a tab (libyaml accepts
    ``a: x<TAB>`` where the pure parser refuses it), on a ``%`` directive (``%YAML 1.1`` changes how
    libyaml tags ``yes`` or ``0o17``), and on the two node kinds they
    place or read differently: an empty value (libyaml marks it right after its ``:``, the pure parser at
    the next token) and a folded ``>`` scalar (the round-trip parser keeps a marker in its value).
    tests/test_yaml_parsers.py checks that both give the same tree: tags, values, styles and marks."""
    if text.startswith("\ufeff") or not text.endswith("\n") or "\t" in text or _DIRECTIVE.search(text):
        return None
    try:
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=False)
        if getattr(yaml.Parser, "__name__", "") != "CParser":
            return None
        text.encode("utf-8")  # surrogate-escaped bytes: libyaml cannot take them
        node = yaml.compose(text)
    except Exception:  # noqa: BLE001 - whatever libyaml refuses, the pure parser answers (or words the error)
        return None
    if node is not None and not _like_pure(node, set()):
        return None
    return node


def _like_pure(node: Node, seen: set[int]) -> bool:
    """Give plain scalars the pure parser's style (None, not ``''``); False on a node the parsers differ on."""
    if id(node) in seen:
        return True
    seen.add(id(node))
    if isinstance(node.value, str):
        style = getattr(node, "style", None)
        if style == ">" or (node.value == "" and not style):
            return False
        if style == "":
            node.style = None  # type: ignore[attr-defined]
        return True
    return all(_like_pure(n, seen) for item in node.value for n in (item if isinstance(item, tuple) else (item,)))


def _compose_pure(text: str, display: str) -> Node | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="rt")
    try:
        return yaml.compose(text)
    except ReaderError as e:
        raise InvocationError(f"{display}:{line_no(text, e.position)}: not valid YAML text ({e.reason})") from None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        index = getattr(mark, "index", None)
        line = line_no(text, index) if isinstance(index, int) else mark.line + 1 if mark is not None else 1
        reason = e.problem or e.context or "not valid YAML"
        raise InvocationError(f"{display}:{line}: {reason}") from None
    except YAMLError as e:
        raise InvocationError(f"{display}:1: {e}") from None


def _check_duplicates(node: Node, text: str, display: str, seen: set[int]) -> None:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        keys: set[str] = set()
        for k, v in node.value:
            if is_scalar(k) and k.tag != "tag:yaml.org,2002:merge":
                if k.value in keys:
                    line = line_no(text, k.start_mark.index)
                    raise InvocationError(f"{display}:{line}: duplicate key '{k.value}'")
                keys.add(k.value)
            _check_duplicates(v, text, display, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _check_duplicates(item, text, display, seen)


def is_map(node: Any) -> bool:
    return getattr(node, "id", None) == "mapping"  # ruamel.yaml's node classes name their kind: no import per call


def is_seq(node: Any) -> bool:
    return getattr(node, "id", None) == "sequence"


def is_scalar(node: Any) -> bool:
    return getattr(node, "id", None) == "scalar"


def is_block(node: Node) -> bool:
    return not getattr(node, "flow_style", False)


def get(node: Node | None, key: str) -> tuple[Node, Node] | None:
    """The (key node, value node) of a direct ``key`` of a mapping node (merge keys are not followed)."""
    if node is None or not is_map(node):
        return None
    for k, v in node.value:
        if is_scalar(k) and k.value == key and k.tag != "tag:yaml.org,2002:merge":
            return k, v
    return None


def yaml_data(node: Node | None, depth: int = 0) -> Any:
    """Plain data from a node tree, as a loader gives it: mappings become dicts with merge keys (``<<``)
    applied (a key of its own wins, then the first merged mapping; keys in the loader's order), sequences
    lists, and every scalar its text (``null``/``~`` and an empty value None). Nesting deeper than 100 (an
    alias loop) ends in None."""
    if node is None or depth > 100:
        return None
    if is_scalar(node):
        if node.tag == "tag:yaml.org,2002:null":
            return None
        return str(node.value)
    if is_seq(node):
        return [yaml_data(n, depth + 1) for n in node.value]
    out: dict[Any, Any] = {}
    merges: list[Node] = []
    for k, v in node.value:
        if is_scalar(k) and k.tag == "tag:yaml.org,2002:merge":
            merges.extend(v.value if is_seq(v) else [v])
            continue
        key = yaml_data(k, depth + 1)
        if isinstance(key, (str, type(None))):
            out[key] = yaml_data(v, depth + 1)
    for m in merges:  # after the mapping's own keys, in the order of the merge list, as a loader has them
        data = yaml_data(m, depth + 1)
        if isinstance(data, dict):
            for key, value in data.items():
                out.setdefault(key, value)
    return out


def has_merge(node: Node) -> bool:
    return is_map(node) and any(is_scalar(k) and k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value)


def is_alias_of_earlier(key: Node, value: Node) -> bool:
    """A value written as ``*alias`` composes to the anchored node, which starts before its key."""
    return bool(value.start_mark.index < key.end_mark.index)


def content_end(text: str, node: Node) -> int:
    """Index of the last character of a node's own text (block collections end at their last child)."""
    if is_map(node) and node.value and is_block(node):
        return pair_end(text, *node.value[-1])
    if is_seq(node) and node.value and is_block(node):
        return content_end(text, node.value[-1])
    if is_scalar(node) and getattr(node, "style", None) in ("|", ">"):
        # A block scalar's end mark follows its trailing blank lines; stop at its last content line.
        lines = block_scalar_lines(text, node)
        end = lines[-1][1] if lines else line_end(text, node.start_mark.index)
        return max(end - 1, node.start_mark.index)
    return max(int(node.end_mark.index) - 1, int(node.start_mark.index))


def pair_end(text: str, key: Node, value: Node) -> int:
    """Index of the last character of a ``key: value`` pair."""
    if is_scalar(value) and value.start_mark.index == value.end_mark.index:
        # ``key:`` with no value: its (null) node is marked at the next token
        return text.index(":", key.end_mark.index)
    if is_alias_of_earlier(key, value):
        # ``key: *name`` composes to the anchored node, written earlier: end at the alias itself
        m = _ALIAS.match(text, key.end_mark.index)
        if m is not None:
            return m.end() - 1
    return content_end(text, value)


def after_pair(text: str, key: Node, value: Node) -> int:
    return line_end(text, pair_end(text, key, value))


def after_node(text: str, node: Node) -> int:
    """Start of the line after the node's last content line (where a sibling block may be inserted)."""
    return line_end(text, content_end(text, node))


def block_scalar_lines(text: str, node: Node) -> list[tuple[int, int]]:
    """(start, end) of each physical content line of a ``|``/``>`` scalar; end is past its ``\\n``."""
    start = line_end(text, node.start_mark.index)
    end = int(node.end_mark.index)
    out: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        stop = line_end(text, pos)
        out.append((pos, min(stop, len(text))))
        if stop == pos:
            break
        pos = stop
    # trailing blank lines are chomped away or kept as the value's end: never content we edit
    while out and text[out[-1][0] : out[-1][1]].strip() == "":
        out.pop()
    return out


def scalar_source(text: str, node: Node) -> str:
    return text[node.start_mark.index : node.end_mark.index]


def seq_indent(node: Node | None, text: str) -> int | None:
    """How far a block sequence's dashes sit right of their key, from the first one found in the tree."""
    if node is None:
        return None
    stack: list[Node] = [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if is_map(n):
            for k, v in n.value:
                if is_seq(v) and is_block(v) and v.value and not is_alias_of_earlier(k, v):
                    return column(text, v.start_mark.index) - column(text, k.start_mark.index)
                stack.append(v)
        elif is_seq(n):
            stack.extend(reversed(n.value))
    return None


def map_step(node: Node | None, text: str, default: int = 2) -> int:
    """The indentation step of block mappings, from the first nested block mapping found."""
    if node is None or not is_map(node):
        return default
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        if is_map(n) and is_block(n):
            for k, v in n.value:
                if is_map(v) and is_block(v) and v.value and not is_alias_of_earlier(k, v):
                    child = v.value[0][0]
                    if line_no(text, child.start_mark.index) > line_no(text, k.start_mark.index):
                        step = column(text, child.start_mark.index) - column(text, k.start_mark.index)
                        if step > 0:
                            return step
                stack.append(v)
    return default


def scalars(root: Node | None) -> Iterator[Node]:
    """Every scalar of the tree (keys included), each once."""
    stack, seen = [root] if root is not None else [], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if is_scalar(n):
            yield n
        elif is_map(n):
            for k, v in reversed(n.value):
                stack += [v, k]
        elif is_seq(n):
            stack.extend(reversed(n.value))


STRAY_REASON = "a --build-arg in a YAML value this rewrite does not read as a build command (a variable holding " \
    "flags, a plugin setting)"
_STRAY = re.compile(r"build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)")


def stray_build_args(root: Node | None, read: set[int]) -> Iterator[tuple[str, int]]:
    """(NAME, index) of each ``--build-arg NAME`` in a scalar no handler read (ids in ``read``)."""
    for n in scalars(root):
        if id(n) in read or "build-arg" not in str(n.value):
            continue
        for m in _STRAY.finditer(str(n.value)):
            yield m.group(1), int(n.start_mark.index)


def verify_yaml(result: InvocationResult, display: str) -> InvocationResult:
    """The rewritten file must parse: if it does not, it is not rewritten and every producer it would have
    changed is blocked (a bug of this rewrite, never a broken file)."""
    from codemod.model import BlockedProducer
    from codemod.source import decode

    if result.new is None:
        return result
    try:
        parse_yaml(decode(result.new), display)
    except InvocationError as e:
        why = f"the rewritten file would not parse ({e})"
        result.blocked += [BlockedProducer(f.variable, None, f.path, f.line, why, f.kind, f.column)
                           for f in result.findings if f.fixable]
        result.findings = [f for f in result.findings if not f.fixable]
        result.new = None
    return result
