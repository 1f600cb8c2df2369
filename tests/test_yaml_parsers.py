"""The YAML node tree from libyaml (ruamel.yaml.clib) is the pure parser's: tags, values, styles and marks.

The invocation rewriters edit text at node marks, so a parser that counted one character differently
would misplace an edit. Every YAML fixture and a set of awkward texts are composed both ways.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from codemod.invocations.yamlnodes import _compose_c, _compose_pure, parse_yaml, yaml_data

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix in (".yml", ".yaml"))

AWKWARD = [
    "services:\n  app:\n    build:\n      context: ./é日本😀\n      args:\n        TOKEN: ${TOKEN}\n",
    "services:\r\n  app:\r\n    build: .\r\n    environment: [\"a\", 'b']\r\n    x: |\r\n      hi\r\n\r\n",
    "a: &x {k: v}\nb: *x\nc:\n  <<: *x\n  d: !reset null\n  e: 'it''s'\n  f: yes\n  g: 010\n  h: 1.0\n  i: ~\n  j:\n",
    "x:\n\t- 1\n",  # a tab where indentation is expected: an error both ways
    "jobs:\n  b:\n    steps:\n      - with:\n          build-args: >-\n            A=1\n            B=2\n# end\n",
    "k: \"multi\n  line\"\nl: plain\n  continued\nm: [a, {b: c}]\n",
    "---\na: 1\n...\n",
    "",
    "# only a comment\n",
    "a: 1\na: 2\n",  # duplicate key: our check words it
    "a: *undefined\n",
    "? complex\n: key\n",
    "services:\n  app:\n    build:\n      context: app\t\n",  # the pure parser refuses the tab: so do we
    "a: x\ty\n", "a: 'x\ty'\n",
    "%YAML 1.1\n---\na: yes\nb: 0o17\nc: 12:30:00\n",
]


def _tree(node: Any, seen: set[int] | None = None) -> list[tuple[Any, ...]]:
    seen = set() if seen is None else seen
    if node is None:
        return []
    out = [(type(node).__name__, node.tag, node.start_mark.index, node.start_mark.line, node.start_mark.column,
            node.end_mark.index, node.end_mark.line, node.end_mark.column, getattr(node, "style", None),
            getattr(node, "flow_style", None), node.value if isinstance(node.value, str) else None)]
    if id(node) in seen or isinstance(node.value, str):
        return out
    seen.add(id(node))
    for item in node.value:
        for n in item if isinstance(item, tuple) else (item,):
            out.extend(_tree(n, seen))
    return out


def _pure_or_error(text: str) -> Any:
    try:
        return _tree(_compose_pure(text, "f.yaml"))
    except Exception as e:  # noqa: BLE001 - the comparison is of outcomes
        return type(e).__name__


def test_libyaml_is_installed() -> None:
    # a dependency (pyproject.toml): without it every file takes the pure path, which is correct but slow
    assert YAML(typ="safe", pure=False).Parser.__name__ == "CParser"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fixtures_compose_alike(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    assert _alike(text)


def _alike(text: str) -> bool:
    """Where libyaml answers, its tree is the pure one; where it steps aside, the text has an error, a BOM,
    an empty value or a folded scalar (the pure parser takes those)."""
    fast = _compose_c(text)
    expected = _pure_or_error(text)
    if fast is None:
        return (isinstance(expected, str) or not expected or any(n[10] == "" or n[8] == ">" for n in expected)
                or text[:1] == "\ufeff" or not text.endswith("\n") or "\t" in text or text.startswith("%"))
    return _tree(fast) == expected


@pytest.mark.parametrize("text", AWKWARD + [
    "a:\nb: 1\n", "a:", "a:\n# c\n", "x:\n  a:\n  b: 1\n", "a: {b: }\n", "a: 1", "- a\n-\n- c", "a: 'x'\r\n",
])
def test_awkward_texts_compose_alike(text: str) -> None:
    assert _alike(text)


_SCALARS = st.sampled_from(["v", "${TOKEN}", "'q''s'", '"d\\"q"', "010", "yes", "~", "a=b", "é😀", "[a, b]",
                            "{k: v}", "!reset null", "x # trailing", "|\n{i}l1\n{i}l2", "|-\n{i}l1",
                            ">-\n{i}f1\n{i}f2", ""])
_KEYS = st.sampled_from(["services", "build", "args", "NPM_TOKEN", "context", "secrets", "with", "build-args", "<<"])


def _block(draw: st.DrawFn, depth: int, indent: int) -> list[str]:
    """Lines of a well-formed block mapping or sequence at ``indent``: nested blocks, scalars of every style,
    comments and blank lines between entries."""
    pad, lines, seq = " " * indent, [], draw(st.booleans()) and depth > 0
    used: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", pad + "# a comment", pad + "# migrate-secrets: ignore=MS005"])))
        key = draw(_KEYS)
        if not seq and key in used:
            continue
        used.add(key)
        head = pad + ("-" if seq else key + ":")
        if depth < 3 and draw(st.integers(0, 2)) == 0:
            lines.append(head)
            lines.extend(_block(draw, depth + 1, indent + 2))
        else:
            value = draw(_SCALARS).replace("{i}", " " * (indent + 2))
            lines.append(f"{head} {value}".rstrip(" "))
    return lines


@st.composite
def _documents(draw: st.DrawFn) -> str:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(_block(draw, 0, 0)) + draw(st.sampled_from(["", newline]))


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_generated_documents_compose_alike(text: str) -> None:
    assert _alike(text)


def test_ordinary_files_take_the_fast_path() -> None:
    taken = [p for p in FIXTURES if _compose_c(p.read_bytes().decode("utf-8", "surrogateescape")) is not None]
    assert len(taken) >= len(FIXTURES) // 2, taken


def test_bom_and_undecodable_bytes_take_the_pure_path() -> None:
    assert _compose_c("\ufeffa: 1\n") is None
    assert _compose_c("a: b\udcff\n") is None
    node = parse_yaml("\ufeffa: 1\n", "f.yaml")
    assert node is not None and node.value[0][0].start_mark.index == 1  # the BOM is counted, as the text has it


def test_errors_are_worded_by_the_pure_parser() -> None:
    from codemod.invocations import InvocationError

    with pytest.raises(InvocationError, match=r"^f\.yaml:2: "):
        parse_yaml("x:\n\t- 1\n", "f.yaml")
    with pytest.raises(InvocationError, match=r"^f\.yaml:2: duplicate key 'a'"):
        parse_yaml("a: 1\na: 2\n", "f.yaml")


@pytest.mark.parametrize("path", [p for p in FIXTURES if "compose" in p.name], ids=lambda p: p.parent.name)
def test_yaml_data_is_what_a_loader_gives(path: Path) -> None:
    # compose files hold strings, maps and lists: the loader's data, merge keys applied, equals ours
    text = path.read_bytes().decode("utf-8", "surrogateescape")

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, list):
            return [plain(v) for v in x]
        return None if x is None else str(x)

    assert yaml_data(parse_yaml(text, "f.yaml")) == plain(YAML(typ="rt").load(text))


def test_a_tab_the_pure_parser_refuses_is_an_error() -> None:
    from codemod.invocations import InvocationError

    with pytest.raises(InvocationError, match="found character '\\\\t'"):
        parse_yaml("services:\n  app:\n    build:\n      context: app\t\n", "f.yaml")


def test_yaml_data_keys_in_the_loader_order() -> None:
    text = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  k: 0\n  <<: [*a, *b]\n  w: 5\nd:\n  <<: *b\n  q: 1\n"
    loaded = YAML(typ="rt").load(text)
    ours = yaml_data(parse_yaml(text, "f.yaml"))
    for key in ("c", "d"):
        assert list(ours[key].items()) == [(k, str(v)) for k, v in loaded[key].items()]


def test_yaml_data_merges_like_a_loader() -> None:
    text = ("x-base: &base\n  build: .\n  env_file: a.env\nx-more: &more\n  env_file: b.env\n  image: i\n"
            "services:\n  app:\n    <<: [*base, *more]\n    image: own\n")
    loaded = YAML(typ="rt").load(text)
    assert yaml_data(parse_yaml(text, "f.yaml"))["services"] == {"app": dict(loaded["services"]["app"])}
