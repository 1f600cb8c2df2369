"""Pull request title/body and commit message: content, structure, and no secret values."""

from __future__ import annotations

import random
import re

import pytest

from codemod.model import Finding
from codemod.output.prbody import CHECK_KEYS, CHECKLIST, REDACTED, build_pr, commit_message

from conftest import finding

# The values these findings were made from: none may appear anywhere.
VALUES = ["sk_live_51HxQv2eZvKYlo2C0abcdefXYZ", "changeme-postgres-pw", "npm_AbCdEf0123456789xyzXYZ"]

FINDINGS = [
    finding(
        "services/archon/Dockerfile",
        57,
        "POSTGRES_PASSWORD_DEFAULT",
        "arg-default-secret",
        "ARG POSTGRES_PASSWORD_DEFAULT has a default value.",
        value_class="placeholder",
    ),
    finding(
        "services/archon/Dockerfile",
        71,
        "POSTGRES_PASSWORD",
        "env-from-secret-arg",
        "ENV POSTGRES_PASSWORD is set from ARG POSTGRES_PASSWORD_DEFAULT.",
        value_class="placeholder",
    ),
    finding(
        "services/archon/Dockerfile",
        12,
        "STRIPE_SECRET_KEY",
        "env-literal-secret",
        "ENV STRIPE_SECRET_KEY holds a literal secret.",
        value_class="real-looking",
    ),
    finding(
        "services/web/Dockerfile",
        4,
        "NPM_TOKEN",
        "buildtime-secret-in-run",
        "RUN reads build arg NPM_TOKEN.",
        value_class="real-looking",
    ),
    finding(
        "compose.yaml",
        9,
        "NPM_TOKEN",
        "compose-build-arg-secret",
        "build arg NPM_TOKEN is a secret.",
    ),
    finding(
        "services/web/Dockerfile",
        8,
        "BROKER_URL",
        "env-embeds-secret",
        "ENV BROKER_URL embeds ${PW} in a larger value.",
        fixable=False,
    ),
    finding(
        "services/web/Dockerfile",
        9,
        "LEGACY_KEY",
        "env-literal-secret",
        "ENV LEGACY_KEY holds a literal secret.",
        suppressed=True,
    ),
]
CHANGED = ["services/archon/Dockerfile", "services/web/Dockerfile", "compose.yaml", ".env.example"]
KW: dict[str, object] = {
    "build_secrets": {"npm_token": "NPM_TOKEN"},
    "runtime_vars": ["POSTGRES_PASSWORD", "STRIPE_SECRET_KEY"],
    "moved_settings": ["SUPABASE_URL", "POSTGRES_HOST"],
    "env_example": ".env.example",
    "checks_done": {"no-arg-secrets", "history", "inspect"},
}


def make(findings: list[Finding] = FINDINGS, changed: list[str] = CHANGED, **over: object) -> tuple[str, str]:
    kw = {**KW, **over}
    return build_pr(findings, changed, **kw)  # type: ignore[arg-type]


