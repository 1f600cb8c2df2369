"""BuildKit's instruction set: the keywords its Dockerfile frontend turns into commands.

BuildKit's parser (:mod:`codemod.dockerfile.scanner` follows it) accepts any word as an instruction;
its next step, ``instructions.ParseInstruction`` (moby/buildkit ``frontend/dockerfile/instructions/
parse.go``), refuses a keyword it does not know with ``unknown instruction: COPPY (did you mean
COPY?)`` and rejects ``ONBUILD ONBUILD``, ``ONBUILD FROM`` and ``ONBUILD MAINTAINER``. A file it
refuses never builds, so the migration refuses it too and writes nothing.
"""

from __future__ import annotations

from codemod.dockerfile.scanner import Dockerfile, ParseError

#: every instruction BuildKit knows (``command.Commands``), upper-case
INSTRUCTIONS: frozenset[str] = frozenset((
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
))


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (BuildKit's ``suggest`` package uses it to propose a keyword)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _suggestion(word: str) -> str:
    """`` (did you mean COPY?)`` as BuildKit words it: the nearest keyword under distance 3, in the word's case."""
    best, dist = "", 3
    for name in sorted(INSTRUCTIONS):
        d = _distance(word.lower(), name.lower())
        if d < dist:
            best, dist = name, d
    if not best:
        return ""
    if word == word.lower():
        best = best.lower()
    elif word != word.upper():
        best = best.lower()  # BuildKit keeps the option's own (lower) case for a mixed-case word
    return f" (did you mean {best}?)"


def check_instructions(df: Dockerfile) -> None:
    """Raise :class:`ParseError` (1-based line) at the first instruction BuildKit would refuse."""
    for ins in df.instructions:
        word = ins.keyword
        if word not in INSTRUCTIONS:
            raise ParseError(f"unknown instruction: {ins.cmd}{_suggestion(ins.cmd)}", ins.start_line + 1)
        if word == "ONBUILD":
            trigger = ins.sub_cmd.upper()
            if trigger == "ONBUILD":
                raise ParseError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", ins.start_line + 1)
            if trigger in ("MAINTAINER", "FROM"):
                raise ParseError(f"{trigger} isn't allowed as an ONBUILD trigger", ins.start_line + 1)
