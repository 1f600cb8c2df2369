"""``migrate-secrets verify``: build (or load) an image and prove no secret is in it.

:func:`verify_command` is what the run calls (:mod:`codemod.commands`): the caller passes the name
classifier and the values a migration removed, so verify never imports the analysis (design.md
section 4). The pieces: :mod:`.archive` reads image archives, :mod:`.scan` runs the plan's three
tests and renders the report, :mod:`.builders` drives docker, podman and buildah.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from codemod.output.redact import Redactor, carries_value

if TYPE_CHECKING:
    from codemod.verify.archive import Image
    from codemod.verify.builders import ContainerRunner

__all__ = ["parse_env_file", "verify_command"]

_MAX_SECRET_FILE = 1024 * 1024


@dataclass
class _Values:
    """What the scan looks for: known secret values by variable, setting values (never searched), and the
    variables Test 2 expects at run time."""

    known: dict[str, str] = field(default_factory=dict)
    settings: list[str] = field(default_factory=list)
    runtime: list[str] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)

    def remember(self, name: str, value: str | None) -> None:
        if value is not None and carries_value(value):
            self.known.setdefault(name, value)
            self.redactor.add(value)


def verify_command(
    *,
    is_secret_name: Callable[[str], bool],
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
    storage_driver: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Verify one image and print the report; return the exit code (0 clean, 2 leak or error).

    Exactly one image source: ``image_archive`` (a docker-archive, OCI archive or OCI layout, read
    directly), ``image`` (saved from the first of docker, podman, buildah that has it) or ``build`` (a
    Dockerfile built with ``builder`` in ``context``, passing ``secrets``, ``build_args`` and ``tag``,
    then saved and scanned; with podman/buildah the build cache it left is scanned too, and everything
    the build created is removed).

    ``is_secret_name`` classifies variable names (the caller's classifier). Values searched:
    ``values_from`` (an env file: secret-named entries are known values, the others settings, never
    searched), ``known_values`` (what a migration removed, by variable), secret-named ``build_args``
    values and the contents of ``secrets``. Test 2 checks ``runtime_vars`` (default: the known values'
    variables) reach a container, unless ``run_container`` is False. ``output_format`` is ``text`` or
    ``json``; ``output`` writes the report to a file. Builder output goes to stderr, redacted.

    ``storage_root``/``storage_driver`` are for buildah: a private store directory (``root`` and
    ``runroot`` inside it) and the storage driver; by default buildah uses its own configured store.
    """
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
    vals = _Values()
    try:
        _collect(vals, is_secret_name, values_from, known_values, runtime_vars, build_args, secrets)
    except (OSError, ValueError) as exc:
        err.write(f"migrate-secrets verify: error: {vals.redactor.assignments(str(exc), is_secret_name)}\n")
        return 2
    source = _Source(image_archive, image, build, context, builder, secrets, build_args, tag, run_container,
                     Path(storage_root) if storage_root is not None else None, storage_driver)

    def log(line: str) -> None:
        err.write(vals.redactor.assignments(line, is_secret_name) + "\n")

    report = _scan(source, vals, is_secret_name, log)
    if isinstance(report, str):
        err.write(f"migrate-secrets verify: error: {vals.redactor.assignments(report, is_secret_name)}\n")
        return 2
    from codemod.verify.scan import render_json, render_text

    rendered = render_json(report) if output_format == "json" else render_text(report)
    if output is not None:
        Path(output).write_text(rendered, encoding="utf-8")
    else:
        out.write(rendered)
    return report.exit_code


def _collect(vals: _Values, is_secret: Callable[[str], bool], values_from: str | os.PathLike[str] | None,
             known_values: Mapping[str, str] | None, runtime_vars: Sequence[str], build_args: Sequence[str],
             secrets: Sequence[str]) -> None:
    if values_from is not None:
        for name, value in parse_env_file(Path(values_from)).items():
            if is_secret(name):
                vals.remember(name, value)
            elif value:
                vals.settings.append(value)
    for name, value in (known_values or {}).items():
        vals.remember(name, value)
    vals.runtime = list(runtime_vars) or sorted(n for n in vals.known if n.isidentifier())
    for arg in build_args:
        name, eq, value = arg.partition("=")
        value = value if eq else os.environ.get(name, "")
        if is_secret(name):
            vals.remember(name, value)
        elif value:
            vals.settings.append(value)
    for spec in secrets:
        vals.remember(*_secret_value(spec))


