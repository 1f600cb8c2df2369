"""Every CI format, end to end (issue 16): a realistic repository per format in
``fixtures/invocations/<format>/`` (``input/``: the tree with the Dockerfile it builds; ``expected/``: every
file the run writes, byte for byte; ``case.json``: the published schema of each CI file and the exit codes).

The tool runs for real on a git copy of ``input/`` (``--apply``), the tree must then equal ``input/`` plus
``expected/``, each CI file must validate against its vendored schema before and after, and ``--check`` must
then be clean. ``tests/update_fixtures.py`` regenerates ``expected/`` (review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, make_repo, snapshot

CASES = FIXTURES / "invocations"
FORMAT_CASES = sorted(p.parent for p in CASES.glob("*/input") if p.is_dir())


def run_case(case: Path, work: Path, monkeypatch: pytest.MonkeyPatch, cli) -> tuple[int, dict[str, bytes], str]:
    repo = make_repo(case / "input", work)
    monkeypatch.chdir(repo)
    code, out, err = cli("--apply", "--no-backup", ".")
    return code, {k: v for k, v in snapshot(repo).items()}, out + err


def expected_tree(case: Path) -> dict[str, bytes]:
    tree = snapshot(case / "input")
    if (case / "expected").is_dir():
        tree.update(snapshot(case / "expected"))
    return tree


def test_one_case_per_format() -> None:
    assert {c.name for c in FORMAT_CASES} >= {"gitlab", "jenkins", "circleci", "cloudbuild", "azure", "bitbucket",
                                              "drone", "travis", "bake", "skaffold", "devcontainer", "sshaction"}


@pytest.mark.parametrize("case", FORMAT_CASES, ids=lambda p: p.name)
def test_format_golden_schema_and_check(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    from test_invocations_schema import errors

    spec = json.loads((case / "case.json").read_text())
    code, after, out = run_case(case, tmp_path / "repo", monkeypatch, cli)
    assert code == spec.get("exit_after_apply", 0), out
    want = expected_tree(case)
    assert sorted(after) == sorted(want)
    for rel in want:
        assert after[rel] == want[rel], f"{case.name}/{rel} differs from the golden bytes"
    for rel, schema in spec["schemas"].items():
        assert errors(schema, (case / "input" / rel).read_bytes()) == [], f"the input {rel} is not valid"
        assert errors(schema, after[rel]) == [], f"the rewritten {rel} does not validate against {schema}"
    again, _, err = cli("--check", ".")
    assert again == spec.get("exit_check_after_apply", 0), err
    if (case / "expected").is_dir():
        changed = {rel for rel in want if (case / "expected" / rel).exists()}
        assert changed, "a case with an expected/ tree changes something"


@pytest.mark.parametrize("case", [c for c in FORMAT_CASES if (c / "expected").is_dir()], ids=lambda p: p.name)
def test_format_secret_ids_match_the_dockerfiles(case: Path) -> None:
    """Each id a rewritten CI file passes is one a migrated Dockerfile of the case mounts."""
    import re

    want = expected_tree(case)
    mounted = {i for rel, data in want.items() if rel.endswith("Dockerfile")
               for i in re.findall(rb"--mount=type=secret,(?:[^ ]*,)?id=([^, ]+)", data)}
    passed: set[bytes] = set()
    for rel in snapshot(case / "expected"):
        if not rel.endswith(("Dockerfile", ".env.example")):
            data = want[rel]
            passed |= set(re.findall(rb"\bid=([A-Za-z0-9_.-]+),env=", data))  # --secret, bake's CSV form
            passed |= set(re.findall(rb"- id: (\S+)\n\s+env: ", data))  # skaffold docker.secrets
            passed |= set(re.findall(rb"(?m)^\s+- ([a-z_]+)=[A-Z_]+\r?$", data))  # drone secrets_from_env
    assert passed and passed <= mounted, (passed, mounted)


@pytest.mark.parametrize(("schema", "bad"), [
    ("gitlab-ci", b"job:\n  script: {a: 1}\n"),
    ("circle-ci", b"version: 2.1\njobs:\n  a:\n    docker: [{image: x}]\n    steps:\n      - run: {commnd: x}\n"),
    ("cloudbuild", b"steps:\n  - name: x\n    env: {A: '1'}\n"),
    ("azure-pipelines", b"steps:\n  - bash: echo\n    env: [a]\n"),
    ("bitbucket-pipelines", b"pipelines:\n  default:\n    - step:\n        script: {}\n"),
    ("drone-ci", b"kind: pipeline\ntype: docker\nname: a\nsteps:\n  - name: a\n    commands: {}\n"),
    ("travis", b"script: {a: 1}\n"),
])
def test_schemas_reject_what_a_bad_rewrite_would_write(schema: str, bad: bytes) -> None:
    """Controls: each vendored schema does check the parts the rewrite writes (a step's env, scripts)."""
    from test_invocations_schema import errors

    assert errors(schema, bad) != []


def test_blocked_producer_keeps_that_secret_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """A Jenkinsfile passes NPM_TOKEN from a Groovy value: that producer cannot be rewritten, so NPM_TOKEN stays a
    build arg in every file that has it, the run exits 1 and the text names the file, the line and the reason;
    SENTRY_AUTH_TOKEN, which every producer passes in a form the rewrite knows, moves everywhere."""
    case = CASES / "blocked_jenkins"
    repo = make_repo(case / "input", tmp_path / "repo")
    monkeypatch.chdir(repo)
    code, out, _ = cli(".")
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("Jenkinsfile:9:"))
    assert "NPM_TOKEN" in line and "Groovy value" in line and "[needs a human" in line
    assert "Dockerfile: NPM_TOKEN stays a build arg: Jenkinsfile:9: " in out
    code, out, _ = cli("--format", "json", ".")
    human = [f for f in json.loads(out)["findings"] if not f["fixable"]]
    assert {(f["file"], f["variable"]) for f in human} == {("Dockerfile", "NPM_TOKEN"), ("Jenkinsfile", "NPM_TOKEN")}
    assert all(f["fix"].startswith("left unchanged: Jenkinsfile:9: ") or f["file"] == "Jenkinsfile" for f in human)
    code, out, _ = cli("--apply", "--no-backup", ".")
    assert code == 1
    before = snapshot(case / "input")
    for rel in ("Dockerfile", "compose.yaml", ".github/workflows/image.yml", "Jenkinsfile"):
        after = (repo / rel).read_bytes()
        assert after.count(b"NPM_TOKEN") == before[rel].count(b"NPM_TOKEN"), rel
        assert b"npm_token" not in after, rel
    assert b"ARG NPM_TOKEN\n" in (repo / "Dockerfile").read_bytes()
    assert b"--mount=type=secret,id=sentry_auth_token,required=true" in (repo / "Dockerfile").read_bytes()
    assert b"ARG SENTRY_AUTH_TOKEN" not in (repo / "Dockerfile").read_bytes()
    for rel in ("compose.yaml", ".github/workflows/image.yml", "Jenkinsfile"):
        assert b"sentry_auth_token" in (repo / rel).read_bytes(), rel
        assert b"build-arg SENTRY_AUTH_TOKEN" not in (repo / rel).read_bytes(), rel


