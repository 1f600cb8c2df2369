"""``migrate-secrets verify``: build (or load) an image and prove no secret is in it.

:func:`verify_command` is what the CLI calls. The pieces: :mod:`.archive` reads image archives,
:mod:`.scan` runs the plan's three tests and renders the report, :mod:`.builders` drives docker,
podman and buildah.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["parse_env_file", "verify_command"]

_MAX_SECRET_FILE = 1024 * 1024


def verify_command(
    *,
    image_archive: str | os.PathLike[str] | None = None,
    image: str | None = None,
    build: str | os.PathLike[str] | None = None,
    context: str | os.PathLike[str] | None = None,
    builder: str = "auto",
    secrets: Sequence[str] = (),
    build_args: Sequence[str] = (),
    values_from: str | os.PathLike[str] | None = None,
    known_values: Mapping[str, str] | None = None,
    runtime_vars: Sequence[str] = (),
    output_format: str = "text",
    output: str | os.PathLike[str] | None = None,
    tag: str | None = None,
    run_container: bool = True,
    storage_root: str | os.PathLike[str] | None = None,
    storage_driver: str = "vfs",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Verify one image and print the report; return the exit code (0 clean, 2 leak or error).

    Exactly one image source:

    * ``image_archive`` (``--image-archive TAR|DIR``): a docker-archive, OCI archive or OCI layout,
      read directly; no daemon.
    * ``image`` (``--image REF``): saved from the first of docker, podman, buildah that has it
      (``builder`` names one).
    * ``build`` (``--build DOCKERFILE``): built with ``builder`` (``--builder auto|docker|podman|
      buildah``) in ``context`` (``--context``, default: the Dockerfile's directory), passing
      ``secrets`` (``--secret``, repeatable, as the builder takes them) and ``build_args``
      (``--build-arg``, repeatable) and ``tag`` (``--tag``, default a unique
      ``localhost/migrate-secrets-verify:<hex>``), then saved and scanned; with podman/buildah the
      build cache it left is scanned too (and removed).

    Values searched: ``values_from`` (``--values-from ENVFILE``: secret-named entries are the known
    values, the other entries are settings, whose values are never searched), ``known_values``
    (API only: what a migration just removed), secret-named ``build_args`` values and the contents
    of ``secrets`` (``src=``/``env=``). Test 2 checks ``runtime_vars`` (``--runtime-var``,
    repeatable; default the known values' names) reach a container, unless ``run_container`` is
    False (``--no-run``). ``output_format`` is ``text`` or ``json`` (``--format``); ``output``
    (``--output FILE``) writes the report there instead of stdout. Builder output and errors go to
    stderr, with known values redacted.

    ``storage_root``/``storage_driver`` are for buildah: a private store directory (``root`` and
    ``runroot`` inside it) and the driver (default ``vfs``); without a root the user's store is used
    for ``--image``/``--build``, and a throwaway one to run an archive.
    """
    from codemod.verify import builders
    from codemod.verify.archive import ImageError, load_image
    from codemod.verify.scan import carries_value, redact_assignments, render_json, render_text, verify_image

    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    given = [name for name, v in (("--image-archive", image_archive), ("--image", image), ("--build", build))
             if v]
    if len(given) != 1:
        err.write("migrate-secrets verify: error: give exactly one of --image-archive, --image, --build"
                  f"{' (got ' + ', '.join(given) + ')' if given else ''}\n")
        return 2
    if output_format not in ("text", "json"):
        err.write(f"migrate-secrets verify: error: unknown --format {output_format!r} (text or json)\n")
        return 2
    is_secret = _secret_name_predicate()
    root = Path(storage_root) if storage_root is not None else None
    opts: dict[str, Any] = {"storage_root": root, "storage_driver": storage_driver}

    known: dict[str, str] = {}
    settings: list[str] = []
    redact: set[str] = set()

    def remember(name: str, value: str | None) -> None:
        if value is not None and carries_value(value):
            known.setdefault(name, value)
            redact.add(value)

    def scrub(text: str) -> str:
        for value in sorted((v for v in redact if len(v) >= 4), key=len, reverse=True):
            text = text.replace(value, "***")
        return redact_assignments(text, is_secret)

    def log(line: str) -> None:
        err.write(scrub(line) + "\n")

    def fail(message: str) -> int:
        err.write(f"migrate-secrets verify: error: {scrub(message)}\n")
        return 2

    try:
        if values_from is not None:
            for name, value in parse_env_file(Path(values_from)).items():
                if is_secret(name):
                    remember(name, value)
                elif value:
                    settings.append(value)
        for name, value in (known_values or {}).items():
            remember(name, value)
        runtime = list(runtime_vars) or sorted(known)
        for arg in build_args:
            name, eq, value = arg.partition("=")
            value = value if eq else os.environ.get(name, "")
            if is_secret(name):
                remember(name, value)
            elif value:
                settings.append(value)
        for spec in secrets:
            remember(*_secret_value(spec))
    except (OSError, ValueError) as exc:
        return fail(str(exc))

    with tempfile.TemporaryDirectory(prefix="migrate-secrets-verify-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        runner: builders.ContainerRunner | None = None
        runner_note = ""
        cache = None
        cache_note = "examined with --build on podman or buildah"
        leftovers: list[str] = []  # what a verification build leaves: its cache, its auto-tagged image
        used = ""
        try:
            if image_archive is not None:
                img = load_image(image_archive)
                used, runner_note = _archive_runner(builder) if run_container else ("", "")
                if used:
                    store = root if (used != "buildah" or root is not None) else work / "store"
                    runner = builders.ContainerRunner(used, img.transport, store, storage_driver)
            elif image is not None:
                used = _builder_with(image, builder, opts)
                img = load_image(builders.save(image, work / "image.tar", builder=used, **opts))
                img.ref = image
                if run_container:
                    runner = builders.ContainerRunner(used, image, root, storage_driver)
            else:
                assert build is not None
                used = builders.resolve_builder(builder)
                dockerfile = Path(build)
                ctx = Path(context) if context else dockerfile.parent
                ref = tag or f"localhost/migrate-secrets-verify:{uuid.uuid4().hex[:12]}"
                before = builders.untagged_image_ids(used, **opts)
                try:
                    builders.build(dockerfile, ctx, used, secrets, build_args, ref, log=log, **opts)
                finally:
                    leftovers = sorted(builders.untagged_image_ids(used, **opts) - before)
                    if tag is None and builders.has_image(ref, builder=used, **opts):
                        leftovers.append(ref)
                img = load_image(builders.save(ref, work / "image.tar", builder=used, **opts))
                img.ref = ref
                if used == "docker":
                    cache_note = "docker does not expose its build cache's contents"
                else:
                    cache = [load_image(builders.save(i, work / f"cache-{i[:12]}.tar", builder=used, **opts))
                             for i in leftovers if i != ref]
                if run_container:
                    runner = builders.ContainerRunner(used, ref, root, storage_driver)
            if not run_container:
                runner_note = "not run (--no-run)"
            report = verify_image(img, known_values=known, is_secret_name=is_secret, runner=runner,
                                  settings=settings, runtime_names=runtime, cache=cache,
                                  cache_note=cache_note, runner_note=runner_note)
        except (ImageError, builders.BuildError, OSError) as exc:
            return fail(str(exc))
        finally:
            if leftovers:
                builders.remove_images(leftovers, builder=used, **opts)
    rendered = render_json(report) if output_format == "json" else render_text(report)
    if output is not None:
        Path(output).write_text(rendered, encoding="utf-8")
    else:
        out.write(rendered)
    return report.exit_code


def _secret_name_predicate() -> Callable[[str], bool]:
    try:
        from codemod.analysis.names import is_secret_name  # type: ignore[attr-defined]

        is_secret_name("DB_PASSWORD")
    except (ImportError, TypeError):
        from codemod.verify.scan import simple_is_secret_name

        return simple_is_secret_name
    return lambda name: bool(is_secret_name(name))


def _archive_runner(builder: str) -> tuple[str, str]:
    """Which builder can start a container straight from an archive, or why none can."""
    from codemod.verify import builders

    found = builders.available_builders()
    for name in ("buildah", "podman"):
        if name in found and builder in ("auto", name):
            return name, ""
    if found:
        return "", "docker cannot run an archive without `docker load`; verify with --image instead"
    return "", "no container runner (docker, podman or buildah)"


def _builder_with(ref: str, builder: str, opts: Mapping[str, Any]) -> str:
    from codemod.verify import builders

    names = [builders.resolve_builder(builder)] if builder != "auto" else builders.available_builders()
    for name in names:
        if builders.has_image(ref, builder=name, **opts):
            return name
    where = ", ".join(names) or "any builder (none installed)"
    raise builders.BuildError(f"image {ref!r} not found in {where}")


def _secret_value(spec: str) -> tuple[str, str | None]:
    """The value a ``--secret`` spec supplies: ``id=x,src=FILE`` / ``id=x,env=VAR`` / ``id=x``."""
    fields = dict(part.partition("=")[::2] for part in spec.split(",") if part)
    sid = fields.get("id", "")
    if "env" in fields:
        return fields["env"], os.environ.get(fields["env"])
    src = fields.get("src") or fields.get("source")
    if src:
        path = Path(src).expanduser()
        if path.stat().st_size > _MAX_SECRET_FILE:
            return sid, None
        return sid or path.name, path.read_text(encoding="utf-8", errors="surrogateescape").rstrip("\r\n")
    return sid, os.environ.get(sid) or os.environ.get(sid.upper())


def parse_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of an env file (``export``, quotes and comments as docker compose reads them)."""
    env: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, eq, value = line.partition("=")
        name = name.strip()
        if not eq or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[name] = value
    return env
