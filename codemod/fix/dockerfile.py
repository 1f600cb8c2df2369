"""Turn the actions of every rule on one Dockerfile into byte edits.

Actions are grouped per instruction, so that several pairs leaving one ENV give
one consistent layout: whole lines go when a pair had its line to itself, the
continuation before a removed last pair goes with it, and an instruction that
loses every pair goes whole, with the comment lines directly above it.
"""

from __future__ import annotations

import bisect
import re
import shlex
from collections import defaultdict

from codemod.dockerfile.scanner import Dockerfile, Instruction, KeyValue
from codemod.model import Action, Edit, InlineEnv, MergeInto, Mount, RemovePair, SetValue
from codemod.source import encode

SECURE_BLOCK = [
    "# SECURITY: All sensitive configuration MUST be provided at runtime via:",
    "# - docker-compose env_file directive",
    "# - docker run -e flags",
    "# - Kubernetes ConfigMap/Secret",
    "# - Host environment variables",
    "#",
    "# DO NOT add ARG defaults for:",
    "# - API keys, tokens, passwords",
    "# - Database credentials",
    "# - Service secrets",
    "# - Authentication tokens",
    "#",
    "# These values are intentionally NOT defined here to prevent",
    "# accidental exposure in image layers or build cache.",
]
SECURE_MARKER = SECURE_BLOCK[0].encode()
BOM = b"\xef\xbb\xbf"
KEPT_ENV_COMMENT = "# Non-sensitive default paths and configuration only"


def _pair_end(kv: KeyValue) -> int:
    return kv.value_end if kv.has_value else kv.key_end


class Layout:
    def __init__(self, df: Dockerfile) -> None:
        self.df = df
        self.data = df.data
        self.bom = len(BOM) if df.data.startswith(BOM) else 0
        cont = re.escape(df.escape)
        self._tail = re.compile(rb"[ \t]*(?:" + cont.encode() + rb")?[ \t]*\r?\n?")

    def line_start(self, offset: int) -> int:
        return self.data.rfind(b"\n", 0, offset) + 1

    def line_end(self, offset: int) -> int:
        """Offset just after the newline of the line holding ``offset`` (or EOF)."""
        nl = self.data.find(b"\n", offset)
        return len(self.data) if nl < 0 else nl + 1

    def content_end(self, offset: int) -> int:
        """Offset of the line terminator (``\\r\\n`` or ``\\n``) of the line holding ``offset``."""
        end = self.line_end(offset)
        if end > 0 and self.data[end - 1 : end] == b"\n":
            end -= 1
            if end > 0 and self.data[end - 1 : end] == b"\r":
                end -= 1
        return end

    def comments_start(self, line_start: int, floor: int) -> int:
        """Start of the comment lines directly above ``line_start``, not before ``floor``."""
        start = line_start
        while start > floor:
            prev = self.line_start(start - 1)
            if prev < floor or not self.data[prev:start].strip().startswith(b"#"):
                break
            start = prev
        return start

    def only_continuation(self, start: int, end: int) -> bool:
        return self._tail.fullmatch(self.data[start:end]) is not None

    def comments_above(self, ins_index: int) -> int:
        """Start of the comment lines directly above instruction ``ins_index`` (no blank line between)."""
        df = self.df
        ins = df.instructions[ins_index]
        floor = df.instructions[ins_index - 1].end if ins_index else 0
        directive_lines = set(df.directive_lines.values())
        start = ins.start
        k = _line_no(df, ins.start) - 1
        while k >= 0 and df.starts[k] >= floor and k not in directive_lines:
            text = (df.lines[k].removeprefix(BOM) if k == 0 else df.lines[k]).strip()
            if not text.startswith(b"#"):
                break
            start = df.starts[k]
            k -= 1
        return max(start, self.bom)


def _line_no(df: Dockerfile, offset: int) -> int:
    return bisect.bisect_right(df.starts, offset) - 1


