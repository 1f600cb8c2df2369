"""Acceptance: the migration plan's Archon Dockerfile, end to end through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codemod.dockerfile.scanner import parse

from conftest import FIXTURES, git, make_repo, snapshot

ARCHON = FIXTURES / "archon"
DOCKERFILE = "services/archon/Dockerfile"
SECRET_VALUES = ["replace-with-service-role-key", "replace-with-anon-key", "postgres", "replace-with-mcp-secret"]
SETTING_VALUES = {"postgres"}  # POSTGRES_DB and POSTGRES_USER are "postgres" too: printing them is fine


def _no_secret_values(text: str) -> None:
    for v in SECRET_VALUES:
        if v in SETTING_VALUES:
            # the value equals a plain setting's: it may show only as that setting
            for line in text.splitlines():
                if v in line:
                    assert "PASSWORD" not in line, line
            continue
        assert v not in text


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = make_repo(ARCHON / "input", tmp_path / "repo")
    monkeypatch.chdir(r)
    return r


def test_dry_run_reports_and_writes_nothing(repo: Path, cli) -> None:
    before = snapshot(repo)
    code, out, err = cli()
    assert code == 1
    assert snapshot(repo) == before
    found = re.findall(r"^(\S+):(\d+):\d+: (MS\d{3}) ", out, re.M)
    assert found == [
        (DOCKERFILE, "51", "MS001"), (DOCKERFILE, "52", "MS001"), (DOCKERFILE, "56", "MS001"),
        (DOCKERFILE, "60", "MS001"), (DOCKERFILE, "64", "MS002"), (DOCKERFILE, "65", "MS002"),
        (DOCKERFILE, "66", "MS002"), (DOCKERFILE, "71", "MS002"), (DOCKERFILE, "74", "MS002"),
    ]
    assert "--- a/services/archon/Dockerfile" in out
    assert "secret values redacted" in out
    assert "-ARG POSTGRES_PASSWORD_DEFAULT=***" in out
    assert "+ENV MCP_CREDENTIALS_PATH=/app/config/mcp/credentials.json \\" in out
    _no_secret_values(out + err)


def test_apply_gives_the_plan_target(repo: Path, cli, state_home: Path) -> None:
    code, out, err = cli("--apply", "--report", "report.json")
    assert code == 0, out + err
    new = (repo / DOCKERFILE).read_bytes()
    assert new == (ARCHON / "expected" / DOCKERFILE).read_bytes()
    assert (repo / ".env.example").read_bytes() == (ARCHON / "expected" / ".env.example").read_bytes()

    df = parse(new)
    envs = {kv.key: kv.value for i in df.instructions if i.keyword == "ENV" for kv in i.kvs}
    assert {k: v for k, v in envs.items() if not k.startswith(("PYTHON", "PIP_"))} == {
        "ARCHON_FORM": "POWERFULMOVES",
        "AGENT_FORMS_DIR": "/app/configs/agents/forms",
        "ARCHON_UI_STATIC_DIR": "/app/static/archon-ui",
        "ARCHON_VENDOR_ROOT": "/app/vendor/archon",
        "MCP_CREDENTIALS_PATH": "/app/config/mcp/credentials.json",
    }
    args = [kv.key for i in df.instructions if i.keyword == "ARG" for kv in i.kvs]
    assert not [a for a in args if a.endswith("_DEFAULT")]
    assert new.count(b"# SECURITY: All sensitive configuration MUST be provided at runtime via:") == 1
    assert b"# DO NOT add ARG defaults for:" in new

    example = (repo / ".env.example").read_text()
    for key, value in [("SUPABASE_URL", "https://your-project.supabase.co"), ("POSTGRES_PORT", "5432"),
                       ("POSTGRES_DB", "postgres"), ("POSTGRES_USER", "postgres"),
                       ("MCP_SERVICE_URL", "http://archon-mcp:8051"), ("MCP_CLIENT_ID", "archon")]:
        assert f"\n{key}={value}\n" in example
    assert example.count("POSTGRES_HOST=") == 1  # already there: left alone
    assert example.count("SUPABASE_SERVICE_ROLE_KEY=") == 1
    for secret in ("SUPABASE_SERVICE_KEY", "SUPABASE_ANON_KEY", "POSTGRES_PASSWORD", "MCP_CLIENT_SECRET"):
        assert f"\n{secret}=\n" in example

    # a timestamped backup holding the old bytes, outside the work tree (the state directory), named in the output
    backups = list(state_home.glob(f"repo-*/*/files/{DOCKERFILE}"))
    run_dir = state_home / Path(*backups[0].relative_to(state_home).parts[:2])
    assert len(backups) == 1 and re.fullmatch(r"\d{8}-\d{6}", run_dir.name)
    assert backups[0].read_bytes() == (ARCHON / "input" / DOCKERFILE).read_bytes()
    assert f"backups and rollback journal: {run_dir}" in out
    assert not (repo / ".git/info/exclude").exists() or "backup" not in (repo / ".git/info/exclude").read_text()
    status = git(repo, "status", "--porcelain").split("\n")[:3]
    assert status == [" M .env.example", f" M {DOCKERFILE}", "?? report.json"]

    # every other byte unchanged: compose, requirements, and the Dockerfile outside lines 49-79
    old_lines = (ARCHON / "input" / DOCKERFILE).read_bytes().split(b"\n")
    new_lines = new.split(b"\n")
    assert new_lines[:48] == old_lines[:48]
    assert new_lines[-7:] == old_lines[-7:]
    for name in ("docker-compose.yml", "services/archon/requirements.txt"):
        assert (repo / name).read_bytes() == (ARCHON / "input" / name).read_bytes()

    report = json.loads((repo / "report.json").read_text())
    assert [f["kind"] for f in report["findings"]].count("env-from-secret-arg") == 5
    for f in report["findings"]:
        assert set(f) >= {"file", "line", "variable", "kind", "rule", "message"}
    _no_secret_values(out + err + (repo / "report.json").read_text())

    # the second run is a no-op, and --check is clean
    before = snapshot(repo)
    code, out, _ = cli("--apply")
    assert code == 0 and "0 findings" in out
    assert snapshot(repo) == before
    code, out, _ = cli("--check")
    assert (code, out) == (0, "")


def test_check_lists_pending_files(repo: Path, cli) -> None:
    code, out, _ = cli("--check")
    assert code == 1
    assert out.splitlines() == [f"would migrate {DOCKERFILE}", "would migrate .env.example"]


def test_json_output_has_no_secret_values(repo: Path, cli) -> None:
    code, out, _ = cli("--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"]["findings"] == 9
    assert {f["rule"] for f in doc["findings"]} == {"MS001", "MS002"}
    _no_secret_values(out)


def test_show_values_is_the_only_way_to_print_them(repo: Path, cli) -> None:
    _, out, _ = cli("--show-values")
    assert "replace-with-mcp-secret" in out


def test_rollback_restores_and_refuses_edited_files(repo: Path, cli) -> None:
    original = snapshot(repo)
    assert cli("--apply")[0] == 0
    code, out, _ = cli("rollback")
    assert code == 0 and "restored services/archon/Dockerfile" in out.replace(str(repo) + "/", "")
    assert snapshot(repo) == original

    assert cli("--apply")[0] == 0
    (repo / DOCKERFILE).write_bytes((repo / DOCKERFILE).read_bytes() + b"USER app\n")
    edited = snapshot(repo)
    code, _, err = cli("rollback")
    assert code == 2 and "edited since the migration" in err
    assert snapshot(repo) == edited
    code, _, _ = cli("rollback", "--force")
    assert code == 0
    assert (repo / DOCKERFILE).read_bytes() == (ARCHON / "input" / DOCKERFILE).read_bytes()
