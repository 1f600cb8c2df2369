"""Every parser-conformance case agrees with BuildKit's own parse of it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from codemod.dockerfile.render import dockerfile_json
from codemod.dockerfile.scanner import ParseError, parse

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "parser-conformance"


def _go(s: str) -> str:
    # BuildKit's answers come from Go: a non-UTF-8 byte shows as U+FFFD
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _view(cmd: dict[str, Any]) -> dict[str, Any]:
    return {
        "cmd": cmd["cmd"].lower(),
        "sub_cmd": cmd["sub_cmd"].lower(),
        "json": cmd["json"],
        "original": _go(cmd["original"]),
        "start_line": cmd["start_line"],
        "end_line": cmd["end_line"],
        "flags": [_go(f) for f in cmd["flags"]],
        "value": [_go(v) for v in cmd["value"]],
        "heredocs": [(h["name"], _go(h["content"]), h["fd"], h["expand"], h["chomp"]) for h in cmd["heredocs"]],
        "kvs": [(_go(k["key"]), _go(k["raw"]), _go(k["value"]), k["has_value"], k["legacy"]) for k in cmd["kvs"]],
    }


def _cases() -> list[Any]:
    out = []
    for kind in ("valid", "invalid"):
        for f in sorted((CASES / kind).glob("*.Dockerfile")):
            answer = json.loads(f.with_name(f.name[: -len(".Dockerfile")] + ".buildkit.json").read_text())
            out.append(pytest.param(f.read_bytes(), answer, id=f"{kind}/{f.stem}"))
    for name in ("random", "heredoc-edge"):
        with open(CASES / f"{name}.jsonl") as fh:
            for i, line in enumerate(fh):
                d = json.loads(line)
                out.append(pytest.param(base64.b64decode(d["input_b64"]), d["buildkit"], id=f"{name}-{i}"))
    return out


@pytest.mark.parametrize(("data", "answer"), _cases())
def test_agrees_with_buildkit(data: bytes, answer: dict[str, Any]) -> None:
    if answer.get("error"):
        with pytest.raises(ParseError) as exc:
            parse(data)
        assert exc.value.reason == answer["error"]
        assert exc.value.line >= 1
        return
    got = dockerfile_json(parse(data))
    assert [_view(c) for c in got["cmds"]] == [_view(c) for c in answer["cmds"]]
    assert got["escape"] == answer["escape"]
    assert len(got["warnings"]) == len(answer["warnings"])


def test_case_counts() -> None:
    assert len(list((CASES / "valid").glob("*.Dockerfile"))) == 48
    assert len(list((CASES / "invalid").glob("*.Dockerfile"))) == 9
    assert sum(1 for _ in open(CASES / "random.jsonl")) == 400
    assert sum(1 for _ in open(CASES / "heredoc-edge.jsonl")) == 5


@pytest.mark.parametrize(
    ("line", "heredocs"),
    [
        ("RUN <<EOF", ["EOF"]),
        ("RUN <<  EOF", ["EOF"]),
        ('RUN <<"EOF" RUN echo "unterminated <<EOF', []),  # the split fails on the open quote: no heredoc
        ("RUN echo <<EOFRUN echo 'open <<EOF", []),
        ("RUN cat <<EOF ${X:-a}", ["EOF"]),
        ("RUN cat <<EOF ${X", []),  # missing '}'
        ("RUN cat <<EOF ${#X}", []),  # '${#' then a name: unsupported modifier
        ("RUN cat <<EOF ${}", []),  # bad substitution
        ('RUN cat <<EOF "${X:-"a"}"', ["EOF"]),
        ("RUN cat <<EOF ${X/a/b} ${X%%.*} \\'", ["EOF"]),  # an escaped quote opens nothing
        ("RUN <<${X}", ["${X}"]),  # unset variables are kept as written
    ],
)
def test_heredocs_only_when_the_line_lexes(line: str, heredocs: list[str]) -> None:
    body = "".join(f"{h}\n" for h in heredocs)
    df = parse(f"FROM a\n{line}\n{body}".encode())
    assert [h.name for h in df.instructions[1].heredocs] == heredocs


def test_key_and_value_offsets_point_at_the_bytes() -> None:
    data = (CASES / "valid" / "escape-backtick.Dockerfile").read_bytes()
    df = parse(data)
    env = next(i for i in df.instructions if i.keyword == "ENV")
    got = [(data[kv.start : kv.key_end], data[kv.value_start : kv.value_end], kv.line) for kv in env.kvs]
    assert got == [(b"TOOLS", b"C:\\tools", 2), (b"HOME", b"C:\\Users\\app", 3)]


def test_offsets_across_crlf_bom_and_latin1() -> None:
    data = b"\xef\xbb\xbfFROM a\r\nENV A=1 \\\r\n  # c\r\n  B=\"x\xe9 y\" \\\r\n  C=3\r\nARG T\r\nARG U=\r\n"
    df = parse(data)
    env, arg_t, arg_u = df.instructions[1], df.instructions[2], df.instructions[3]
    assert [(data[kv.start : kv.key_end], data[kv.value_start : kv.value_end]) for kv in env.kvs] == [
        (b"A", b"1"), (b"B", b'"x\xe9 y"'), (b"C", b"3"),
    ]
    assert [kv.line for kv in env.kvs] == [1, 3, 4]
    assert env.kvs[1].value == "x\udce9 y"
    assert (arg_t.kvs[0].has_value, arg_t.kvs[0].value_start) == (False, -1)
    assert arg_u.kvs[0].has_value and arg_u.kvs[0].value_start == arg_u.kvs[0].value_end
    assert data[env.start : env.end].startswith(b"ENV A=1")
    assert df.instructions[0].start == 0 and df.instructions[0].cmd_start == 3


def test_legacy_env_offsets() -> None:
    data = b"FROM a\nENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305\n"
    kv = parse(data).instructions[1].kvs[0]
    assert kv.legacy and data[kv.start : kv.key_end] == b"GPG_KEY"
    assert data[kv.value_start : kv.value_end] == b"7169605F62C751356D054A26A821E680E5FA6305"