def test_summary_and_pr_body_list_every_producer_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         cli) -> None:
    from codemod.app import run
    from codemod.config import Config
    from codemod.output import prbody
    from codemod.output.report import summary_lines

    repo = make_repo(CASES / "gitlab" / "input", tmp_path / "repo")
    monkeypatch.chdir(repo)
    result = run(["."], Config())
    assert result.producers == {
        ".gitlab-ci.yml": [(35, "NPM_TOKEN", "--secret id=npm_token,env=NPM_TOKEN")],
        "ci/images.gitlab-ci.yml": [(10, "PIP_INDEX_TOKEN", "--secret id=pip_index_token,env=PIP_INDEX_TOKEN")],
    }
    lines = summary_lines(result)
    assert ".gitlab-ci.yml: producers changed: line 35 NPM_TOKEN -> --secret id=npm_token,env=NPM_TOKEN" in lines
    assert any(x.startswith("ci/images.gitlab-ci.yml: producers changed: line 10 PIP_INDEX_TOKEN") for x in lines)
    _, body = prbody.build_pr(result.findings, [c.path.as_posix() for c in result.changes], build_secrets={},
                              runtime_vars=[], moved_settings=[], env_example=None, checks_done=set())
    section = body.split("### Build invocations changed", 1)[1].split("\n\n", 2)[1]
    assert section.splitlines() == [
        "- `.gitlab-ci.yml`: line 35 `NPM_TOKEN` → `--secret id=npm_token,env=NPM_TOKEN`",
        "- `ci/images.gitlab-ci.yml`: line 10 `PIP_INDEX_TOKEN` → `--secret id=pip_index_token,env=PIP_INDEX_TOKEN`",
    ]
