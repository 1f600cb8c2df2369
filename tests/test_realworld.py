"""The Docker official images: no findings, no change, no crash (shared/real-world)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from codemod.config import Config
from codemod.discover import DOCKERFILE, discover
from codemod.dockerfile.scanner import parse
from codemod.fix.loop import migrate

from conftest import shared_or_skip


@pytest.fixture(scope="module")
def corpus() -> Path:
    return shared_or_skip("real-world")


def _files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "docker-library").rglob("*") if p.is_file())


def test_every_file_parses(corpus: Path) -> None:
    files = _files(corpus)
    assert len(files) == 456
    for f in files:
        parse(f.read_bytes())  # raises on any file BuildKit would reject


def test_no_findings_and_no_change(corpus: Path) -> None:
    expected = json.loads((corpus / "expected.json").read_text())
    assert expected["true_secrets"] == []
    not_secret_at = {(o["file"], o["line"]) for e in expected["not_secrets"] for o in e["occurrences"]}
    assert len(not_secret_at) == 134
    seen = 0
    for f in _files(corpus):
        result = migrate(f.read_bytes(), str(f), Config())
        rel = str(f.relative_to(corpus))
        assert [(rel, h.finding.line, h.finding.variable) for h in result.hits] == []
        assert result.new is None, rel
        seen += 1
    assert seen == 456


def test_cli_over_the_tree_json_check_and_apply(corpus: Path, tmp_path: Path, cli, monkeypatch) -> None:
    tree = tmp_path / "docker-library"
    shutil.copytree(corpus / "docker-library", tree)
    monkeypatch.chdir(tmp_path)

    def digest() -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tree.rglob("*")) if p.is_file()}

    before = digest()
    code, out, _ = cli("--format", "json", "docker-library")
    assert code == 0
    doc = json.loads(out)
    assert doc["findings"] == [] and doc["errors"] == []
    assert doc["summary"]["files"] == 455  # elasticsearch's Dockerfile.template is skipped by name
    assert cli("--check", "docker-library")[:2] == (0, "")
    code, _, _ = cli("--apply", "docker-library")
    assert code == 0
    assert cli("--apply", "docker-library")[0] == 0
    assert digest() == before
    assert not list(tree.rglob("*.backup-*"))
    assert len(discover(["docker-library"])) == 455
    assert {d.kind for d in discover(["docker-library"])} == {DOCKERFILE}
