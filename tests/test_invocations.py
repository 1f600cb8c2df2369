"""How the build is invoked (design.md section 3.5): compose, workflows, Makefiles, scripts.

Golden cases live in ``fixtures/invocations/<case>/``: ``case.json`` holds the
Dockerfile migrations (what the lead's Dockerfile side reports), ``Dockerfile``
is the migrated Dockerfile whose mount ids every invocation must use, each
``input.*`` has an ``expected.*`` (absent: the file must not change) and an
``input.*.findings`` report. Bytes are compared exactly.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from codemod.invocations import (
    BuildSecret,
    DockerfileMigration,
    InvocationError,
    InvocationResult,
    migrate_compose,
    migrate_script,
    migrate_workflow,
    secret_id,
)
from codemod.invocations.coverage import env_var_of
from codemod.invocations.scripts import commands

from conftest import FIXTURES

CASES = FIXTURES / "invocations"
_MOUNT_ID = re.compile(r"--mount=type=secret,(?:[^ ]*,)?id=([^, ]+)")


# -- harness ------------------------------------------------------------------------------------


def migrations_of(case: Path) -> list[DockerfileMigration]:
    spec = json.loads((case / "case.json").read_text())
    out = []
    for m in spec["migrations"]:
        secrets = [BuildSecret(a, secret_id(a)) for a in m["build_secrets"]]
        out.append(DockerfileMigration((case / m["dockerfile"]).resolve(), secrets, set(m["removed_args"]),
                                       set(m["runtime_args"])))
    return out


def migrate(path: Path, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    display = f"{path.parent.name}/{path.name}"
    if path.name.endswith((".compose.yaml", ".compose.yml")):
        return migrate_compose(path, display, data, migrations)
    if path.suffix in (".yml", ".yaml"):
        return migrate_workflow(path, display, data, migrations)
    # the fixtures name Makefiles *.mk, which is how the script rewriter tells make from shell
    return migrate_script(path, display, data, migrations)


def report(result: InvocationResult) -> str:
    lines = []
    for f in result.findings:
        tag = "" if f.fixable else " [needs a human]"
        vc = f" ({f.value_class})" if f.value_class else ""
        lines.append(f"{f.line} {f.rule} {f.kind} {f.variable}{vc}: {f.message}{tag}\n")
    lines += [f"note: {n}\n" for n in result.notes]
    lines += [f"flag: {b}\n" for b in result.build_flags]
    lines += [f"blocked: {b.line}:{b.column} {b.arg}: {b.reason}\n" for b in result.blocked]
    return "".join(lines)


def expected_of(inp: Path) -> Path:
    return inp.with_name("expected" + inp.name[len("input") :])


def pairs() -> list[Path]:
    return sorted(p for case in sorted(CASES.iterdir()) for p in case.glob("input.*") if not p.name.endswith(
        ".findings"))


def output_of(inp: Path) -> bytes:
    exp = expected_of(inp)
    return exp.read_bytes() if exp.exists() else inp.read_bytes()


PAIRS = pairs()
IDS = [f"{p.parent.name}/{p.name}" for p in PAIRS]


def test_every_case_has_inputs() -> None:
    # a directory with an input/ tree is a whole repository (tests/test_invocations_formats.py)
    assert {p.parent.name for p in PAIRS} == {c.name for c in CASES.iterdir() if c.is_dir() and
                                              not (c / "input").is_dir()}
    assert len(PAIRS) >= 13


# -- golden bytes and reports ---------------------------------------------------------------------


@pytest.mark.parametrize("inp", PAIRS, ids=IDS)
def test_golden_bytes(inp: Path) -> None:
    result = migrate(inp, inp.read_bytes(), migrations_of(inp.parent))
    exp = expected_of(inp)
    if exp.exists():
        assert result.new is not None, "expected a change"
        assert result.new == exp.read_bytes()
    else:
        assert result.new is None


@pytest.mark.parametrize("inp", PAIRS, ids=IDS)
def test_golden_report(inp: Path) -> None:
    result = migrate(inp, inp.read_bytes(), migrations_of(inp.parent))
    assert report(result) == inp.with_name(inp.name + ".findings").read_text()


@pytest.mark.parametrize("inp", PAIRS, ids=IDS)
def test_idempotent(inp: Path) -> None:
    migrations = migrations_of(inp.parent)
    again = migrate(inp, output_of(inp), migrations)
    assert again.new is None
    assert all(not f.fixable for f in again.findings)


@pytest.mark.parametrize("inp", PAIRS, ids=IDS)
def test_only_edited_lines_differ(inp: Path) -> None:
    """Input lines that changed or went all hold a migrated name or the key around it."""
    migrations = migrations_of(inp.parent)
    names = {s.arg for m in migrations for s in m.build_secrets} | {a for m in migrations for a in m.removed_args}
    allowed = re.compile("|".join([re.escape(n) for n in sorted(names)] + [r"\bargs:", r"build-args:", r"build:"]))
    old = inp.read_bytes().splitlines(keepends=True)
    new = output_of(inp).splitlines(keepends=True)
    sm = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, _, _ in sm.get_opcodes():
        if op in ("replace", "delete"):
            for line in old[i1:i2]:
                assert allowed.search(line.decode()), f"unexpected change to {line!r}"


@pytest.mark.parametrize("inp", [p for p in PAIRS if b"\r\n" in p.read_bytes()],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crlf_kept(inp: Path) -> None:
    out = output_of(inp)
    assert out != inp.read_bytes()
    assert out.count(b"\n") == out.count(b"\r\n")


@pytest.mark.parametrize("inp", PAIRS, ids=IDS)
def test_ids_are_the_dockerfiles(inp: Path) -> None:
    """Every secret id an invocation passes is a mount id of the migrated Dockerfile, case for case."""
    dockerfile_ids = set(_MOUNT_ID.findall((inp.parent / "Dockerfile").read_text()))
    migrations = migrations_of(inp.parent)
    assert {s.id for m in migrations for s in m.build_secrets} <= dockerfile_ids
    used = ids_in(inp.name, output_of(inp))
    assert used <= dockerfile_ids, used - dockerfile_ids


def ids_in(name: str, data: bytes) -> set[str]:
    from ruamel.yaml import YAML

    text = data.decode()
    ids = set(re.findall(r"--secret[ =]id=([^, \n]+)", text))
    if name.endswith(".compose.yaml"):
        doc = YAML(typ="safe", pure=True).load(text)
        for svc in doc["services"].values():
            build = svc.get("build")
            if isinstance(build, dict):
                for s in build.get("secrets", []):
                    ids.add(s if isinstance(s, str) else s.get("target", s["source"]))
    elif name.endswith(".yml"):
        doc = YAML(typ="safe", pure=True).load(text)
        for job in doc["jobs"].values():
            for step in job["steps"]:
                for line in str(step.get("with", {}).get("secrets", "")).splitlines():
                    ids.add(line.strip().strip('"').split("=", 1)[0])
    return ids - {"github_token"}  # the workflow fixture's own secret, not a migrated one


def test_ids_case_sensitive_across_files() -> None:
    case = CASES / "ids"
    migrations = migrations_of(case)
    want = {"npm_token", "GIT_AUTH_TOKEN", "sentryauthtoken"}
    assert set(_MOUNT_ID.findall((case / "Dockerfile").read_text())) == want
    assert {s.id for s in migrations[0].build_secrets} == want
    per_file = {}
    for inp in sorted(case.glob("input.*")):
        if inp.name.endswith(".findings"):
            continue
        out = migrate(inp, inp.read_bytes(), migrations)
        assert out.new is not None
        per_file[inp.name] = ids_in(inp.name, out.new)
    assert per_file == {
        "input.compose.yaml": {"npm_token", "GIT_AUTH_TOKEN", "sentryauthtoken"},
        "input.mk": {"npm_token", "GIT_AUTH_TOKEN", "sentryauthtoken"},
        "input.sh": {"npm_token", "GIT_AUTH_TOKEN", "sentryauthtoken"},
        "input.yml": {"npm_token", "GIT_AUTH_TOKEN", "sentryauthtoken"},
    }


# -- the intended structure, read back with ruamel -----------------------------------------------------


def load(path: Path) -> object:
    from ruamel.yaml import YAML

    return YAML(typ="rt").load(path.read_bytes())


def test_compose_list_structure() -> None:
    doc = load(CASES / "compose_list_args" / "expected.compose.yaml")
    web = doc["services"]["web"]  # type: ignore[index]
    assert web["build"]["args"] == ["APP_VERSION=1.4.2"]
    assert web["build"]["secrets"] == ["npm_token", "GIT_AUTH_TOKEN"]
    assert web["build"]["target"] == "runtime"
    assert web["environment"] == ["NODE_ENV=production", "DB_PASSWORD=${DB_PASSWORD}"]
    assert web["env_file"] == [".env"]
    worker = doc["services"]["worker"]  # type: ignore[index]
    assert worker["build"] == {"context": ".", "secrets": ["npm_token", "GIT_AUTH_TOKEN"]}
    migrate_ = doc["services"]["migrate"]  # type: ignore[index]
    assert "args" not in migrate_["build"]
    assert migrate_["build"]["secrets"] == ["GIT_AUTH_TOKEN", "npm_token"]
    assert doc["services"]["legacy"]["build"]["args"] == ["PIP_EXTRA_INDEX_TOKEN=${PIP_EXTRA_INDEX_TOKEN}"]  # type: ignore[index]
    assert "build" not in doc["services"]["db"]  # type: ignore[index]
    assert doc["secrets"] == {  # type: ignore[index]
        "npm_token": {"environment": "NPM_TOKEN"},
        "GIT_AUTH_TOKEN": {"environment": "GIT_AUTH_TOKEN"},
    }


def test_compose_map_structure() -> None:
    doc = load(CASES / "compose_map_args" / "expected.compose.yaml")
    api = doc["services"]["api"]  # type: ignore[index]
    assert "args" not in api["build"]
    assert api["build"]["secrets"] == [{"source": "ssl_cert", "target": "ssl_cert"}, "npm_token", "sentry_auth_token"]
    assert dict(api["environment"]) == {"PORT": "8080", "LOG_LEVEL": "info", "API_SECRET": "${API_SECRET}"}
    assert dict(doc["secrets"]) == {  # type: ignore[index]
        "ssl_cert": {"file": "./certs/server.pem"},
        "npm_token": {"environment": "NPM_TOKEN"},
        "sentry_auth_token": {"environment": "SENTRY_RELEASE_TOKEN"},
    }
    # every build secret is declared at top level (compose errors otherwise)
    for svc in doc["services"].values():  # type: ignore[index]
        for s in svc.get("build", {}).get("secrets", []):
            assert (s if isinstance(s, str) else s["source"]) in doc["secrets"]  # type: ignore[index]


def test_compose_crlf_structure() -> None:
    doc = load(CASES / "compose_crlf" / "expected.compose.yaml")
    assert doc["services"]["app"]["build"] == {  # type: ignore[index]
        "context": ".", "args": ["BUILD_DATE"], "secrets": ["npm_token", "sentry_auth_token"]}
    assert doc["services"]["docs"]["build"] == {"context": ".", "secrets": ["npm_token", "sentry_auth_token"]}  # type: ignore[index]


def test_workflow_structure() -> None:
    doc = load(CASES / "workflow" / "expected.yml")
    image = doc["jobs"]["image"]["steps"]  # type: ignore[index]
    first = image[2]["with"]
    assert first["build-args"] == "APP_VERSION=${{ github.ref_name }}\n"
    assert first["secrets"] == "npm_token=${{ secrets.NPM_TOKEN }}\n"
    assert first["tags"] == "${{ env.IMAGE }}:${{ github.ref_name }}"
    tools = image[3]["with"]
    assert "build-args" not in tools
    assert tools["secrets"] == ('"github_token=${{ secrets.GITHUB_TOKEN }}"\n'
                                '"gh_packages_token=${{ secrets.GH_PACKAGES_TOKEN }}"\n')
    smoke = doc["jobs"]["smoke"]["steps"]  # type: ignore[index]
    assert smoke[1]["run"] == "docker build --secret id=npm_token,env=NPM_TOKEN -t shop:smoke ."
    assert smoke[1]["env"] == {"NPM_TOKEN": "${{ secrets.NPM_TOKEN }}"}
    assert dict(smoke[2]["env"]) == {"PIP_INDEX_TOKEN": "${{ secrets.PIP_INDEX_TOKEN }}",
                                     "GH_PACKAGES_TOKEN": "${{ secrets.GH_PACKAGES_TOKEN }}"}
    assert "--secret id=pip_index_token,env=PIP_INDEX_TOKEN" in smoke[2]["run"]
    assert "--secret id=gh_packages_token,env=GH_PACKAGES_TOKEN" in smoke[2]["run"]
    assert "--build-arg APP_VERSION=${{ github.sha }}" in smoke[2]["run"]
    assert "SONAR_TOKEN" in smoke[3]["run"]  # not covered by a migration: reported, left alone


def test_script_structure() -> None:
    out = (CASES / "script" / "expected.sh").read_text()
    assert 'ARGS=(--build-arg "NPM_TOKEN=${NPM_TOKEN}")' in out  # dynamic form: left alone
    assert "--secret id=npm_token,env=NPM_TOKEN \\\n" in out
    assert "--secret id=github_token,env=GH_TOKEN \\\n" in out
    assert "SUPABASE_URL_DEFAULT" not in out.split("NOTES")[0]
    # the legacy builder has no --secret: that producer is blocked, not rewritten
    assert 'DOCKER_BUILDKIT=0 docker build --build-arg NPM_TOKEN -t "$IMAGE:ci" .' in out
    assert "docker build --build-arg NPM_TOKEN=... is no longer needed" in out  # heredoc body untouched


# -- units ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("arg", "sid"), [
    ("NPM_TOKEN", "npm_token"),
    ("SentryAuthToken", "sentryauthtoken"),
    ("GIT_AUTH_TOKEN", "GIT_AUTH_TOKEN"),
    ("GIT_AUTH_TOKEN.github.com", "GIT_AUTH_TOKEN.github.com"),
    ("GIT_AUTH_HEADER", "GIT_AUTH_HEADER"),
    ("git_auth_token", "git_auth_token"),
])
def test_secret_id(arg: str, sid: str) -> None:
    assert secret_id(arg) == sid


@pytest.mark.parametrize(("value", "mode", "expected"), [
    ("$(NPM_TOKEN)", "make", ("NPM_TOKEN", "make")),
    ("${NPM_TOKEN}", "make", ("NPM_TOKEN", "make")),
    ("$$NPM_TOKEN", "make", ("NPM_TOKEN", "var")),
    ("$${NPM_TOKEN:-x}", "make", ("NPM_TOKEN", "var")),
    ("$NPM_TOKEN", "make", (None, "literal")),
    ("$NPM_TOKEN", "shell", ("NPM_TOKEN", "var")),
    ("${NPM_TOKEN}", "shell", ("NPM_TOKEN", "var")),
    ("${NPM_TOKEN:?unset}", "shell", ("NPM_TOKEN", "var")),
    ("$(cat ~/.npm_token)", "shell", (None, "literal")),
    ("abc$X", "shell", (None, "literal")),
    ("${A:-${B}}", "shell", ("A", "var")),
    ("${A:-x}${B}", "shell", (None, "literal")),
    ("${{ secrets.NPM_TOKEN }}", "workflow", ("NPM_TOKEN", "secrets")),
    ("${{secrets.NPM_TOKEN}}", "workflow", ("NPM_TOKEN", "secrets")),
    ("${{ env.NPM_TOKEN }}", "workflow", ("NPM_TOKEN", "env")),
    ("${{ steps.t.outputs.token }}", "workflow", (None, "expr")),
    ("${NPM_TOKEN:-}", "compose", ("NPM_TOKEN", "var")),
    ("$$NPM_TOKEN", "compose", (None, "literal")),
])
def test_env_var_of(value: str, mode: str, expected: tuple[str | None, str]) -> None:
    assert env_var_of(value, mode) == expected


def words_of(text: str, make: bool = False) -> list[list[str]]:
    return [[w.text for w in c] for c in commands(text, 0, len(text), make=make)]


def test_lexer_quotes_expansions_continuations() -> None:
    text = ('docker build --build-arg "A=$(echo "x y")" \\\n  --build-arg B=${{ secrets.B }} . && echo "a;b" # c\n'
            "cat <<EOF\n--build-arg NOPE=1\nEOF\nX=1 sudo docker build --build-arg=C='d e' .\n")
    assert words_of(text) == [
        ["docker", "build", "--build-arg", '"A=$(echo "x y")"', "--build-arg", "B=${{ secrets.B }}", "."],
        ["echo", '"a;b"'],
        ["cat"],
        ["X=1", "sudo", "docker", "build", "--build-arg=C='d e'", "."],
        ["echo", '"x y"'],  # the command substitution, lexed after the text
    ]


def test_lexer_make_dollars() -> None:
    assert words_of("\t@$(DOCKER) build --build-arg T=$$(cat t) --build-arg U=$${U} .\n", make=True) == [
        ["@$(DOCKER)", "build", "--build-arg", "T=$$(cat t)", "--build-arg", "U=$${U}", "."], ["cat", "t"]]


def _script(text: str, args: list[str], removed: list[str] | None = None, name: str = "build.sh") -> InvocationResult:
    m = DockerfileMigration(Path("/nonexistent/Dockerfile"), [BuildSecret(a, secret_id(a)) for a in args],
                            set(args) | set(removed or []), set())
    return migrate_script(Path(name), name, text.encode(), [m])


@pytest.mark.parametrize(("before", "after"), [
    # the removed arg is the last word of a continued command: the `\` before it goes too
    ("docker build . \\\n  --build-arg OLD=1\necho done\n", "docker build .\necho done\n"),
    ("docker build --build-arg OLD=1 .\n", "docker build .\n"),
    ("docker build -t x --build-arg OLD=1\n", "docker build -t x\n"),
    ("docker build \\\n  --build-arg OLD=1 \\\n  --build-arg OLD2 \\\n  .\n", "docker build \\\n  .\n"),
    ("docker build --build-arg OLD=1 --build-arg OLD2=2 -t x .\n", "docker build -t x .\n"),
])
def test_script_removal_keeps_the_command_well_formed(before: str, after: str) -> None:
    result = _script(before, [], ["OLD", "OLD2"])
    assert result.new == after.encode()


def test_script_existing_secret_not_duplicated() -> None:
    text = "docker build --secret id=npm_token,env=NPM_TOKEN --build-arg NPM_TOKEN=$NPM_TOKEN .\n"
    assert _script(text, ["NPM_TOKEN"]).new == b"docker build --secret id=npm_token,env=NPM_TOKEN .\n"


def test_script_podman_buildah_and_image_build() -> None:
    text = ("podman build --build-arg NPM_TOKEN .\nbuildah bud --build-arg NPM_TOKEN .\n"
            "docker image build --build-arg NPM_TOKEN .\ndocker --context ci buildx build --build-arg NPM_TOKEN .\n")
    out = _script(text, ["NPM_TOKEN"]).new
    assert out is not None and out.decode().count("--secret id=npm_token,env=NPM_TOKEN") == 4


def test_script_docker_compose_build_is_reported_not_rewritten() -> None:
    result = _script("docker compose build --build-arg NPM_TOKEN=$NPM_TOKEN\n", ["NPM_TOKEN"])
    assert result.new is None
    assert result.findings == []
    assert [(b.arg, b.line) for b in result.blocked] == [("NPM_TOKEN", 1)]


def test_values_never_in_messages() -> None:
    value = "npm_AbCdEf0123456789AbCdEf0123456789AbCd"
    result = _script(f"docker build --build-arg NPM_TOKEN={value} --build-arg GITHUB_TOKEN={value} .\n",
                     ["NPM_TOKEN"])
    assert result.new == b"docker build --secret id=npm_token,env=NPM_TOKEN --build-arg GITHUB_TOKEN=" + \
        value.encode() + b" .\n"
    text = report(result)
    assert value not in text
    assert [f.value_class for f in result.findings] == ["real-looking", "real-looking"]
    compose = f"services:\n  a:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: {value}\n"
    m = DockerfileMigration(Path("Dockerfile").resolve(), [BuildSecret("NPM_TOKEN", "npm_token")], {"NPM_TOKEN"},
                            set())
    r = migrate_compose(Path("compose.yaml"), "compose.yaml", compose.encode(), [m])
    assert r.new is not None and value.encode() not in r.new
    assert value not in report(r)


def test_no_migrations_reports_strong_secret_names_only() -> None:
    text = "docker build --build-arg NPM_TOKEN=$T --build-arg AUTH_PROVIDER=oidc --build-arg VERSION=1 .\n"
    result = _script(text, [])
    assert result.new is None
    assert [(f.variable, f.fixable, f.kind) for f in result.findings] == [
        ("NPM_TOKEN", False, "script-build-arg-secret")]


def test_makefile_unexported_variable_noted() -> None:
    text = "NPM_TOKEN := $(shell cat .token)\nb:\n\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) .\n"
    result = _script(text, ["NPM_TOKEN"], name="Makefile")
    assert result.new is not None and b"--secret id=npm_token,env=NPM_TOKEN ." in result.new
    assert any("export NPM_TOKEN" in n for n in result.notes)
    exported = "export " + text
    assert not any("export NPM_TOKEN" in n for n in _script(exported, ["NPM_TOKEN"], name="Makefile").notes)


def _compose(tmp: Path, text: str, secrets: list[str], removed: set[str], runtime: set[str]) -> InvocationResult:
    (tmp / "Dockerfile").write_text("FROM scratch\n")
    path = tmp / "compose.yaml"
    path.write_bytes(text.encode())
    m = DockerfileMigration((tmp / "Dockerfile").resolve(), [BuildSecret(a, secret_id(a)) for a in secrets],
                            set(secrets) | removed, runtime)
    return migrate_compose(path, "compose.yaml", text.encode(), [m])


def test_compose_runtime_var_in_env_file_is_not_duplicated(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("API_SECRET=\n")
    text = ("services:\n  a:\n    build:\n      context: .\n      args:\n        API_SECRET: ${API_SECRET}\n"
            "    env_file: app.env\n")
    result = _compose(tmp_path, text, [], {"API_SECRET"}, {"API_SECRET"})
    assert result.new == b"services:\n  a:\n    build:\n      context: .\n    env_file: app.env\n"
    assert any("env_file app.env" in n for n in result.notes)


def test_compose_build_short_form_without_final_newline(tmp_path: Path) -> None:
    result = _compose(tmp_path, "services:\n  a:\n    build: .  # here", ["NPM_TOKEN"], set(), set())
    assert result.new == (b"services:\n  a:\n    build:\n      context: .  # here\n      secrets:\n"
                          b"        - npm_token\n\nsecrets:\n  npm_token:\n    environment: NPM_TOKEN")


def test_compose_only_args_left_build_gets_context(tmp_path: Path) -> None:
    text = "services:\n  a:\n    build:\n      args:\n        - OLD=1\n    image: x\n"
    assert _compose(tmp_path, text, [], {"OLD"}, set()).new == (
        b"services:\n  a:\n    build:\n      context: .\n    image: x\n")


def test_compose_flow_args_reported_not_edited(tmp_path: Path) -> None:
    text = "services:\n  a:\n    build:\n      context: .\n      args: [NPM_TOKEN=$NPM_TOKEN]\n"
    result = _compose(tmp_path, text, ["NPM_TOKEN"], set(), set())
    # a producer this rewrite cannot change: the run keeps the secret, so the service gets no build secret
    assert result.new is None
    assert result.findings == []
    assert [(b.arg, b.line, b.dockerfile) for b in result.blocked] == [
        ("NPM_TOKEN", 5, (tmp_path / "Dockerfile").resolve())]


def test_compose_interpolated_context_is_not_matched(tmp_path: Path) -> None:
    text = "services:\n  a:\n    build:\n      context: ${CTX}\n      args:\n        - NPM_TOKEN\n"
    result = _compose(tmp_path, text, ["NPM_TOKEN"], set(), set())
    assert result.new is None
    assert [(f.variable, f.fixable) for f in result.findings] == [("NPM_TOKEN", False)]


@pytest.mark.parametrize(("fn", "text", "line"), [
    (migrate_compose, "services:\n  a:\n    build: [\n", 4),
    (migrate_compose, "services:\n  a:\n    build: .\n  a:\n    build: .\n", 4),
    (migrate_workflow, "jobs:\n  a:\n    steps:\n      - run: docker build --build-arg X=1 .\n    - bad\n", 5),
    (migrate_compose, "services: {}\n---\nbuild: 1\n", 2),
])
def test_unparseable_yaml_raises(fn: object, text: str, line: int) -> None:
    with pytest.raises(InvocationError, match=rf"^x\.yaml:{line}: "):
        fn(Path("x.yaml"), "x.yaml", text.encode(), [])  # type: ignore[operator]


def test_file_without_builds_is_not_parsed() -> None:
    # a broken YAML file that builds nothing is not this rewriter's business
    assert migrate_workflow(Path("w.yml"), "w.yml", b"on: [\n", []).new is None
    assert migrate_compose(Path("c.yaml"), "c.yaml", b"services: [\n", []).new is None


def test_script_command_after_shell_keyword_and_wrapper_options() -> None:
    text = "if [ -n \"$CI\" ]; then sudo -E -H docker build --build-arg NPM_TOKEN .; fi\n"
    assert _script(text, ["NPM_TOKEN"]).new == (
        b"if [ -n \"$CI\" ]; then sudo -E -H docker build --secret id=npm_token,env=NPM_TOKEN .; fi\n")


def test_compose_blocked_build_secrets_keep_the_arg(tmp_path: Path) -> None:
    """build.secrets in flow style: the secret arg stays (a build without it and without the secret fails)."""
    text = ("services:\n  a:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN=$NPM_TOKEN\n"
            "        - OLD=1\n      secrets: [cert]\nsecrets:\n  cert:\n    file: c.pem\n")
    result = _compose(tmp_path, text, ["NPM_TOKEN"], {"OLD"}, set())
    assert result.new == text.replace("        - OLD=1\n", "").encode()
    assert [(f.variable, f.fixable) for f in result.findings] == [("OLD", True)]
    assert [(b.arg, b.line) for b in result.blocked] == [("NPM_TOKEN", 6)]


def test_compose_blocked_top_level_secrets(tmp_path: Path) -> None:
    text = "services:\n  a:\n    build: .\nsecrets: {cert: {file: c.pem}}\n"
    result = _compose(tmp_path, text, ["NPM_TOKEN"], set(), set())
    assert result.new is None
    assert result.findings == []
    assert [(b.arg, b.line) for b in result.blocked] == [("NPM_TOKEN", 3)]


@pytest.mark.parametrize("top", ["secrets:\n", "secrets: {}\n"])
def test_compose_empty_top_level_secrets_filled(tmp_path: Path, top: str) -> None:
    text = "services:\n  a:\n    build: .\n" + top
    result = _compose(tmp_path, text, ["NPM_TOKEN"], set(), set())
    assert result.new == (b"services:\n  a:\n    build:\n      context: .\n      secrets:\n        - npm_token\n"
                          b"secrets:\n  npm_token:\n    environment: NPM_TOKEN\n")


def test_compose_secret_that_also_reached_env(tmp_path: Path) -> None:
    """An ARG read by a RUN and bound into ENV: build secret and runtime environment both."""
    text = "services:\n  a:\n    build:\n      context: .\n      args:\n        TOKEN: ${TOKEN}\n"
    result = _compose(tmp_path, text, ["TOKEN"], set(), {"TOKEN"})
    assert result.new == (b"services:\n  a:\n    build:\n      context: .\n      secrets:\n        - token\n"
                          b"    environment:\n      TOKEN: ${TOKEN}\n\nsecrets:\n  token:\n    environment: TOKEN\n")


def _workflow(text: str, args: list[str], removed: list[str] | None = None) -> InvocationResult:
    m = DockerfileMigration(Path("/nonexistent/Dockerfile"), [BuildSecret(a, secret_id(a)) for a in args],
                            set(args) | set(removed or []), set())
    return migrate_workflow(Path("ci.yml"), "ci.yml", text.encode(), [m])


def test_workflow_blocked_secrets_input_leaves_build_args() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n"
            "        with:\n          build-args: |\n            NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n"
            "          secrets: >\n            a=b\n")
    result = _workflow(text, ["NPM_TOKEN"])
    assert result.new is None
    assert result.findings == []
    assert [(b.arg, b.line) for b in result.blocked] == [("NPM_TOKEN", 9)]


def test_workflow_single_line_inputs() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n"
            "        with:\n          build-args: NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n"
            "          secrets: a=${{ secrets.A }}\n")
    assert _workflow(text, ["NPM_TOKEN"]).new == (
        b"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n"
        b"        with:\n          secrets: |\n            a=${{ secrets.A }}\n"
        b"            npm_token=${{ secrets.NPM_TOKEN }}\n")


def test_workflow_run_step_env_conflict_is_left_for_a_human() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      NPM_TOKEN: other\n    steps:\n"
            "      - run: docker build --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} .\n")
    result = _workflow(text, ["NPM_TOKEN"])
    assert result.new is None
    assert result.findings == []
    assert [(b.arg, b.line) for b in result.blocked] == [("NPM_TOKEN", 8)]


def test_workflow_pwsh_step_reported() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - shell: pwsh\n"
            "        run: docker build --build-arg NPM_TOKEN=$env:NPM_TOKEN .\n")
    result = _workflow(text, ["NPM_TOKEN"])
    assert result.new is None
    assert result.findings == []
    assert [(b.arg, b.line) for b in result.blocked] == [("NPM_TOKEN", 7)]


def test_compose_alias_as_last_value_and_bom(tmp_path: Path) -> None:
    text = ("\ufeffx-l: &l\n  driver: json\nservices:\n  a:\n    build:\n      context: .\n      args:\n"
            "        - OLD=${OLD}\n    logging: *l\n")
    result = _compose(tmp_path, text, ["NPM_TOKEN"], {"OLD"}, {"OLD"})
    assert result.new == ("\ufeffx-l: &l\n  driver: json\nservices:\n  a:\n    build:\n      context: .\n"
                          "      secrets:\n        - npm_token\n    logging: *l\n    environment:\n      OLD: ${OLD}\n"
                          "\nsecrets:\n  npm_token:\n    environment: NPM_TOKEN\n").encode()


def test_script_latin1_bytes_survive() -> None:
    data = b"# caf\xe9\ndocker build --build-arg NPM_TOKEN=\"$NPM_TOKEN\" -t caf\xe9 .\n"
    m = DockerfileMigration(Path("/x/Dockerfile"), [BuildSecret("NPM_TOKEN", "npm_token")], {"NPM_TOKEN"}, set())
    result = migrate_script(Path("b.sh"), "b.sh", data, [m])
    assert result.new == b"# caf\xe9\ndocker build --secret id=npm_token,env=NPM_TOKEN -t caf\xe9 .\n"
    assert [(f.line, f.column) for f in result.findings] == [(2, 26)]


def test_compose_shared_args_anchor_is_reported_not_edited(tmp_path: Path) -> None:
    text = ("x-args: &args\n  NPM_TOKEN: ${NPM_TOKEN}\nservices:\n  a:\n    build:\n      context: .\n"
            "      args: *args\n")
    result = _compose(tmp_path, text, ["NPM_TOKEN"], set(), set())
    assert result.new is None
    assert [(b.line, b.arg) for b in result.blocked] == [(2, "NPM_TOKEN")]


# -- property: random compose files -------------------------------------------------------------------

_SECRET_ARGS = ["NPM_TOKEN", "GIT_AUTH_TOKEN"]
_REMOVED_ARGS = ["URL_DEFAULT"]
_RUNTIME_ARGS = ["API_SECRET"]
_OTHER_ARGS = ["VERSION", "GITHUB_TOKEN"]  # GITHUB_TOKEN: a secret name no migration covers


def _compose_strategy() -> object:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, list[str]]:
        names = draw(st.lists(st.sampled_from(_SECRET_ARGS + _REMOVED_ARGS + _RUNTIME_ARGS + _OTHER_ARGS),
                              unique=True, max_size=5))
        ind = draw(st.sampled_from([2, 4]))
        seq = draw(st.sampled_from([0, 2]))
        as_map = draw(st.booleans())
        env = draw(st.sampled_from(["none", "list", "map"]))
        lines = ["services:"]
        for svc in range(draw(st.integers(1, 3))):
            p1, p2, p3 = " " * ind, " " * (2 * ind), " " * (3 * ind)
            lines.append(f"{p1}s{svc}:")
            if not names and draw(st.booleans()):
                lines.append(f"{p2}build: .")
            else:
                lines += [f"{p2}build:", f"{p3}context: ."]
                if names:
                    lines.append(f"{p3}args:")
                    for n in names:
                        value = draw(st.sampled_from(["${" + n + "}", "$" + n, "literal", None]))
                        if as_map:
                            lines.append(f"{p3}{' ' * ind}{n}:" + ("" if value is None else f" {value}"))
                        else:
                            lines.append(f"{p3}{' ' * seq}- {n}" + ("" if value is None else f"={value}"))
            if env == "list":
                lines += [f"{p2}environment:", f"{p2}{' ' * seq}- A=1"]
            elif env == "map":
                lines += [f"{p2}environment:", f"{p3}A: 1"]
            if draw(st.booleans()):
                lines.append(f"{p2}restart: always")
        if draw(st.booleans()):
            lines += ["secrets:", " " * ind + "cert:", " " * (2 * ind) + "file: c.pem"]
        eol = draw(st.sampled_from(["\n", "\r\n"]))
        text = eol.join(lines) + (eol if draw(st.booleans()) else "")
        return text, names

    return build()


def test_random_compose_files(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import given, settings
    from ruamel.yaml import YAML

    tmp = tmp_path_factory.mktemp("compose")
    (tmp / "Dockerfile").write_text("FROM scratch\n")
    m = DockerfileMigration((tmp / "Dockerfile").resolve(), [BuildSecret(a, secret_id(a)) for a in _SECRET_ARGS],
                            set(_SECRET_ARGS + _REMOVED_ARGS + _RUNTIME_ARGS), set(_RUNTIME_ARGS))
    ids = [secret_id(a) for a in _SECRET_ARGS]

    @settings(max_examples=300, deadline=None)
    @given(_compose_strategy())
    def check(case: tuple[str, list[str]]) -> None:
        text, names = case
        path = tmp / "compose.yaml"
        result = migrate_compose(path, "compose.yaml", text.encode(), [m])
        assert result.new is not None  # every service builds the migrated Dockerfile
        out = result.new.decode()
        if "\r\n" in text:
            assert out.count("\n") == out.count("\r\n")
        doc = YAML(typ="safe", pure=True).load(out)
        for svc in doc["services"].values():
            build = svc["build"]
            args = build.get("args", [])
            left = [a.split("=")[0] for a in args] if isinstance(args, list) else list(args)
            assert left == [n for n in names if n in _OTHER_ARGS]
            assert sorted(build["secrets"]) == sorted(ids)
            if any(n in _RUNTIME_ARGS for n in names):
                env = svc["environment"]
                keys = [e.split("=")[0] for e in env] if isinstance(env, list) else list(env)
                assert "API_SECRET" in keys
        assert sorted(k for k in doc["secrets"] if k != "cert") == sorted(ids)
        assert {doc["secrets"][i]["environment"] for i in ids} <= {"NPM_TOKEN", "GIT_AUTH_TOKEN"}
        assert migrate_compose(path, "compose.yaml", result.new, [m]).new is None

    check()


def test_random_build_commands() -> None:
    """Any mix of forms: no covered --build-arg survives in a docker build, others stay, a rerun is a no-op."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from codemod.invocations.scripts import build_options_start

    forms = ["--build-arg {n}=${n}", '--build-arg "{n}=${{{n}}}"', "--build-arg={n}=$(cat f)", "--build-arg {n}",
             '--build-arg {n}="$X"', "-t img", "--pull", "--build-arg VERSION=1"]
    names = ["NPM_TOKEN", "OLD", "VERSION"]
    m = DockerfileMigration(Path("/x/Dockerfile"), [BuildSecret("NPM_TOKEN", "npm_token")], {"NPM_TOKEN", "OLD"},
                            set())

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(forms), st.sampled_from(names), st.sampled_from([" ", " \\\n  "])),
                    max_size=6), st.sampled_from(["docker build", "docker buildx build", "podman build"]))
    def check(parts: list[tuple[str, str, str]], head: str) -> None:
        text = head + "".join(sep + form.format(n=n) for form, n, sep in parts) + " .\n"
        result = migrate_script(Path("b.sh"), "b.sh", text.encode(), [m])
        out = (result.new or text.encode()).decode()
        cmds = commands(out, 0, len(out), make=False)
        # the build command first, then any command substitution's ($(cat f))
        assert build_options_start(cmds[0]) is not None and all(c[0].text == "cat" for c in cmds[1:])
        words = [w.text for w in cmds[0]]
        assert not any(re.match(r'"?(NPM_TOKEN|OLD)\b', w) for w in words)
        assert not any(w.startswith(("--build-arg=NPM_TOKEN", "--build-arg=OLD")) for w in words)
        kept = [w for w in words if "VERSION" in w]
        assert len(kept) == sum(1 for form, n, _ in parts if "VERSION" in form.format(n=n))
        assert words.count("--secret") + sum(w.startswith("--secret=") for w in words) == (
            1 if any("{n}" in f and n == "NPM_TOKEN" for f, n, _ in parts) else 0)
        assert migrate_script(Path("b.sh"), "b.sh", out.encode(), [m]).new is None

    check()


