"""Producers of a migrated build arg that the rewrite cannot change (design.md section 3.5): each is blocked
with its file, line and reason, and the run keeps that secret everywhere.

Handler level: a small file per case, against one migration of NPM_TOKEN (a build secret). Run level: real
runs over small repositories (the text scan of files of unknown format, unparseable files, a producer that
cannot tell which of two Dockerfiles it builds).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemod.invocations import InvocationResult, migrate_ci, migrate_script, migrate_workflow
from codemod.model import BuildSecret, DockerfileMigration

from conftest import git

NPM = DockerfileMigration(Path("/repo/Dockerfile"), [BuildSecret("NPM_TOKEN", "npm_token")], {"NPM_TOKEN"})


def ci(fmt: str, name: str, text: str, migrations: list[DockerfileMigration] | None = None) -> InvocationResult:
    return migrate_ci(Path("/repo") / name, name, text.encode(), migrations or [NPM], fmt)


def blocked(result: InvocationResult) -> list[tuple[str, int, str]]:
    return [(b.arg, b.line, b.reason) for b in result.blocked]


def only_blocked(result: InvocationResult, line: int, why: str) -> None:
    assert result.new is None, "a blocked producer is never rewritten"
    assert [(a, n) for a, n, _ in blocked(result)] == [("NPM_TOKEN", line)]
    assert why in result.blocked[0].reason


# -- builders without secret mounts, or with the legacy builder -------------------------------------------


def test_gitlab_kaniko_line_is_blocked() -> None:
    text = ("build:\n  image:\n    name: gcr.io/kaniko-project/executor:v1.23.2-debug\n    entrypoint: ['']\n"
            "  script:\n    - /kaniko/executor --context $CI_PROJECT_DIR --dockerfile Dockerfile\n"
            "        --build-arg NPM_TOKEN=$NPM_TOKEN --destination $CI_REGISTRY_IMAGE:$CI_COMMIT_TAG\n")
    only_blocked(ci("gitlab", ".gitlab-ci.yml", text), 7, "kaniko has no build secrets")


def test_gitlab_buildkit_off_and_old_docker_are_blocked() -> None:
    off = ("variables:\n  DOCKER_BUILDKIT: \"0\"\nb:\n  script:\n    - docker build --build-arg NPM_TOKEN .\n")
    only_blocked(ci("gitlab", ".gitlab-ci.yml", off), 5, "DOCKER_BUILDKIT=0 (line 2)")
    old = ("b:\n  image: docker:19.03\n  services: [docker:19.03-dind]\n  script:\n"
           "    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n")
    only_blocked(ci("gitlab", ".gitlab-ci.yml", old), 5, "docker 19.3 (line 2) is older than 20.10")
    # buildx always builds with BuildKit, whatever DOCKER_BUILDKIT says
    buildx = off.replace("docker build", "docker buildx build")
    assert ci("gitlab", ".gitlab-ci.yml", buildx).blocked == []


def test_inline_buildkit_off_blocks_only_that_command() -> None:
    text = ("DOCKER_BUILDKIT=0 docker build --build-arg NPM_TOKEN -t a .\n"
            "DOCKER_BUILDKIT=1 docker build --build-arg NPM_TOKEN -t b .\n"
            "docker build --build-arg NPM_TOKEN -t c .\n")
    result = migrate_script(Path("b.sh"), "b.sh", text.encode(), [NPM])
    assert [(a, n) for a, n, _ in blocked(result)] == [("NPM_TOKEN", 1)]
    assert result.new is not None and result.new.count(b"--secret id=npm_token,env=NPM_TOKEN") == 2
    exported = "export DOCKER_BUILDKIT=0\n" + text.split("\n", 2)[2]
    assert [n for _, n, _ in blocked(migrate_script(Path("b.sh"), "b.sh", exported.encode(), [NPM]))] == [2]


def test_cloudbuild_kaniko_and_unknown_builders_are_blocked() -> None:
    text = ("steps:\n  - name: gcr.io/kaniko-project/executor:latest\n    args:\n"
            "      - --destination=gcr.io/$PROJECT_ID/web\n      - --build-arg=NPM_TOKEN=${_NPM_TOKEN}\n"
            "  - name: gcr.io/k8s-skaffold/pack\n    args: ['build', '--build-arg', 'NPM_TOKEN=x']\n")
    result = ci("cloudbuild", "cloudbuild.yaml", text)
    assert result.new is None
    assert [(a, n) for a, n, _ in blocked(result)] == [("NPM_TOKEN", 5), ("NPM_TOKEN", 7)]
    assert "kaniko" in result.blocked[0].reason and "gcr.io/k8s-skaffold/pack" in result.blocked[1].reason


def test_cloudbuild_buildkit_off_in_step_env() -> None:
    text = ("steps:\n  - name: gcr.io/cloud-builders/docker\n    env: ['DOCKER_BUILDKIT=0']\n"
            "    args: ['build', '--build-arg', 'NPM_TOKEN', '.']\n")
    only_blocked(ci("cloudbuild", "cloudbuild.yaml", text), 4, "legacy builder")


def test_cloudbuild_flow_args_are_rewritten_with_buildkit() -> None:
    text = ("steps:\n  - name: 'gcr.io/cloud-builders/docker'\n"
            "    args: ['build', '--build-arg', 'NPM_TOKEN', '-t', 'web', '.']\n    secretEnv: ['NPM_TOKEN']\n")
    result = ci("cloudbuild", "cloudbuild.yaml", text)
    assert result.new == (b"steps:\n  - name: 'gcr.io/cloud-builders/docker'\n    env: ['DOCKER_BUILDKIT=1']\n"
                          b"    args: ['build', '--secret', 'id=npm_token,env=NPM_TOKEN', '-t', 'web', '.']\n"
                          b"    secretEnv: ['NPM_TOKEN']\n")


def test_azure_docker_task_build_and_push_ignores_arguments() -> None:
    text = ("steps:\n  - task: Docker@2\n    inputs:\n      command: buildAndPush\n"
            "      arguments: --build-arg NPM_TOKEN=$(npmToken)\n")
    only_blocked(ci("azure", "azure-pipelines.yml", text), 5, "ignores arguments for command buildAndPush")


def test_azure_windows_and_powershell_steps_are_blocked() -> None:
    win = "pool:\n  vmImage: windows-2022\nsteps:\n  - script: docker build --build-arg NPM_TOKEN=%NPM_TOKEN% .\n"
    only_blocked(ci("azure", "azure-pipelines.yml", win), 4, "Windows agent")
    pwsh = "steps:\n  - pwsh: docker build --build-arg NPM_TOKEN=$env:NPM_TOKEN .\n"
    only_blocked(ci("azure", "azure-pipelines.yml", pwsh), 2, "pwsh step")


def test_skaffold_without_buildkit_or_with_kaniko_is_blocked() -> None:
    base = ("apiVersion: skaffold/v4beta11\nkind: Config\nbuild:\n  local:\n    useBuildkit: false\n  artifacts:\n"
            "    - image: web\n      docker:\n        buildArgs:\n          NPM_TOKEN: '{{.NPM_TOKEN}}'\n")
    only_blocked(ci("skaffold", "skaffold.yaml", base), 10, "useBuildkit is false")
    kaniko = base.replace("  local:\n    useBuildkit: false\n", "").replace("docker:", "kaniko:")
    only_blocked(ci("skaffold", "skaffold.yaml", kaniko), 8, "kaniko")


def test_bake_one_line_args_are_blocked() -> None:
    text = 'target "web" {\n  args = { NPM_TOKEN = "${NPM_TOKEN}", MODE = "prod" }\n}\n'
    only_blocked(ci("bake", "docker-bake.hcl", text), 2, "not one entry per line")


def test_devcontainer_args_are_blocked_and_the_file_never_changes() -> None:
    text = ('{\n  "build": {\n    "dockerfile": "Dockerfile",\n    "args": {"NPM_TOKEN": "${localEnv:NPM_TOKEN}"}\n'
            '  }\n}\n')
    here = DockerfileMigration(Path("/repo/.devcontainer/Dockerfile"), [BuildSecret("NPM_TOKEN", "npm_token")],
                               {"NPM_TOKEN"})
    result = ci("devcontainer", ".devcontainer/devcontainer.json", text, [here])
    only_blocked(result, 4, "no build secret option")
    assert result.blocked[0].dockerfile == here.dockerfile
    # another Dockerfile's migration is not this build's
    assert ci("devcontainer", ".devcontainer/devcontainer.json", text).blocked == []


# -- forms the rewrite cannot place -----------------------------------------------------------------------


def test_jenkins_groovy_values_bat_and_assembled_strings_are_blocked() -> None:
    text = ("node {\n  def token = readToken()\n  sh \"docker build --build-arg NPM_TOKEN=${token} .\"\n"
            "  bat 'docker build --build-arg NPM_TOKEN=%NPM_TOKEN% .'\n"
            "  def extra = \"--build-arg NPM_TOKEN=$NPM_TOKEN\"\n  sh \"docker build ${extra} .\"\n}\n")
    result = ci("jenkins", "Jenkinsfile", text)
    assert result.new is None
    assert [(a, n) for a, n, _ in blocked(result)] == [("NPM_TOKEN", 3), ("NPM_TOKEN", 4), ("NPM_TOKEN", 5)]
    reasons = [b.reason for b in result.blocked]
    assert "Groovy value" in reasons[0] and "bat" in reasons[1] and "not the script of an sh step" in reasons[2]


def test_jenkins_credentials_variable_is_the_environment() -> None:
    text = ("node {\n  withCredentials([string(credentialsId: 'npm', variable: 'NPM_TOKEN')]) {\n"
            "    sh(script: \"docker build --build-arg NPM_TOKEN=${NPM_TOKEN} -t web .\", label: 'image')\n  }\n}\n")
    result = ci("jenkins", "Jenkinsfile", text)
    assert result.blocked == []
    assert result.new is not None and b'sh(script: "docker build --secret id=npm_token,env=NPM_TOKEN -t web ."' \
        in result.new


def test_reusable_workflow_and_other_actions_build_args_are_blocked() -> None:
    text = ("on: push\njobs:\n  image:\n    uses: acme/ci/.github/workflows/docker.yml@v3\n    with:\n"
            "      image: web\n      build-args: |\n        NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n"
            "  local:\n    uses: ./.github/workflows/image.yml\n    secrets:\n"
            "      secret-build-args: NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n"
            "  buildah:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: redhat-actions/buildah-build@v2\n"
            "        with:\n          build-args: |\n            NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n")
    result = migrate_workflow(Path("/repo/.github/workflows/ci.yml"), "ci.yml", text.encode(), [NPM])
    assert result.new is None
    assert [(a, n) for a, n, _ in blocked(result)] == [("NPM_TOKEN", 8), ("NPM_TOKEN", 12), ("NPM_TOKEN", 19)]
    reasons = [b.reason for b in result.blocked]
    assert "reusable workflow acme/ci/.github/workflows/docker.yml@v3 (in another repository)" in reasons[0]
    assert "./.github/workflows/image.yml (in this repository)" in reasons[1]
    assert "redhat-actions/buildah-build" in reasons[2]


def test_build_args_in_yaml_values_no_handler_reads_are_blocked() -> None:
    gitlab = ("variables:\n  BUILD_FLAGS: --build-arg NPM_TOKEN=$NPM_TOKEN\nb:\n  script:\n"
              "    - docker build $BUILD_FLAGS .\n")
    only_blocked(ci("gitlab", ".gitlab-ci.yml", gitlab), 2, "a YAML value this rewrite does not read")
    workflow = ("on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      FLAGS: --build-arg NPM_TOKEN\n    steps:\n"
                "      - run: docker build $FLAGS .\n")
    result = migrate_workflow(Path("/repo/.github/workflows/a.yml"), "a.yml", workflow.encode(), [NPM])
    only_blocked(result, 6, "a YAML value this rewrite does not read")


def test_jenkins_agent_additional_build_args_are_options() -> None:
    text = ("pipeline {\n  agent {\n    dockerfile {\n      filename 'Dockerfile'\n"
            "      additionalBuildArgs '--build-arg NPM_TOKEN=$NPM_TOKEN --pull'\n    }\n  }\n}\n")
    result = ci("jenkins", "Jenkinsfile", text)
    assert result.blocked == []
    assert result.new is not None and b"additionalBuildArgs '--secret id=npm_token,env=NPM_TOKEN --pull'" in result.new


def test_an_empty_value_is_a_value() -> None:
    """``--build-arg NPM_TOKEN=`` passes the empty string (and once crashed the redaction of values)."""
    result = migrate_script(Path("b.sh"), "b.sh", b"docker build --build-arg NPM_TOKEN= .\n", [NPM])
    assert result.new == b"docker build --secret id=npm_token,env=NPM_TOKEN .\n"


def test_command_substitutions_are_commands_too() -> None:
    make = "run:\n\tdocker run --rm $$(docker build -q --build-arg NPM_TOKEN=$$NPM_TOKEN .) true\n" \
           "id:\n\t@echo $(shell docker build -q --build-arg NPM_TOKEN=$(NPM_TOKEN) .)\n"
    result = migrate_script(Path("Makefile"), "Makefile", make.encode(), [NPM])
    assert result.new == (b"run:\n\tdocker run --rm $$(docker build -q --secret id=npm_token,env=NPM_TOKEN .) true\n"
                          b"id:\n\t@echo $(shell docker build -q --secret id=npm_token,env=NPM_TOKEN .)\n")
    sh = "IMAGE=`docker build -q --build-arg NPM_TOKEN .`\n"
    assert migrate_script(Path("b.sh"), "b.sh", sh.encode(), [NPM]).new == \
        b"IMAGE=`docker build -q --secret id=npm_token,env=NPM_TOKEN .`\n"


def test_mixed_coverage_blocks_a_producer_that_cannot_tell_its_dockerfile() -> None:
    kept = DockerfileMigration(Path("/repo/legacy/Dockerfile"), kept={"NPM_TOKEN": "x.sh:1: kaniko"})
    result = migrate_script(Path("b.sh"), "b.sh", b"docker build --build-arg NPM_TOKEN .\n", [NPM, kept])
    assert result.new is None
    assert "another Dockerfile keeps NPM_TOKEN as a build arg (x.sh:1: kaniko)" in result.blocked[0].reason


# -- whole runs -------------------------------------------------------------------------------------------

DOCKERFILE = "FROM node:20\nCOPY .npmrc package.json ./\nARG NPM_TOKEN\nRUN npm ci\n"


def _repo(root: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize(("rel", "text", "line"), [
    ("tools/build_images.py", 'subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={tok}", "."])\n', 1),
    ("Taskfile.yml", "tasks:\n  image:\n    cmds:\n      - docker build --build-arg NPM_TOKEN .\n", 4),
    ("package.json", '{"scripts": {"image": "docker build --build-arg NPM_TOKEN=$NPM_TOKEN ."}}\n', 1),
    ("deploy/tekton.yaml", "steps:\n  - name: build\n    args:\n      - NPM_TOKEN=$(params.token)\n", 4),
    ("docker-bake.json", '{"target": {"web": {\n  "args": {\n    "NPM_TOKEN": ""\n  }\n}}}\n', 3),
])
def test_text_scan_blocks_files_of_unknown_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, rel: str,
                                                  text: str, line: int) -> None:
    _repo(tmp_path, {"Dockerfile": DOCKERFILE, rel: text}, monkeypatch)
    code, out, _ = cli("--apply", "--no-backup", ".")
    assert code == 1
    assert f"{rel}:{line}:" in out and "a file of a format migrate-secrets does not rewrite" in out
    assert (tmp_path / "Dockerfile").read_text() == DOCKERFILE


def test_text_scan_notes_docs_and_ignores_other_mentions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         cli) -> None:
    _repo(tmp_path, {"Dockerfile": DOCKERFILE,
                     "README.md": "Build it:\n\n    docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n",
                     "scripts/env.txt.tmpl": "NPM_TOKEN=\n", "notes.cfg": "token = NPM_TOKEN\n"}, monkeypatch)
    code, out, _ = cli("--apply", "--no-backup", ".")
    assert code == 0, out
    assert "README.md:3: documents --build-arg NPM_TOKEN" in out
    assert "--mount=type=secret,id=npm_token" in (tmp_path / "Dockerfile").read_text()


def test_unparseable_files_block_only_when_they_matter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       cli) -> None:
    _repo(tmp_path, {"Dockerfile": DOCKERFILE, "docs/examples/compose.yaml": "services:\n  web:\n    build: [\n",
                     ".github/workflows/x.yml": "on: push\njobs:\n  a: {build-arg: [\n"}, monkeypatch)
    code, out, err = cli(".")
    assert code == 1, out + err  # pending migration; the broken files are warnings
    assert "warning: docs/examples/compose.yaml:4:" in out and "not parsed" in out
    assert "warning: .github/workflows/x.yml:" in out
    (tmp_path / ".github/workflows/x.yml").write_text("on: push\njobs:\n  a: {build-arg: [NPM_TOKEN\n")
    code, out, err = cli(".")
    assert code == 2, out + err  # it names a secret being migrated: the run cannot tell, so it stops
    assert "error: .github/workflows/x.yml:" in out + err


def test_a_producer_that_cannot_tell_its_dockerfile_keeps_the_secret_in_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """legacy/ is built by kaniko (its own producer, blocked: NPM_TOKEN stays there); build.sh passes NPM_TOKEN
    to a docker build whose Dockerfile the rewrite cannot tell: it is blocked in a second round, and NPM_TOKEN
    then stays a build arg in app/ too."""
    _repo(tmp_path, {"app/Dockerfile": DOCKERFILE, "legacy/Dockerfile": DOCKERFILE,
                     "app/.npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
                     "legacy/.npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
                     "compose.yaml": "services:\n  legacy:\n    build:\n      context: legacy\n"
                                     "      args: [NPM_TOKEN]\n",
                     "build.sh": "docker build --build-arg NPM_TOKEN -t app \"$1\"\n"}, monkeypatch)
    code, out, _ = cli("--format", "json", "--apply", "--no-backup", ".")
    assert code == 1
    doc = json.loads(out)
    human = {(f["file"], f["variable"]) for f in doc["findings"] if not f["fixable"]}
    assert ("build.sh", "NPM_TOKEN") in human and ("compose.yaml", "NPM_TOKEN") in human
    assert (tmp_path / "app/Dockerfile").read_text() == DOCKERFILE
    assert (tmp_path / "legacy/Dockerfile").read_text() == DOCKERFILE
    assert (tmp_path / "build.sh").read_text() == "docker build --build-arg NPM_TOKEN -t app \"$1\"\n"


def test_an_input_named_in_capitals_is_found() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: ./.github/actions/docker-build\n"
            "        with:\n          BUILD_ARGS: NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n")
    result = migrate_workflow(Path("/repo/.github/workflows/a.yml"), "a.yml", text.encode(), [NPM])
    only_blocked(result, 8, "input BUILD_ARGS of ./.github/actions/docker-build is not rewritten")


@pytest.mark.parametrize(("yaml", "shell"), [
    ('k: "docker build \\\n    --build-arg X=\\"$X\\" ."\n', 'docker build --build-arg X="$X" .'),  # escaped break
    ("k: 'it''s --build-arg X'\n", "it's --build-arg X"),
    ("k: docker build\n  --build-arg X\n\n  .\n", "docker build --build-arg X\n."),
    ("k: >\n  docker build\n  --build-arg X\n    -t more\n", "docker build --build-arg X\n-t more"),
])
def test_views_read_yaml_strings_as_the_shell_gets_them(yaml: str, shell: str) -> None:
    """A view has the text's length; its words, read without the NULs, are the value's words."""
    from codemod.invocations.views import yaml_view
    from codemod.invocations.yamlnodes import parse_yaml

    node = parse_yaml(yaml, "v.yml").value[0][1]
    view, start, end = yaml_view(yaml, node, flow=False)
    assert len(view) == len(yaml)
    got = [" ".join(w.text for w in c) for c in commands_of(view, start, end)]
    want = [" ".join(c) for c in (line.split() for line in shell.split("\n")) if c]
    assert got == want


def commands_of(text: str, start: int, end: int) -> list[list]:
    from codemod.invocations.shellwords import commands

    return commands(text, start, end, make=False)


def test_views_refuse_what_they_cannot_stand_for() -> None:
    from codemod.invocations.views import groovy_view, yaml_view
    from codemod.invocations.yamlnodes import parse_yaml

    text = 'k: "\\u0041 --build-arg X"\n'
    assert yaml_view(text, parse_yaml(text, "v.yml").value[0][1], flow=False) is None
    flow = "k: [docker build --build-arg X .]\n"
    assert yaml_view(flow, parse_yaml(flow, "v.yml").value[0][1].value[0], flow=True) is None
    assert groovy_view('sh "a \\u0041"', 4, 12, True) is None


def test_gitlab_includes_of_includes_are_gitlab_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    _repo(tmp_path, {"Dockerfile": DOCKERFILE,
                     ".gitlab-ci.yml": "include:\n  - local: /ci/images.yml\n  - remote: https://example.com/x.yml\n",
                     "ci/images.yml": "include:\n  - local: ci/jobs/*.yml\n",
                     "ci/jobs/web.yml": "web:\n  script:\n    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n"},
          monkeypatch)
    code, out, _ = cli("--apply", "--no-backup", ".")
    assert code == 0, out
    assert (tmp_path / "ci/jobs/web.yml").read_text() == (
        "web:\n  script:\n    - docker build --secret id=npm_token,env=NPM_TOKEN .\n")
