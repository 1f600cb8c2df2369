"""Env files (codemod.audit.envfiles): committed secrets and live files git does not ignore, on real git repos."""

from __future__ import annotations

import random
import string
import subprocess
from pathlib import Path

import pytest

from codemod.audit.envfiles import EnvPair, envfile_findings, is_example, is_reference, parse_env
from codemod.config import Config
from codemod.rules import RULE_CODES

# Fake tokens are assembled at runtime (fixed seed) so no secret scanner flags this file.
_RNG = random.Random(31337)
ALNUM = string.ascii_letters + string.digits


def rnd(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


GITHUB_PAT = "gh" + "p_" + rnd(36)
STRIPE_LIVE = "sk" + "_live_" + rnd(24)
DB_PASSWORD = rnd(12) + "-" + rnd(12) + "!" + rnd(4)
SLACK_BOT = "xo" + "xb-" + rnd(12, string.digits) + "-" + rnd(24)
ALL_VALUES = (GITHUB_PAT, STRIPE_LIVE, DB_PASSWORD, SLACK_BOT)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


ENV_NAMES = (".env", ".env.local", "env.shared", ".env.example", "deploy/prod.env", "deploy/prod.env.sample")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real work tree: a committed .env with a live token, an ignored .env.local, a compose-named env.shared."""
    root = tmp_path / "repo"
    write(root, ".gitignore", "# local overrides\n.env.local\n*.pyc\n")
    write(root, ".env", (
        "# development settings, committed by mistake\n"
        "DEBUG=true\n"
        "POSTGRES_HOST=db\n"
        f"export GITHUB_TOKEN={GITHUB_PAT}\n"
        "\n"
        f'POSTGRES_PASSWORD="{DB_PASSWORD}" # dev db\n'
        "CI_TOKEN=${{ secrets.CI_TOKEN }}\n"
        "UPSTREAM_TOKEN=${UPSTREAM_TOKEN}\n"
        "SESSION_SECRET=${SESSION_SECRET:-changeme}\n"
        "API_KEY=changeme\n"
        "JWT_SECRET=\n"
    ))
    write(root, ".env.local", f"GITHUB_TOKEN={GITHUB_PAT}\nSTRIPE_SECRET_KEY={STRIPE_LIVE}\n")
    write(root, "env.shared", "LOG_LEVEL=info\nSENTRY_ENVIRONMENT=staging\n")
    write(root, ".env.example", (
        "# copy to .env.local and fill in\n"
        "GITHUB_TOKEN=\n"
        "POSTGRES_PASSWORD=changeme\n"
        f"STRIPE_SECRET_KEY='{STRIPE_LIVE}'\n"
    ))
    write(root, "deploy/prod.env", f"SLACK_BOT_TOKEN={SLACK_BOT}\n")
    write(root, "deploy/prod.env.sample", "SLACK_BOT_TOKEN=xoxb-your-token-here\n")
    write(root, "compose.yaml",
          "services:\n  app:\n    build: .\n    env_file: [.env.local, env.shared, missing.env]\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".gitignore", ".env", ".env.example", "compose.yaml", "deploy/prod.env.sample")
    git(root, "commit", "-qm", "init")
    return root


def files_of(root: Path) -> list[tuple[Path, str]]:
    return [(root / rel, rel) for rel in ENV_NAMES if (root / rel).exists()]


def compose_env(root: Path) -> list[Path]:
    return [root / ".env.local", root / "env.shared", root / "missing.env"]


def test_findings_on_a_real_repository(repo: Path) -> None:
    findings = envfile_findings(repo, files_of(repo), compose_env(repo))
    assert [(f.path, f.line, f.kind, f.variable, f.fixable) for f in findings] == [
        (".env", 4, "committed-env-secret", "GITHUB_TOKEN", False),
        (".env", 6, "committed-env-secret", "POSTGRES_PASSWORD", False),
        (".env.example", 4, "committed-env-secret", "STRIPE_SECRET_KEY", False),
        ("env.shared", 1, "env-file-not-ignored", "env.shared", False),
    ]
    by = {(f.path, f.variable): f for f in findings}
    assert "rotate this credential" in by[(".env", "GITHUB_TOKEN")].message
    assert "github-token" in by[(".env", "GITHUB_TOKEN")].message
    assert "committed to git" in by[(".env", "POSTGRES_PASSWORD")].message
    assert "example file" in by[(".env.example", "STRIPE_SECRET_KEY")].message
    assert ".gitignore does not ignore" in by[("env.shared", "env.shared")].message
    for f in findings:
        assert f.rule == RULE_CODES[f.kind]
        for value in ALL_VALUES:
            assert value not in f.message and value not in f.fix
        if f.kind == "committed-env-secret":
            assert f.value_class == "real-looking"


def test_tracking_changes_the_verdict(repo: Path) -> None:
    # the live prod.env is committed now; env.shared gets ignored; .env.local stays ignored
    git(repo, "add", "deploy/prod.env")
    write(repo, ".gitignore", ".env.local\nenv.shared\n")
    findings = envfile_findings(repo, files_of(repo), compose_env(repo))
    assert [(f.path, f.line, f.kind, f.variable) for f in findings] == [
        (".env", 4, "committed-env-secret", "GITHUB_TOKEN"),
        (".env", 6, "committed-env-secret", "POSTGRES_PASSWORD"),
        (".env.example", 4, "committed-env-secret", "STRIPE_SECRET_KEY"),
        ("deploy/prod.env", 1, "committed-env-secret", "SLACK_BOT_TOKEN"),
    ]


def test_tracked_compose_env_file_is_not_ignored_even_if_gitignore_lists_it(repo: Path) -> None:
    write(repo, ".gitignore", ".env.local\n.env\n")  # listing a tracked file does not untrack it
    findings = envfile_findings(repo, files_of(repo), [repo / ".env"])
    not_ignored = [f for f in findings if f.kind == "env-file-not-ignored"]
    assert [(f.path, f.line, f.variable) for f in not_ignored] == [(".env", 1, ".env")]
    assert "tracked by git" in not_ignored[0].message and "git rm --cached .env" in not_ignored[0].fix


def test_untracked_live_file_with_a_real_token_is_not_committed(repo: Path) -> None:
    findings = envfile_findings(repo, [(repo / "deploy/prod.env", "deploy/prod.env")], [])
    assert findings == []


def test_example_compose_env_and_missing_files_are_not_reported(repo: Path) -> None:
    findings = envfile_findings(repo, [], [repo / ".env.example", repo / "missing.env", repo / ".env.local"])
    assert findings == []


def test_repo_root_in_a_subdirectory(repo: Path) -> None:
    sub = repo / "deploy"
    findings = envfile_findings(sub, [(sub / "prod.env", "deploy/prod.env")], [sub / "prod.env"])
    assert [(f.path, f.kind) for f in findings] == [("deploy/prod.env", "env-file-not-ignored")]


def test_outside_git_only_examples_are_reported(tmp_path: Path) -> None:
    write(tmp_path, ".env", f"GITHUB_TOKEN={GITHUB_PAT}\n")
    write(tmp_path, ".env.example", f"GITHUB_TOKEN={GITHUB_PAT}\n")
    files = [(tmp_path / ".env", ".env"), (tmp_path / ".env.example", ".env.example")]
    findings = envfile_findings(tmp_path, files, [tmp_path / ".env"])
    assert [(f.path, f.kind, f.variable) for f in findings] == [
        (".env.example", "committed-env-secret", "GITHUB_TOKEN")
    ]


def test_config_secret_words_apply(repo: Path) -> None:
    write(repo, ".env", f"ACME_SIGIL={DB_PASSWORD}\n")
    assert envfile_findings(repo, [(repo / ".env", ".env")], []) == []
    cfg = Config(extra_secret_words=frozenset({"sigil"}))
    findings = envfile_findings(repo, [(repo / ".env", ".env")], [], config=cfg)
    assert [(f.line, f.variable) for f in findings] == [(1, "ACME_SIGIL")]


def test_reference_fallback_holding_a_real_value(repo: Path) -> None:
    write(repo, ".env", "SESSION_SECRET=${SESSION_SECRET:-changeme}\n" f"GITHUB_TOKEN=${{GH_TOKEN:-{GITHUB_PAT}}}\n")
    findings = envfile_findings(repo, [(repo / ".env", ".env")], [])
    assert [(f.line, f.variable) for f in findings] == [(2, "GITHUB_TOKEN")]


# --- parsing (formats.md section 3) ---


def test_parse_env_lines() -> None:
    data = (
        "\ufeff# comment\n"
        "export A=1\n"
        "  B = two words # inline comment\n"
        "C=abc#not-a-comment\n"
        'D="quoted # not a comment" # comment\n'
        "E='single $X \\n literal'\n"
        'F="multi\nline\\tvalue"\n'
        "G\n"
        "H=\n"
        "I=${{ secrets.X }}\r\n"
        "export=5\n"
        "not a pair\n"
        'J="esc \\"q\\" \\\\ \\n"\n'
        "K=a=b\n"
    ).encode()
    assert parse_env(data) == [
        EnvPair(2, "A", "1", ""),
        EnvPair(3, "B", "two words", ""),
        EnvPair(4, "C", "abc#not-a-comment", ""),
        EnvPair(5, "D", "quoted # not a comment", '"'),
        EnvPair(6, "E", "single $X \\n literal", "'"),
        EnvPair(7, "F", "multi\nline\tvalue", '"'),
        EnvPair(10, "H", "", ""),
        EnvPair(11, "I", "${{ secrets.X }}", ""),
        EnvPair(12, "export", "5", ""),
        EnvPair(14, "J", 'esc "q" \\ \n', '"'),
        EnvPair(15, "K", "a=b", ""),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${{ secrets.NPM_TOKEN }}", True),
        ("${NPM_TOKEN}", True),
        ("$NPM_TOKEN", True),
        ("${A:-x}${B}", True),
        ("prefix-${A}", False),
        ("hunter2", False),
        ("", False),
    ],
)
def test_is_reference(value: str, expected: bool) -> None:
    assert is_reference(value) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".env.example", True),
        (".env.sample", True),
        ("prod.env.template", True),
        (".env.dist", True),
        ("example.env", True),
        (".env", False),
        (".env.local", False),
        ("env.shared", False),
        ("prod.env", False),
        (".env.examples-not", False),
    ],
)
def test_is_example(name: str, expected: bool) -> None:
    assert is_example(name) is expected