def test_literal_secret_values_are_spanned_for_redaction(tmp_path: Path) -> None:
    value = "npm_AbCdEf0123456789AbCdEf0123456789AbCd"
    data = f'# caf\u00e9\ndocker build --build-arg NPM_TOKEN="{value}" --build-arg "GITHUB_TOKEN={value}" .\n'.encode()
    m = DockerfileMigration(Path("/x/Dockerfile"), [BuildSecret("NPM_TOKEN", "npm_token")], {"NPM_TOKEN"}, set())
    result = migrate_script(Path("b.sh"), "b.sh", data, [m])
    assert [data[a:b] for a, b in result.redact_spans] == [value.encode(), value.encode()]
    compose = (f"services:\n  a:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN={value}\n"
               f"        - 'GITHUB_TOKEN={value}'\n        - VERSION=1.0\n        - API_TOKEN=${{API_TOKEN}}\n")
    r = _compose(tmp_path, compose, ["NPM_TOKEN"], set(), set())
    raw = compose.encode()
    assert [raw[a:b] for a, b in r.redact_spans] == [value.encode(), value.encode()]
    wf = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n"
          f"        with:\n          build-args: |\n            NPM_TOKEN={value}\n            V=1\n")
    w = _workflow(wf, ["NPM_TOKEN"])
    assert [wf.encode()[a:b] for a, b in w.redact_spans] == [value.encode()]
