"""BuildKit's JSON view of a scanned Dockerfile (``migrate-secrets parse``)."""

from __future__ import annotations

from typing import Any

from codemod.dockerfile.scanner import Dockerfile, Instruction


def instruction_json(ins: Instruction) -> dict[str, Any]:
    return {
        "cmd": ins.cmd,
        "sub_cmd": ins.sub_cmd,
        "json": ins.json,
        "original": ins.original,
        "start_line": ins.start_line + 1,
        "end_line": ins.end_line + 1,
        "flags": list(ins.flags),
        "value": list(ins.value),
        "heredocs": [
            {"name": h.name, "fd": h.fd, "content": h.content, "expand": h.expand, "chomp": h.chomp}
            for h in ins.heredocs
        ],
        "kvs": [
            {"key": kv.key, "raw": kv.raw, "value": kv.value, "has_value": kv.has_value, "legacy": kv.legacy}
            for kv in ins.kvs
        ],
    }


def dockerfile_json(df: Dockerfile) -> dict[str, Any]:
    return {
        "cmds": [instruction_json(i) for i in df.instructions],
        "warnings": list(df.warnings),
        "escape": df.escape,
    }
