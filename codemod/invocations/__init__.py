"""How the build is invoked: compose files, GitHub workflows, Makefiles, shell scripts and CI configuration
(GitLab CI, Jenkinsfile, CircleCI, Cloud Build, Azure Pipelines, Bitbucket, Drone, Travis, docker-bake,
Skaffold, devcontainer.json) (design.md section 3.5).

A migrated Dockerfile mounts build secrets by id; everything that builds it must
now pass those ids instead of ``--build-arg``s, and stop passing args whose ARG
is gone. YAML is parsed with ruamel.yaml only to *locate* nodes; the edits are
spans of the original text, so every other byte (CRLF, comments, quoting,
indentation) stays as it was. Secret values never appear in findings or notes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from codemod.invocations.result import InvocationError, InvocationResult
from codemod.model import BuildSecret, DockerfileMigration, secret_id

__all__ = [
    "BuildSecret",
    "DockerfileMigration",
    "InvocationError",
    "InvocationResult",
    "ci_format",
    "ci_includes",
    "migrate_ci",
    "migrate_compose",
    "migrate_script",
    "migrate_workflow",
    "secret_id",
]


def migrate_compose(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    """Compose ``build.args`` -> ``build.secrets`` + top-level ``secrets``, per service's Dockerfile."""
    from codemod.invocations.compose import migrate_compose as run

    return run(path, display, data, migrations)


def migrate_workflow(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    """GitHub workflow: build-push-action ``build-args`` -> ``secrets``; ``docker build`` in ``run:`` steps."""
    from codemod.invocations.workflows import migrate_workflow as run

    return run(path, display, data, migrations)


def migrate_script(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]) -> InvocationResult:
    """Makefile or shell script: ``docker build --build-arg`` -> ``--secret id=<id>,env=<V>``."""
    from codemod.invocations.scripts import migrate_script as run

    return run(path, display, data, migrations)


def ci_format(path: Path) -> str:
    """The format of a CI file, by its name (:data:`codemod.discover.CI` files)."""
    name = path.name.lower()
    for prefix, fmt in ((".gitlab-ci.", "gitlab"), ("cloudbuild", "cloudbuild"), ("azure-pipelines", "azure"),
                        ("bitbucket-pipelines", "bitbucket"), (".drone.", "drone"), (".travis.", "travis"),
                        ("docker-bake", "bake"), ("skaffold", "skaffold")):
        if name.startswith(prefix):
            return fmt
    if "jenkinsfile" in name:
        return "jenkins"
    if name.endswith("devcontainer.json"):
        return "devcontainer"
    return "circleci" if path.parent.name == ".circleci" else ""


def migrate_ci(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration], fmt: str
               ) -> InvocationResult:
    """A CI or build configuration file of format ``fmt`` (:func:`ci_format`)."""
    if fmt == "jenkins":
        from codemod.invocations.jenkins import migrate_jenkinsfile

        return migrate_jenkinsfile(path, display, data, migrations)
    if fmt == "cloudbuild":
        from codemod.invocations.cloudbuild import migrate_cloudbuild

        return migrate_cloudbuild(path, display, data, migrations)
    if fmt == "bake":
        from codemod.invocations.bake import migrate_bake

        return migrate_bake(path, display, data, migrations)
    if fmt == "skaffold":
        from codemod.invocations.skaffold import migrate_skaffold

        return migrate_skaffold(path, display, data, migrations)
    if fmt == "devcontainer":
        from codemod.invocations.devcontainer import migrate_devcontainer

        return migrate_devcontainer(path, display, data, migrations)
    if not fmt:
        return InvocationResult()
    from codemod.invocations.ciyaml import migrate_ci_yaml

    return migrate_ci_yaml(path, display, data, migrations, fmt)


_LOCAL_INCLUDE = re.compile(r"""(?m)^[ \t-]*(?:local[ \t]*:[ \t]*)?['"]?(?P<p>/?[\w./*-]+\.ya?ml)['"]?[ \t]*$""")


def ci_includes(path: Path) -> list[Path]:
    """Files of the repository a ``.gitlab-ci.yml`` includes (``include: local: ...``, ``include: - x.yml``):
    GitLab CI too. A leading ``/`` is the repository root; globs are expanded."""
    from codemod.discover import git_root

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if "include" not in text:
        return []
    root = git_root(path) or path.absolute().parent
    out: list[Path] = []
    block = re.search(r"(?ms)^include\s*:(?P<body>.*?)(?=^\S|\Z)", text)
    if block is None:
        return []
    for m in _LOCAL_INCLUDE.finditer(block.group("body")):
        rel = m.group("p").lstrip("/")
        if "://" in rel or rel.startswith(".."):
            continue
        for hit in sorted(root.glob(rel)) if "*" in rel else [root / rel]:
            if hit.is_file() and hit.resolve().is_relative_to(root.resolve()):
                out.append(Path(os.path.relpath(hit)))
    return out