def plan_edits(df: Dockerfile, actions: list[Action], *, secure_block: bool = True) -> list[Edit[bytes]]:
    lay = Layout(df)
    nl = b"\r\n" if df.data.count(b"\r\n") * 2 > df.data.count(b"\n") else b"\n"
    removes: dict[int, set[int]] = defaultdict(set)
    runtime_removed: set[int] = set()
    sets: dict[tuple[int, int], str] = {}
    run_env: dict[int, list[str]] = defaultdict(list)
    mounts: dict[int, list[Mount]] = defaultdict(list)
    merges: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for a in actions:
        if isinstance(a, RemovePair):
            removes[a.ins].add(a.kv)
            if a.runtime:
                runtime_removed.add(a.ins)
        elif isinstance(a, SetValue):
            sets[(a.ins, a.kv)] = a.text
        elif isinstance(a, InlineEnv):
            if a.text not in run_env[a.ins]:
                run_env[a.ins].append(a.text)
        elif isinstance(a, Mount):
            if a not in mounts[a.ins]:
                mounts[a.ins].append(a)
        elif isinstance(a, MergeInto):
            if (a.writer, a.undo) not in merges[a.ins]:
                merges[a.ins].append((a.writer, a.undo))
    for key in list(sets):
        if key[1] in removes.get(key[0], ()):
            del sets[key]

    edits: list[Edit[bytes]] = []
    whole = sorted(i for i, ks in removes.items() if len(ks) >= len(df.instructions[i].kvs))
    partial = sorted(i for i in removes if i not in whole)
    blocks: list[list[int]] = []  # [start, end, runtime?] byte spans of removed instructions (with comments)
    for i in whole:
        start = lay.comments_above(i)
        end = df.instructions[i].end
        if blocks and df.data[blocks[-1][1] : start] == b"":
            blocks[-1][1] = end
            blocks[-1][2] |= int(i in runtime_removed)
        else:
            blocks.append([start, end, int(i in runtime_removed)])

    # the plan's secure block replaces the first block removed whole (and its comments), once per file
    want_block = secure_block and SECURE_MARKER not in df.data
    block_text = nl.join(line.encode() for line in SECURE_BLOCK) + nl
    block_ends = set()
    placed = False
    for start, end, runtime in blocks:
        here = want_block and bool(runtime) and not placed
        placed |= here
        edits.append(Edit(start, end, block_text if here else b""))
        if here:
            block_ends.add(end)

    commented = False
    for i in partial:
        ins = df.instructions[i]
        edits.extend(_pair_edits(lay, ins, removes[i]))
        if (secure_block and not commented and ins.keyword == "ENV" and i in runtime_removed
                and KEPT_ENV_COMMENT.encode() not in df.data):
            prev_line_start = lay.line_start(max(ins.start - 1, 0)) if ins.start else 0
            above = df.data[prev_line_start : ins.start].strip()
            if above != KEPT_ENV_COMMENT.encode():
                gap = nl if ins.start in block_ends and want_block else b""
                edits.append(Edit(ins.start, ins.start, gap + KEPT_ENV_COMMENT.encode() + nl))
            commented = True
    for (i, k), text in sets.items():
        kv = df.instructions[i].kvs[k]
        if kv.has_value and kv.value_start >= 0:
            edits.append(Edit(kv.value_start, kv.value_end, encode(text)))
    edits.extend(_run_edits(lay, mounts, run_env, merges, nl))
    return edits


def _flags_index(ins: Instruction) -> int:
    """Index in ``original`` where the RUN's flags (or command) start: after the keyword and its blanks."""
    k = ins.sub_index + len(ins.sub_cmd) if ins.keyword == "ONBUILD" else len(ins.cmd)
    while k < len(ins.original) and ins.original[k] in " \t":
        k += 1
    return k


def _mount_flag(m: Mount) -> str:
    env = f",env={m.var}" if m.style == "env" else ""
    mode = f",mode={m.mode}" if m.mode and m.style == "file" else ""
    return f"--mount=type=secret,id={m.id}{env}{mode}" + (",required=true" if m.required else "")


def _export(m: Mount) -> str:
    """The file-style prefix that exposes secret ``m.id`` as ``m.var`` (Dockerfile 1.2+, buildah, podman)."""
    path = f"/run/secrets/{m.id}"
    if m.fallback is not None:
        return f'export {m.var}="$(cat {path} 2>/dev/null || printf %s {shlex.quote(m.fallback)})" && '
    if m.required:
        return f'export {m.var}="$(cat {path})" && '
    return f'if [ -f {path} ]; then export {m.var}="$(cat {path})"; fi && '


def _merged_mounts(specs: list[Mount]) -> list[Mount]:
    """One mount per (id, variable): required if any asks it, env style if any needs it."""
    out: dict[tuple[str, str], Mount] = {}
    for m in specs:
        have = out.get((m.id, m.var))
        if have is None:
            out[(m.id, m.var)] = m
            continue
        out[(m.id, m.var)] = Mount(have.ins, m.id, m.var, "env" if "env" in (have.style, m.style) else "file",
                                   have.required or m.required,
                                   have.fallback if have.fallback is not None else m.fallback, have.mode or m.mode)
    return list(out.values())


