"""How the build is invoked: compose files, GitHub workflows, Makefiles and shell scripts (design.md section 3.5).

A migrated Dockerfile mounts build secrets by id; everything that builds it must
now pass those ids instead of ``--build-arg``s, and stop passing args whose ARG
is gone. YAML is parsed with ruamel.yaml only to *locate* nodes; the edits are
spans of the original text, so every other byte (CRLF, comments, quoting,
indentation) stays as it was. Secret values never appear in findings or notes.
"""

from __future__ import annotations

from pathlib import Path

from codemod.invocations.result import InvocationError, InvocationResult
from codemod.model import BuildSecret, DockerfileMigration, secret_id

__all__ = [
    "BuildSecret",
    "DockerfileMigration",
    "InvocationError",
    "InvocationResult",
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
