"""What rewriting one file that builds images gives: its findings, its new bytes, its notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from codemod.model import BlockedProducer, Finding


class InvocationError(Exception):
    """The file cannot be edited faithfully (unparseable YAML); the message is ``<display>:<line>: <reason>``."""


@dataclass
class InvocationResult:
    """Findings for one compose file, workflow, Makefile or script, and its new bytes (None: unchanged).

    ``notes`` are warnings for a human (dynamic forms left alone, ``DOCKER_BUILDKIT=0``...);
    ``build_flags`` are the ``--secret`` flags a local ``docker build`` now needs.
    ``redact_spans`` are byte spans of the input holding literal secret values (a committed
    ``--build-arg NPM_TOKEN=npm_...``), for the diff's redaction like ``FileChange.redact_spans``.
    ``blocked`` are producers of a migrated build arg this file holds and the rewrite cannot change (an
    unknown builder, kaniko, ``DOCKER_BUILDKIT=0``, a form it cannot split): the run keeps those secrets.
    """

    findings: list[Finding] = field(default_factory=list)
    new: bytes | None = None
    notes: list[str] = field(default_factory=list)
    build_flags: list[str] = field(default_factory=list)
    redact_spans: list[tuple[int, int]] = field(default_factory=list)
    blocked: list[BlockedProducer] = field(default_factory=list)