def section(body: str, heading: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", body, re.S | re.M)
    assert m, f"no section {heading!r}"
    return m.group(1)


def test_title() -> None:
    title, _ = make()
    assert title == "Move 4 secrets out of the Docker build"
    assert make([], [".env.example"])[0] == "Move secrets out of the Docker build"
    one = [FINDINGS[3], FINDINGS[4]]  # the same variable in two files counts once
    assert make(one)[0] == "Move 1 secret out of the Docker build"


def test_what_changed_table() -> None:
    _, body = make()
    table = [line for line in section(body, "What changed").splitlines() if line.startswith("|")]
    assert table[0] == "| File | Findings fixed | Kinds | Variables |"
    rows = {r.split("|")[1].strip(): r for r in table[2:]}
    assert set(rows) == {f"`{p}`" for p in CHANGED}
    archon = rows["`services/archon/Dockerfile`"]
    assert "| 3 |" in archon
    assert "`MS001` arg-default-secret" in archon and "`MS002` env-from-secret-arg" in archon
    assert "`MS003` env-literal-secret" in archon
    assert "`POSTGRES_PASSWORD_DEFAULT`" in archon
    web = rows["`services/web/Dockerfile`"]
    assert "| 1 |" in web and "`MS004` buildtime-secret-in-run" in web
    assert "BROKER_URL" not in web and "LEGACY_KEY" not in body  # unfixed is listed apart; suppressed nowhere
    assert "| 0 |" in rows["`.env.example`"] and "runtime hand-off" in rows["`.env.example`"]
    # Rows are well-formed: same number of cells as the header.
    for row in table:
        assert len(re.split(r"(?<!\\)\|", row)) == 6


def test_findings_left_for_a_human_are_listed() -> None:
    _, body = make()
    left = section(body, "What changed").split("### Not changed: needs a human")[1]
    assert "`services/web/Dockerfile:8` MS012 `BROKER_URL`" in left


def test_why_paragraph() -> None:
    why = section(make()[1], "Why").strip()
    assert "\n\n" not in why
    assert "docker history" in why and "--mount=type=secret" in why


def test_what_deployers_provide() -> None:
    _, body = make()
    s = section(body, "What deployers must provide now")
    runtime, build = s.split("### At build time")
    for name in ("POSTGRES_PASSWORD", "STRIPE_SECRET_KEY", "SUPABASE_URL", "POSTGRES_HOST"):
        assert f"- `{name}`" in runtime
    assert "`.env.example`" in runtime and "Copy it to `.env`" in runtime
    assert "| `npm_token` | `NPM_TOKEN` |" in build
    assert "docker buildx build --secret id=npm_token,env=NPM_TOKEN ." in build
    assert "podman build --secret id=npm_token,env=NPM_TOKEN ." in build
    _, empty = make(build_secrets={}, runtime_vars=[], moved_settings=[], env_example=None)
    s = section(empty, "What deployers must provide now")
    assert "No new runtime variables." in s and "No build-time secrets." in s
    assert "--secret" not in s


def test_env_example_next_to_named_env_file() -> None:
    _, body = make(env_example="deploy/app.env.example")
    assert "Copy it to `deploy/app.env`" in body


def test_checklist_ticks_what_was_checked() -> None:
    _, body = make()
    items = [line for line in section(body, "Validation checklist").splitlines() if line.startswith("- [")]
    assert len(items) == len(CHECKLIST) == 9
    ticked = {text for key, text in CHECKLIST if key in KW["checks_done"]}  # type: ignore[operator]
    for line in items:
        text = line[6:]
        assert line.startswith("- [x] " if text in ticked else "- [ ] "), line
    assert "- [x] `docker history` shows no sensitive data" in items
    assert "- [ ] Build cache doesn't leak secrets" in items
    _, all_done = make(checks_done=set(CHECK_KEYS))
    assert "- [ ]" not in all_done


def test_unknown_check_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown check keys"):
        make(checks_done={"histroy"})


def test_rotation_notice_only_for_real_looking_values() -> None:
    _, body = make()
    rot = section(body, "Rotate these credentials")
    assert "- `NPM_TOKEN` (`services/web/Dockerfile:4`)" in rot
    assert "- `STRIPE_SECRET_KEY` (`services/archon/Dockerfile:12`)" in rot
    assert "POSTGRES_PASSWORD" not in rot  # placeholders need no rotation
    _, calm = make([f for f in FINDINGS if f.value_class != "real-looking"])
    assert "Rotate" not in calm


def test_rollback() -> None:
    roll = section(make()[1], "How to roll back")
    assert "`migrate-secrets rollback`" in roll and "git revert" in roll


def test_no_secret_value_anywhere() -> None:
    title, body = make()
    msg = commit_message(FINDINGS, CHANGED)
    for v in VALUES:
        assert v not in title and v not in body and v not in msg


def test_redact_guards_values_that_slip_into_messages() -> None:
    leaky = finding(
        "Dockerfile", 3, "API_KEY", "env-embeds-secret", f"ENV API_KEY={VALUES[0]}", fixable=False
    )
    _, body = build_pr(
        [leaky],
        ["Dockerfile"],
        build_secrets={},
        runtime_vars=[],
        moved_settings=[],
        env_example=None,
        checks_done=set(),
        redact=VALUES,
    )
    assert VALUES[0] not in body and REDACTED in body
    assert VALUES[0] not in commit_message([leaky], ["Dockerfile"], redact=VALUES)


def test_pipes_and_backticks_in_names_do_not_break_the_table() -> None:
    odd = finding("odd|dir/Dockerfile", 1, "A`B", "env-literal-secret", "m")
    _, body = build_pr(
        [odd],
        ["odd|dir/Dockerfile"],
        build_secrets={},
        runtime_vars=[],
        moved_settings=[],
        env_example=None,
        checks_done=set(),
    )
    row = [line for line in body.splitlines() if line.startswith("| `odd")][0]
    assert len(re.split(r"(?<!\\)\|", row)) == 6
    assert "`A'B`" in row


def test_deterministic_whatever_the_finding_order() -> None:
    shuffled = FINDINGS[:]
    random.Random(7).shuffle(shuffled)
    assert make(shuffled) == make()
    assert commit_message(shuffled, CHANGED) == commit_message(FINDINGS, CHANGED)


def test_absolute_changed_paths_match_relative_findings(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(str(tmp_path))
    absolute = [str(tmp_path) + "/" + p for p in CHANGED]
    assert make(changed=absolute) == make()


def test_huge_migration_stays_under_githubs_body_limit() -> None:
    many = [finding(f"svc{i}/Dockerfile", 1, f"TOKEN_{i}", "arg-default-secret", "m") for i in range(3000)]
    _, body = build_pr(
        many,
        [f.path for f in many],
        build_secrets={f"token_{i}": f"TOKEN_{i}" for i in range(3000)},
        runtime_vars=[],
        moved_settings=[],
        env_example=None,
        checks_done=set(),
    )
    assert len(body) < 65536


def test_commit_message_names_what_moved() -> None:
    msg = commit_message(FINDINGS, CHANGED)
    lines = msg.splitlines()
    assert lines[0] == "Move 4 secrets out of the Docker build" and lines[1] == ""
    assert all(len(line) <= 72 for line in lines), [line for line in lines if len(line) > 72]
    assert "- services/archon/Dockerfile:" in lines
    assert "  - POSTGRES_PASSWORD_DEFAULT (MS001): ARG default removed" in lines
    assert any(line.startswith("  - NPM_TOKEN (MS004): the RUN reads it from a BuildKit secret mount")
               for line in lines)
    assert "  - NPM_TOKEN (MS005): build arg NPM_TOKEN is a secret." in lines  # compose words its own edits
    assert "- .env.example: updated (no finding of its own)" in lines
    assert "1 finding left for a human" in msg
    assert "LEGACY_KEY" not in msg and "backup" not in msg
