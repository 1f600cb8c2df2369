"""BuildKit's instruction set (issue 17): a file BuildKit refuses is refused, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.config import Config
from codemod.dockerfile.scanner import ParseError, parse
from codemod.fix.loop import migrate

from conftest import git, snapshot

LEAKY_TYPO = b"FROM alpine\nARG DB_PASSWORD=changeme-db-password\nENV DB_PASSWORD=${DB_PASSWORD}\nCOPPY . .\n"


@pytest.mark.parametrize(("text", "message", "line"), [
    # BuildKit's words (instructions/parse.go, util/suggest): the keyword as written, the nearest one in its case
    (b"FROM a\nCOPPY . .\n", "unknown instruction: COPPY (did you mean COPY?)", 2),
    (b"FROM a\ncoppy . .\n", "unknown instruction: coppy (did you mean copy?)", 2),
    (b"FROM a\nRUNN echo\n", "unknown instruction: RUNN (did you mean RUN?)", 2),
    (b"FROM a\nFOOBAR x\n", "unknown instruction: FOOBAR", 2),
    (b"FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", 2),
    (b"FROM a\nONBUILD FROM b\n", "FROM isn't allowed as an ONBUILD trigger", 2),
])
def test_buildkit_refuses_and_so_do_we(text: bytes, message: str, line: int) -> None:
    from codemod.dockerfile.instructions import check_instructions

    with pytest.raises(ParseError) as exc:
        check_instructions(parse(text))
    assert (exc.value.reason, exc.value.line) == (message, line)


def test_every_instruction_buildkit_knows_passes() -> None:
    from codemod.dockerfile.instructions import INSTRUCTIONS, check_instructions

    body = b"".join(f"{word.lower() if i % 2 else word} x=1\n".encode() for i, word in enumerate(sorted(INSTRUCTIONS))
                    if word not in ("FROM", "ONBUILD"))
    check_instructions(parse(b"FROM a\n" + body + b"ONBUILD RUN x\n"))


def test_migrate_refuses_a_file_with_an_unknown_instruction() -> None:
    with pytest.raises(ParseError, match="unknown instruction: COPPY"):
        migrate(LEAKY_TYPO, "Dockerfile", Config())


def test_apply_writes_nothing_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli,
                                          state_home: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "Dockerfile").write_bytes(LEAKY_TYPO)
    (repo / "web").mkdir()
    (repo / "web" / "Dockerfile").write_bytes(b"FROM alpine\nENV API_TOKEN=replace-with-token-value\n")
    git(repo, "init", "-q", "-b", "main")
    monkeypatch.chdir(repo)
    before = snapshot(repo)
    code, out, err = cli("--apply")
    assert code == 2, out + err
    assert "app/Dockerfile:4: unknown instruction: COPPY" in out + err
    assert "nothing written" in out
    assert snapshot(repo) == before  # web/Dockerfile, which is fine, is not written either: all or nothing
    assert not state_home.exists()
    code, out, _ = cli("--check")
    assert code == 2 and "error: app/Dockerfile:4: unknown instruction: COPPY" in out
