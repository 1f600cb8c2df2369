"""Discovery: Dockerfiles as docker build and real repositories name them, and every file a compose file,
a workflow or a script names as one (design.md section 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemod.app import run
from codemod.config import Config
from codemod.discover import COMPOSE, DOCKERFILE, MAKEFILE, SCRIPT, build_file_flags, discover, kind_of
from codemod.invocations.named import with_named_dockerfiles

from conftest import git

LEAKY = "FROM alpine:3.20\nARG DB_PASSWORD=Zq8-leaky-db-pass-7731\nCMD [\"sh\"]\n"


@pytest.mark.parametrize(
    "name",
    [
        "Dockerfile", "dockerfile", "DockerFile", "DOCKERFILE", "Dockerfile.dev", "dockerfile.prod",
        "Dockerfile-deploykeys", "Dockerfile_rails", "DockerFile-worker", "api.Dockerfile", "api.dockerfile",
        "api.DockerFile", ".Dockerfile", "Containerfile", "containerfile", "Containerfile.fedora",
        "Containerfile-base", "app.Containerfile", "Dockerfile.test", "services/x/Dockerfile_ci",
    ],
)
def test_dockerfile_names(name: str) -> None:
    assert kind_of(name) == DOCKERFILE


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Dockerfile.backup-20260101-120000", None),
        ("dockerfile.backup-20260101-120000-2", None),
        ("Dockerfile.dockerignore", None),
        ("Dockerfile.j2", None), ("Dockerfile.tmpl", None), ("Dockerfile.template", None),
        ("dockerfile.jinja2", None), ("Dockerfile.in", None),
        # code, docs and data named after Dockerfiles are what their extension says
        ("dockerfile.go", None), ("dockerfile_test.go", None), ("Dockerfile.md", None), ("dockerfile.txt", None),
        ("Dockerfile-lint.sh", SCRIPT), ("dockerfile_utils.py", "python"), ("Dockerfile.yml", None),
        ("Dockerfile~", None), ("Dockerfiles", None), ("DockerfileGenerator", None),
    ],
)
def test_names_that_are_not_dockerfiles(name: str, kind: str | None) -> None:
    assert kind_of(name) == kind


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("docker build -f docker/app.build .", ["docker/app.build"]),
        ("docker build --file=ci/img .", ["ci/img"]),
        ('docker buildx build --platform linux/amd64 --file "deploy/Web Image" --push .', ["deploy/Web Image"]),
        ("podman build -f Containerfile.x .\nbuildah bud -f ./b.img .", ["Containerfile.x", "./b.img"]),
        ("$(DOCKER) build \\\n\t-f build/worker.img \\\n\t.", ["build/worker.img"]),
        ("/usr/bin/docker image build -t x -f a.img . && docker run -f not-this x", ["a.img"]),
        # not a build's -f, or a path that names nothing in the repository
        ("docker compose -f compose.ci.yml build", []),
        ("docker buildx bake -f docker-bake.hcl", []),
        ("docker build -f $DOCKERFILE .", []),
        ("docker build -f - . < x", []),
        ("docker logs -f app", []),
        ("tail -f build.log", []),
    ],
)
def test_build_file_flags(text: str, paths: list[str]) -> None:
    assert build_file_flags(text) == paths


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    monkeypatch.chdir(root)
    return root


def _kinds(paths: list[str] | None = None, *, exclude: tuple[str, ...] = (), log: list[str] | None = None,
           kinds: set[str] | None = None) -> dict[str, str]:
    """What a run reads: discovery by name, then the Dockerfiles the build files among them name."""
    files = discover(paths or ["."], kinds=kinds, exclude=exclude, log=log)
    if kinds is None or DOCKERFILE in kinds:
        files = with_named_dockerfiles(files, exclude=exclude, log=log)
    return {d.path.as_posix(): d.kind for d in files}


def test_the_new_name_forms_are_read_in_a_work_tree(repo: Path) -> None:
    names = ["dockerfile", "DockerFile", "Dockerfile-deploykeys", "Dockerfile_rails", ".Dockerfile",
             "api.dockerfile", "Containerfile.base", "Dockerfile.backup-20260101-120000", "Dockerfile.j2",
             "Dockerfile.dockerignore", "dockerfile.go"]
    _write(repo, {f"d{i}/{n}": LEAKY for i, n in enumerate(names)})
    found = _kinds()
    assert found == {f"d{i}/{n}": DOCKERFILE for i, n in enumerate(names[:7])}


def test_compose_dockerfile_relative_to_the_compose_file_and_context(repo: Path) -> None:
    _write(repo, {
        "deploy/compose.yml": "services:\n  web:\n    build:\n      context: ../app\n      dockerfile: images/web.img\n"
                              "  db:\n    image: postgres\n",
        "app/images/web.img": LEAKY,
        "deploy/images/web.img": LEAKY,  # relative to the compose file alone: not what compose builds
    })
    assert _kinds() == {"deploy/compose.yml": COMPOSE, "app/images/web.img": DOCKERFILE}


def test_workflow_file_is_relative_to_the_repository_root(repo: Path) -> None:
    _write(repo, {
        ".github/workflows/ci.yml": (
            "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: docker/build-push-action@v6\n        with:\n          context: services/api\n"
            "          file: services/api/build.image\n"
            "      - run: docker build -f tools/ci.image .\n        working-directory: ops\n"
            "      - run: |\n          docker build \\\n            --file docker/worker.image \\\n            .\n"
        ),
        "services/api/build.image": LEAKY,
        "ops/tools/ci.image": LEAKY,
        "docker/worker.image": LEAKY,
        "docker/unused.image": LEAKY,
    })
    found = _kinds()
    assert {p for p, k in found.items() if k == DOCKERFILE} == {
        "services/api/build.image", "ops/tools/ci.image", "docker/worker.image"}


def test_script_and_makefile_names_best_effort(repo: Path) -> None:
    _write(repo, {
        "scripts/build.sh": "#!/bin/sh\nset -e\ndocker build -t app -f local.img .\ndocker build -f docker/ci.img .\n",
        "scripts/local.img": LEAKY,  # beside the script
        "docker/ci.img": LEAKY,  # from the repository root, where CI runs the script
        "Makefile": "build:\n\t$(DOCKER) build -f build/Dockerimage .\n",
        "build/Dockerimage": LEAKY,
    })
    found = _kinds()
    assert found == {"Makefile": MAKEFILE, "scripts/build.sh": SCRIPT, "scripts/local.img": DOCKERFILE,
                     "docker/ci.img": DOCKERFILE, "build/Dockerimage": DOCKERFILE}


def test_named_files_outside_the_repository_backups_and_excluded_files_are_not_read(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.img").write_text(LEAKY)
    os.symlink(tmp_path / "outside.img", repo / "link.img")
    _write(repo, {
        "compose.yml": "services:\n  a:\n    build:\n      context: ..\n      dockerfile: outside.img\n"
                       "  b:\n    build:\n      context: .\n      dockerfile: link.img\n"
                       "  c:\n    build:\n      context: .\n      dockerfile: old.img.backup-20260101-120000\n"
                       "  d:\n    build:\n      context: .\n      dockerfile: vendor/x.img\n"
                       "  e:\n    build:\n      context: .\n      dockerfile: ${DOCKERFILE:-missing.img}\n",
        "old.img.backup-20260101-120000": LEAKY,
        "vendor/x.img": LEAKY,
    })
    log: list[str] = []
    found = _kinds(exclude=("vendor/*",), log=log)
    assert found == {"compose.yml": COMPOSE}
    assert not any("outside" in line for line in log)


def test_a_named_file_is_read_once_and_keeps_its_kind(repo: Path) -> None:
    _write(repo, {
        "compose.yml": "services:\n  a:\n    build: .\n"
                       "  b:\n    build:\n      context: .\n      dockerfile: ./Dockerfile\n",
        "Dockerfile": LEAKY,
    })
    assert _kinds() == {"compose.yml": COMPOSE, "Dockerfile": DOCKERFILE}
    assert _kinds(["compose.yml"]) == {"compose.yml": COMPOSE, "Dockerfile": DOCKERFILE}
    assert _kinds(kinds={COMPOSE}) == {"compose.yml": COMPOSE}


def test_a_script_built_dockerfile_is_migrated_with_its_script(repo: Path) -> None:
    """The miss the issue names: the tool said "no migrated Dockerfile covers it" instead of reading the
    file the script names."""
    _write(repo, {
        "ci/build.sh": '#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" -f ../docker/web.build ..\n',
        "docker/web.build": 'FROM node:20\nARG NPM_TOKEN\n'
                            'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc \\\n'
                            '    && npm ci && rm .npmrc\n',
    })
    result = run(["."], Config())
    got = sorted((f.path, f.line, f.variable, f.rule, f.fixable) for f in result.findings)
    assert got == [("ci/build.sh", 2, "NPM_TOKEN", "MS007", True),
                   ("docker/web.build", 3, "NPM_TOKEN", "MS004", True)]
    assert not any("no migrated Dockerfile" in f.message for f in result.findings)


def test_a_compose_built_dockerfile_is_migrated_with_its_compose_file(repo: Path) -> None:
    """Before: "no migrated Dockerfile covers it" for a build arg of a service whose Dockerfile is docker/web.build."""
    _write(repo, {
        "compose.yml": "services:\n  web:\n    build:\n      context: .\n      dockerfile: docker/web.build\n"
                       "      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n",
        "docker/web.build": 'FROM node:20\nARG NPM_TOKEN\n'
                            'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci \\\n'
                            '    && rm .npmrc\n',
    })
    result = run(["."], Config())
    got = sorted((f.path, f.line, f.variable, f.rule, f.fixable) for f in result.findings)
    assert got == [("compose.yml", 7, "NPM_TOKEN", "MS005", True), ("docker/web.build", 3, "NPM_TOKEN", "MS004", True)]
    assert {str(c.path) for c in result.changes} >= {"compose.yml", "docker/web.build"}
