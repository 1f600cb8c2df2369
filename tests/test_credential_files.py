"""MS011: credential files copied into the image, named or swept in by `COPY . .` (report only)."""

from __future__ import annotations

from pathlib import Path

from codemod.config import Config
from codemod.fix.loop import migrate

DOCKERFILE = (
    b"FROM python:3.12\nWORKDIR /app\nCOPY . .\nCOPY .npmrc /root/.npmrc\nRUN pip install -r requirements.txt\n"
)


def _findings(ctx: Path) -> list[tuple[int, str, bool]]:
    result = migrate((ctx / "Dockerfile").read_bytes(), "Dockerfile", Config(), context_dir=ctx)
    assert result.new is None  # reported, never rewritten
    return [(h.finding.line, h.finding.variable, h.finding.fixable) for h in result.hits
            if h.finding.kind == "credential-file-copied"]


def test_swept_in_and_named_credential_files(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(DOCKERFILE)
    (tmp_path / ".env").write_text("DB_PASSWORD=x\n")
    (tmp_path / ".env.example").write_text("DB_PASSWORD=\n")
    (tmp_path / ".netrc").write_text("machine example.org login u password p\n")
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=npm_abcdefghijklmnop\n")
    (tmp_path / "requirements.txt").write_text("flask\n")
    assert _findings(tmp_path) == [(3, ".env", False), (3, ".netrc", False), (3, ".npmrc", False),
                                   (4, ".npmrc", False)]


def test_dockerignore_and_token_references_clear_them(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(DOCKERFILE)
    (tmp_path / ".env").write_text("DB_PASSWORD=x\n")
    (tmp_path / ".netrc").write_text("machine example.org login u password p\n")
    (tmp_path / ".dockerignore").write_text(".env\n.netrc\n")
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    assert _findings(tmp_path) == []
