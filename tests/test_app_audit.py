"""Issue 8 through the CLI: the app beside the image (Python env defaults) and the env files around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, git, make_repo

SETTINGS = b'''import os

DB_HOST = os.getenv("POSTGRES_HOST", "archon-postgres")
DB_PASSWORD = os.getenv("POSTGRES_PASSWORD", "postgres")
MCP_SECRET = os.environ.get(
    "MCP_CLIENT_SECRET",
    "replace-with-mcp-secret",
)
DEBUG = os.getenv("DEBUG", "false")
'''
TOKEN = "ghp_" + "R4nd0mL00k1ngT0k3n" + "Abcdefghij0123456789"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    src = tmp_path / "src"
    import shutil

    shutil.copytree(FIXTURES / "archon" / "input", src)
    (src / "services/archon/settings.py").write_bytes(SETTINGS)
    (src / "services/archon/broken.py").write_bytes(b"import os\nX = os.getenv(\"A\", \n")
    (src / ".env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    (src / ".gitignore").write_text(".env.local\n")
    r = make_repo(src, tmp_path / "repo")
    monkeypatch.chdir(r)
    return r


def test_python_defaults_env_files_and_runtime_notes(repo: Path, cli) -> None:
    code, out, err = cli("--format", "json")
    doc = json.loads(out)
    py = [(f["file"], f["line"], f["variable"]) for f in doc["findings"] if f["kind"] == "python-env-secret-default"]
    assert py == [("services/archon/settings.py", 4, "POSTGRES_PASSWORD"),
                  ("services/archon/settings.py", 6, "MCP_CLIENT_SECRET")]
    env = [(f["file"], f["variable"]) for f in doc["findings"] if f["kind"] == "committed-env-secret"]
    assert env == [(".env", "GITHUB_TOKEN")]
    assert "rotate" in next(f["message"] for f in doc["findings"] if f["kind"] == "committed-env-secret")
    assert TOKEN not in out and "replace-with-mcp-secret" not in out

    code, out, _ = cli()
    assert "the app reads POSTGRES_HOST; it is now runtime configuration" in out
    assert "broken.py:" in out and "skipped" in out
    assert code == 1


def test_fix_python_rewrites_only_with_the_flag(repo: Path, cli) -> None:
    settings = repo / "services/archon/settings.py"
    assert cli("--apply")[0] == 1  # python findings left for a human
    assert settings.read_bytes() == SETTINGS
    code, out, err = cli("--apply", "--fix-python")
    new = settings.read_bytes()
    assert b'DB_PASSWORD = os.environ["POSTGRES_PASSWORD"]' in new
    assert b'DB_HOST = os.getenv("POSTGRES_HOST", "archon-postgres")' in new  # not a secret: untouched
    assert new.replace(b'os.environ["POSTGRES_PASSWORD"]', b'os.getenv("POSTGRES_PASSWORD", "postgres")') \
        .startswith(SETTINGS[:40])
    compile(new, "settings.py", "exec")
    assert "settings.py" in git(repo, "status", "--porcelain")