@dataclass(frozen=True)
class _Source:
    """Where the image comes from, and the builder's options."""

    image_archive: str | os.PathLike[str] | None
    image: str | None
    build: str | os.PathLike[str] | None
    context: str | os.PathLike[str] | None
    builder: str
    secrets: Sequence[str]
    build_args: Sequence[str]
    tag: str | None
    run_container: bool
    root: Path | None
    driver: str | None

    @property
    def opts(self) -> dict[str, Any]:
        return {"storage_root": self.root, "storage_driver": self.driver}


@dataclass
class _Loaded:
    img: Image
    runner: ContainerRunner | None = None
    runner_note: str = ""
    cache: list[Image] | None = None
    cache_note: str = "examined with --build on podman or buildah"


@dataclass
class _Made:
    """What a verification build left (its cache images, its auto-tagged image): removed after the scan."""

    leftovers: list[str] = field(default_factory=list)
    used: str = ""


def _scan(src: _Source, vals: _Values, is_secret: Callable[[str], bool], log: Callable[[str], None]) -> Any:
    """The report, or the reason (a string) why there is none."""
    from codemod.verify import builders
    from codemod.verify.archive import ImageError
    from codemod.verify.scan import verify_image

    with tempfile.TemporaryDirectory(prefix="migrate-secrets-verify-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        made = _Made()
        try:
            if src.image_archive is not None:
                got = _from_archive(src, work)
            elif src.image is not None:
                got = _from_store(src, work)
            else:
                got = _from_build(src, work, log, made)
            if not src.run_container:
                got.runner_note = "not run (--no-run)"
            return verify_image(got.img, known_values=vals.known, is_secret_name=is_secret, runner=got.runner,
                                settings=vals.settings, runtime_names=vals.runtime, cache=got.cache,
                                cache_note=got.cache_note, runner_note=got.runner_note)
        except (ImageError, builders.BuildError, OSError) as exc:
            return str(exc)
        finally:
            if made.leftovers:
                builders.remove_images(made.leftovers, builder=made.used, **src.opts)


def _from_archive(src: _Source, work: Path) -> _Loaded:
    from codemod.verify import builders
    from codemod.verify.archive import load_image

    assert src.image_archive is not None
    got = _Loaded(load_image(src.image_archive))
    used, got.runner_note = _archive_runner(src.builder) if src.run_container else ("", "")
    if used:
        store = src.root if (used != "buildah" or src.root is not None) else work / "store"
        got.runner = builders.ContainerRunner(used, got.img.transport, store, src.driver)
    return got


def _from_store(src: _Source, work: Path) -> _Loaded:
    from codemod.verify import builders
    from codemod.verify.archive import load_image

    assert src.image is not None
    used = _builder_with(src.image, src.builder, src.opts)
    got = _Loaded(load_image(builders.save(src.image, work / "image.tar", builder=used, **src.opts)))
    got.img.ref = src.image
    if src.run_container:
        got.runner = builders.ContainerRunner(used, src.image, src.root, src.driver)
    return got


def _from_build(src: _Source, work: Path, log: Callable[[str], None], made: _Made) -> _Loaded:
    """Build, save and load the image and its build cache; ``made`` collects what the build left."""
    from codemod.verify import builders
    from codemod.verify.archive import load_image

    assert src.build is not None
    used = made.used = builders.resolve_builder(src.builder)
    dockerfile = Path(src.build)
    ctx = Path(src.context) if src.context else dockerfile.parent
    ref = src.tag or f"localhost/migrate-secrets-verify:{uuid.uuid4().hex[:12]}"
    before = builders.untagged_image_ids(used, **src.opts)
    try:
        builders.build(dockerfile, ctx, used, src.secrets, src.build_args, ref, log=log, **src.opts)
    finally:
        made.leftovers = sorted(builders.untagged_image_ids(used, **src.opts) - before)
        if src.tag is None and builders.has_image(ref, builder=used, **src.opts):
            made.leftovers.append(ref)
    got = _Loaded(load_image(builders.save(ref, work / "image.tar", builder=used, **src.opts)))
    got.img.ref = ref
    if used == "docker":
        got.cache_note = "docker does not expose its build cache's contents"
    else:
        got.cache = [load_image(builders.save(i, work / f"cache-{i[:12]}.tar", builder=used, **src.opts))
                     for i in made.leftovers if i != ref]
    if src.run_container:
        got.runner = builders.ContainerRunner(used, ref, src.root, src.driver)
    return got


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