def _run_edits(lay: Layout, mounts: dict[int, list[Mount]], inline: dict[int, list[str]],
               merges: dict[int, list[tuple[int, str]]], nl: bytes) -> list[Edit[bytes]]:
    """Each RUN's new flags, command prefix (exports, placeholders, merged writers) and undo suffix."""
    df = lay.df
    edits: list[Edit[bytes]] = []
    env_style = False
    moved = {w for targets in merges.items() for w, _ in targets[1] if w != targets[0]}
    for i in sorted(set(mounts) | set(inline) | set(merges)):
        if i in moved:
            continue  # its command moves into the RUN it is merged into
        ins = df.instructions[i]
        specs = _merged_mounts(mounts.get(i, []))
        flags = list(dict.fromkeys(_mount_flag(m) for m in specs))
        env_style |= any(m.style == "env" for m in specs)
        prefix = encode("".join(_export(m) for m in specs if m.style == "file"))
        prefix += encode("".join(f"export {text} && " for text in inline.get(i, [])))
        for writer, _undo in merges.get(i, []):
            if writer == i:
                continue
            w = df.instructions[writer]
            start = w.byte_offset(w.args_index)
            end = lay.content_end(w.end - 1) if w.end > w.start else w.end
            prefix += df.data[start:end] + b" && "
            edits.append(Edit(w.start, w.end, b""))
        fat = ins.byte_offset(_flags_index(ins))
        aat = ins.byte_offset(ins.args_index)
        flag_text = encode(" ".join(flags) + " ") if flags else b""
        if fat == aat:
            if flag_text or prefix:
                edits.append(Edit(fat, fat, flag_text + prefix))
        else:
            if flag_text:
                edits.append(Edit(fat, fat, flag_text))
            if prefix:
                edits.append(Edit(aat, aat, prefix))
        undos = list(dict.fromkeys(u for _, u in merges.get(i, [])))
        if undos:
            end = lay.content_end(ins.end - 1) if ins.end > ins.start else ins.end
            edits.append(Edit(end, end, encode(" && " + " && ".join(undos))))
    if env_style:
        edits.extend(_syntax_edits(df, nl))
    return edits


_SYNTAX = re.compile(r"^docker/dockerfile:(\d+)(?:\.(\d+))?(?:\.\d+)?$")


def _syntax_edits(df: Dockerfile, nl: bytes) -> list[Edit[bytes]]:
    """``env=`` mounts need Dockerfile 1.10+: insert ``# syntax=docker/dockerfile:1`` or raise an older pin."""
    want = b"# syntax=docker/dockerfile:1"
    current = df.directives.get("syntax")
    if current is None:
        at = 3 if df.data.startswith(b"\xef\xbb\xbf") else 0
        return [Edit(at, at, want + nl)]
    m = _SYNTAX.match(current.strip())
    if m and m.group(2) is not None and (int(m.group(1)), int(m.group(2))) < (1, 10):
        line = df.directive_lines["syntax"]
        start = df.starts[line] + (3 if line == 0 and df.data.startswith(b"\xef\xbb\xbf") else 0)
        end = start + len(df.lines[line].rstrip(b"\r\n")) - (start - df.starts[line])
        return [Edit(start, end, want)]
    return []


def _pair_edits(lay: Layout, ins: Instruction, removed: set[int]) -> list[Edit[bytes]]:
    kvs = ins.kvs
    edits: list[Edit[bytes]] = []
    n = len(kvs)
    k = 0
    while k < n:
        if k not in removed:
            k += 1
            continue
        i = k
        while k < n and k in removed:
            k += 1
        first, last = kvs[i], kvs[k - 1]
        nxt = kvs[k] if k < n else None
        prev = kvs[i - 1] if i > 0 else None
        ls = lay.line_start(first.start)
        le = lay.line_end(_pair_end(last))
        own_lines = (
            lay.data[ls : first.start].strip(b" \t") == b""
            and first.line != ins.start_line
            and lay.only_continuation(_pair_end(last), le)
            and (prev is None or _pair_end(prev) < ls)
            and (nxt is None or nxt.start >= le)
        )
        if own_lines:
            floor = lay.line_end(_pair_end(prev)) if prev is not None else ins.start
            ls = lay.comments_start(ls, floor)
            edits.append(Edit(ls, le, b""))
            if nxt is None and prev is not None:
                pe = _pair_end(prev)
                edits.append(Edit(pe, lay.content_end(pe), b""))
        elif nxt is not None:
            edits.append(Edit(first.start, nxt.start, b""))
        elif prev is not None:
            edits.append(Edit(_pair_end(prev), _pair_end(last), b""))
    return edits
