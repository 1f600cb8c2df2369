"""docs/DOCKER_SECURITY_PATTERNS.md, written for the repository from its findings."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from codemod.app import RunResult, run
from codemod.config import Config
from codemod.output.docs import security_patterns_page

from conftest import FIXTURES

SECRETS = ["SUPABASE_SERVICE_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY", "POSTGRES_PASSWORD",
           "MCP_CLIENT_SECRET"]
SETTINGS = {"SUPABASE_URL": "https://your-project.supabase.co", "POSTGRES_HOST": "archon-postgres",
            "POSTGRES_PORT": "5432", "POSTGRES_DB": "postgres", "POSTGRES_USER": "postgres",
            "MCP_SERVICE_URL": "http://archon-mcp:8051", "MCP_CLIENT_ID": "archon"}
SECRET_VALUES = ["replace-with-service-role-key", "replace-with-anon-key", "replace-with-mcp-secret"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = Path(shutil.copytree(FIXTURES / "archon" / "input", tmp_path / "repo"))
    monkeypatch.chdir(r)
    return r


def _table_rows(page: str) -> dict[str, tuple[str, str]]:
    return {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r"^\| `(\w+)` \| (secret|setting) \| (.+) \|$",
                                                                       page, re.M)}


def test_archon_page_names_every_moved_variable_and_its_env_file(repo: Path) -> None:
    result = run(["."], Config())
    page = security_patterns_page(result, repo_name="archon")
    assert page.startswith("# Docker security patterns for archon\n")
    moved = {name for items in result.moved.values() for name, _ in items}
    assert moved == set(SECRETS) | set(SETTINGS)
    rows = _table_rows(page)
    assert set(rows) == moved
    for name in SECRETS:
        assert rows[name] == ("secret", "none: fill in at deploy time")
    for name, value in SETTINGS.items():
        assert rows[name] == ("setting", f"`{value}`")
    assert "### `services/archon/Dockerfile`" in page
    assert "every name is listed in `.env.example`" in page
    assert "Built by compose service `archon` (`docker-compose.yml`)" in page
    assert "`.env.local`" in page  # the service's last env_file: where the live values go
    for arg in ("SUPABASE_SERVICE_ROLE_KEY_DEFAULT", "POSTGRES_PASSWORD_DEFAULT", "MCP_CLIENT_SECRET_DEFAULT"):
        assert arg in page.split("## Supplying")[0]  # "do not add back"


def test_page_states_the_correct_facts(repo: Path) -> None:
    page = security_patterns_page(run(["."], Config()), repo_name="archon")
    assert "--secret id=npm_token,env=NPM_TOKEN" in page
    assert "docker compose config --no-env-resolution" in page
    # the plan's stdin example appears only as what does not work
    for line in page.splitlines():
        if "src=-" in line:
            assert "does not work" in line or "names a file" in line, line
    assert "required=true" in page
    assert "## The rules" in page and "## Pitfalls" in page and "## Checking an image" in page


def test_page_never_prints_secret_values(repo: Path) -> None:
    result = run(["."], Config())
    page = security_patterns_page(result, repo_name="archon")
    for value in SECRET_VALUES:
        assert value not in page
    for line in page.splitlines():  # "postgres" is a setting's value too: never beside a password name
        if "POSTGRES_PASSWORD" in line:
            assert "postgres`" not in line.replace("`POSTGRES_PASSWORD", "")


def test_page_after_apply_reads_the_env_example(repo: Path) -> None:
    from codemod.write import apply_changes

    before = run(["."], Config())
    apply_changes(before.changes, backup=False)
    after = run(["."], Config())
    assert not after.moved and not after.findings
    page = security_patterns_page(after, repo_name="archon")
    assert "An earlier migration listed these runtime variables" in page
    for name in SECRETS:
        assert f"`{name}`" in page
    assert "`SUPABASE_URL`=`https://your-project.supabase.co`" in page


def test_build_time_secrets_get_their_build_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_text(
        "FROM node:20\nARG NPM_TOKEN\nRUN npm ci --token \"$NPM_TOKEN\"\nARG API_PASSWORD=hunter2hunter2\n"
        "ENV DJANGO_SECRET_KEY=django-insecure-0a9s8d7f6g5h4j3k2l1\n"
    )
    result = run(["."], Config())
    page = security_patterns_page(result, repo_name="svc", root=tmp_path)
    assert "hunter2hunter2" not in page and "django-insecure" not in page
    assert "| `DJANGO_SECRET_KEY` | secret | none: fill in at deploy time |" in page
    if any(f.kind == "buildtime-secret-in-run" and f.fixable for f in result.findings):
        assert "| `npm_token` | `NPM_TOKEN` | `--secret id=npm_token,env=NPM_TOKEN` |" in page
        assert "docker buildx build --secret id=npm_token,env=NPM_TOKEN -f Dockerfile ." in page
        assert "No build step of this repository reads a secret today" not in page
        assert "`NPM_TOKEN`" in page.split("Do not add `ARG` defaults or `ENV` values back for:")[1].splitlines()[0]
    assert "docker run --env-file" in page  # no compose file: how a runtime value gets in


def test_clean_repository_gets_the_rules_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM a\nENV APP_PORT=8080\n")
    page = security_patterns_page(run(["."], Config()), repo_name="clean")
    assert "No secret is in an `ARG` or `ENV` of the Dockerfiles this run read." in page
    assert "## Left for a human" not in page and "## Supplying" not in page
    assert "--secret id=npm_token,env=NPM_TOKEN" in page


def test_findings_left_for_a_human_are_listed_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # a password inside a connection string: reported, never rewritten (a whole URL with a password is MS003)
    (tmp_path / "Dockerfile").write_text("FROM a\nENV DB_CONN=Server=db;Database=app;Password=s3cretpass;\n")
    result: RunResult = run(["."], Config())
    page = security_patterns_page(result, repo_name="x")
    assert "## Left for a human" in page and "`Dockerfile:2` MS010" in page
    assert "s3cretpass" not in page
