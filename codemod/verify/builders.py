"""Build, save and run images with whatever is installed: docker (buildx), podman or buildah.

buildah runs with chroot isolation (``--isolation chroot`` and ``BUILDAH_ISOLATION=chroot``), which
works in unprivileged CI containers, on the user's own configured store: images built or pulled there
are found. ``storage_driver`` (``--storage-driver vfs`` in a CI container without overlay) and
``storage_root`` (a private store: ``<storage_root>/root`` and ``<storage_root>/runroot`` as
``--root``/``--runroot``, so nothing global is touched) change that only when given. A build removes
what it created: ``--force-rm`` drops the intermediate containers even when the build fails, and any
working container still left is removed.

Nothing here pulls on purpose: containers are started with ``--pull never``; a build may still pull
its base image as the builder does by default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUILDERS",
    "BuildError",
    "ContainerRunner",
    "available_builders",
    "build",
    "has_image",
    "image_id",
    "remove_images",
    "resolve_builder",
    "run_env_check",
    "save",
    "untagged_image_ids",
]

BUILDERS = ("docker", "podman", "buildah")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# prints NAME=1 / NAME=0 per argument: whether the variable is set; never its value
_ENV_PROBE = ('for n in "$@"; do if eval "[ -n \\"\\${$n+x}\\" ]"; '
              'then echo "$n=1"; else echo "$n=0"; fi; done')
_DUMMY = "migrate-secrets-verify"
_TRANSPORTS = ("docker-archive:", "oci-archive:", "oci:", "dir:")


class BuildError(Exception):
    """A builder is missing or one of its commands failed."""


def _env() -> dict[str, str]:
    return {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def _base(builder: str, storage_root: Path | None, storage_driver: str | None) -> list[str]:
    if builder != "buildah":
        return [builder]
    cmd = ["buildah"] + (["--storage-driver", storage_driver] if storage_driver else [])
    if storage_root is not None:
        cmd += ["--root", str(Path(storage_root) / "root"), "--runroot", str(Path(storage_root) / "runroot")]
    return cmd


def _run(cmd: Sequence[str], *, timeout: float | None = 600,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=_env(),
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{cmd[0]}: {exc}") from exc
    if check and proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BuildError(f"`{' '.join(cmd[:4])} ...` failed ({proc.returncode}): {' | '.join(tail)}")
    return proc


def _usable(builder: str) -> bool:
    if shutil.which(builder) is None:
        return False
    probe = {"docker": ["docker", "version", "--format", "{{.Server.Version}}"],
             "podman": ["podman", "version"], "buildah": ["buildah", "version"]}[builder]
    try:
        return _run(probe, timeout=20, check=False).returncode == 0
    except BuildError:
        return False


def available_builders() -> list[str]:
    """Usable builders, in preference order (docker only when its daemon answers)."""
    return [b for b in BUILDERS if _usable(b)]


def resolve_builder(builder: str = "auto") -> str:
    """``auto`` -> the first usable builder; a named one is checked. Raises :class:`BuildError`."""
    if builder == "auto":
        found = available_builders()
        if not found:
            raise BuildError("no image builder found: install docker (with a running daemon), "
                             "podman or buildah")
        return found[0]
    if builder not in BUILDERS:
        raise BuildError(f"unknown builder {builder!r} (choose auto, docker, podman or buildah)")
    if not _usable(builder):
        raise BuildError(f"{builder} is not usable here (not installed, or its daemon is not running)")
    return builder


def build(
    dockerfile: str | os.PathLike[str],
    context: str | os.PathLike[str],
    builder: str,
    secrets: Sequence[str] = (),
    build_args: Sequence[str] = (),
    tag: str = "localhost/migrate-secrets-verify:latest",
    *,
    storage_root: Path | None = None,
    storage_driver: str | None = None,
    no_cache: bool = True,
    log: Callable[[str], None] | None = None,
) -> str:
    """Build ``dockerfile`` in ``context`` and tag it ``tag``; return the tag.

    ``secrets`` are passed as ``--secret`` values (``id=x,src=FILE``, ``id=x,env=VAR``), ``build_args``
    as ``--build-arg`` values. podman and buildah build with ``--layers`` (and ``--no-cache`` unless
    told otherwise) so that every step leaves a cache image the caller can scan. Each output line
    goes to ``log`` (the caller redacts it).
    """
    builder = resolve_builder(builder)
    cmd = _base(builder, storage_root, storage_driver)
    if builder == "docker":
        buildx = _run(["docker", "buildx", "version"], timeout=20, check=False).returncode == 0
        cmd += ["buildx", "build", "--load"] if buildx else ["build"]
    elif builder == "podman":
        cmd += ["build", "--layers"] + (["--no-cache"] if no_cache else [])
    else:
        cmd += ["bud", "--isolation", "chroot", "--layers", "--force-rm"] + (["--no-cache"] if no_cache else [])
    cmd += ["-f", str(dockerfile), "-t", tag]
    for s in secrets:
        cmd += ["--secret", s]
    for a in build_args:
        cmd += ["--build-arg", a]
    cmd.append(str(context))
    env = _env()
    if builder == "docker":
        env["DOCKER_BUILDKIT"] = "1"
    before = _containers(builder, storage_root, storage_driver)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", env=env, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise BuildError(f"{builder}: {exc}") from exc
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if log is not None:
                log(line.rstrip("\n"))
        if proc.wait() != 0:
            raise BuildError(f"{builder} build of {dockerfile} failed (exit {proc.returncode}); "
                             "see its output above")
    finally:
        left = _containers(builder, storage_root, storage_driver) - before
        if left:  # buildah's working containers of a failed step
            _run(_base(builder, storage_root, storage_driver) + ["rm", *sorted(left)], timeout=120, check=False)
    return tag


def _containers(builder: str, storage_root: Path | None, storage_driver: str | None) -> set[str]:
    """buildah's working containers (their ids): a build that fails may leave ``*-working-container``s."""
    if builder != "buildah":
        return set()
    proc = _run(_base(builder, storage_root, storage_driver) + ["containers", "--quiet", "--notruncate"],
                timeout=60, check=False)
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def save(
    ref: str,
    dest: str | os.PathLike[str],
    *,
    builder: str = "auto",
    storage_root: Path | None = None,
    storage_driver: str | None = None,
    archive_format: str = "docker-archive",
) -> Path:
    """Write image ``ref`` to ``dest`` (docker save / podman save / buildah push).

    ``archive_format`` is ``docker-archive`` or ``oci-archive`` (podman and buildah; docker writes
    what its version writes).
    """
    builder = resolve_builder(builder)
    dest = Path(dest)
    if archive_format not in ("docker-archive", "oci-archive"):
        raise BuildError(f"unknown archive format {archive_format!r}")
    if builder == "docker":
        cmd = ["docker", "save", "-o", str(dest), ref]
    elif builder == "podman":
        cmd = ["podman", "save", "--format", archive_format, "-o", str(dest), ref]
    else:
        cmd = _base(builder, storage_root, storage_driver) + ["push", "--quiet", ref,
                                                              f"{archive_format}:{dest}"]
    _run(cmd, timeout=None)
    return dest


def has_image(ref: str, *, builder: str, storage_root: Path | None = None,
              storage_driver: str | None = None) -> bool:
    return image_id(ref, builder=builder, storage_root=storage_root, storage_driver=storage_driver) != ""


def image_id(ref: str, *, builder: str, storage_root: Path | None = None,
             storage_driver: str | None = None) -> str:
    """The full image id of ``ref`` (no ``sha256:``), or "" when the builder does not have it."""
    if builder == "buildah":
        cmd = _base(builder, storage_root, storage_driver) + [
            "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref]
    else:
        cmd = [builder, "image", "inspect", "--format", "{{.Id}}", ref]
    proc = _run(cmd, timeout=60, check=False)
    return proc.stdout.strip().removeprefix("sha256:") if proc.returncode == 0 else ""


def untagged_image_ids(builder: str, *, storage_root: Path | None = None,
                       storage_driver: str | None = None) -> set[str]:
    """Ids of the untagged images in the store: intermediate (cache) images; podman and buildah only."""
    if builder not in ("podman", "buildah"):
        return set()
    field = "{{.Name}}" if builder == "buildah" else "{{.Repository}}"
    cmd = _base(builder, storage_root, storage_driver) + [
        "images", "--all", "--no-trunc", "--noheading", "--format", "{{.ID}} " + field]
    ids = set()
    for line in _run(cmd, timeout=120).stdout.splitlines():
        image, _, name = line.strip().partition(" ")
        if image and name.strip() in ("", "<none>"):
            ids.add(image.removeprefix("sha256:"))
    return ids


def remove_images(ids: Sequence[str], *, builder: str, storage_root: Path | None = None,
                  storage_driver: str | None = None) -> None:
    """Best effort: remove the given images (ids or names: what a verification build left)."""
    if ids:
        _run(_base(builder, storage_root, storage_driver) + ["rmi", *ids], timeout=300, check=False)


def _read_env_file(env_file: Path) -> dict[str, str]:
    env = {}
    for line in env_file.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name.strip()] = value
    return env


def run_env_check(
    ref: str,
    names: Sequence[str],
    env_file: str | os.PathLike[str],
    *,
    builder: str = "auto",
    storage_root: Path | None = None,
    storage_driver: str | None = None,
) -> dict[str, bool] | None:
    """Start a container from ``ref`` with ``env_file`` and report which of ``names`` are set in it.

    The container runs ``/bin/sh`` printing ``NAME=1``/``NAME=0`` per name, never a value. buildah
    (``buildah from`` + ``buildah run``) takes the file's pairs as ``--env`` arguments, so pass dummy
    values (:class:`ContainerRunner` does); buildah and podman also accept transport references
    (``docker-archive:/x.tar``, ``oci-archive:/x.tar``, ``oci:/dir``). Returns None when no container
    could be started (no ``/bin/sh``, builder failure).
    """
    builder = resolve_builder(builder)
    checked = [n for n in dict.fromkeys(names) if _NAME.match(n)]
    if not checked:
        return {n: False for n in names}
    probe = ["-c", _ENV_PROBE, "sh", *checked]
    if builder == "buildah":
        base = _base(builder, storage_root, storage_driver)
        ctr = f"migrate-secrets-verify-{os.getpid()}-{os.urandom(4).hex()}"
        created = _run(base + ["from", "--quiet", "--pull-never", "--name", ctr, ref],
                       timeout=600, check=False)
        if created.returncode != 0:
            return None
        try:
            env_args = [f"--env={k}={v}" for k, v in _read_env_file(Path(env_file)).items()]
            proc = _run(base + ["run", "--isolation", "chroot", *env_args, ctr, "--", "/bin/sh", *probe],
                        timeout=300, check=False)
        finally:
            _run(base + ["rm", ctr], timeout=120, check=False)
    else:
        pull = [] if ref.startswith(_TRANSPORTS) else ["--pull=never"]
        cmd = [builder, "run", "--rm", *pull, "--env-file", str(env_file), "--entrypoint", "/bin/sh",
               ref, *probe]
        proc = _run(cmd, timeout=300, check=False)
    if proc.returncode != 0:
        return None
    seen: dict[str, bool] = {}
    for line in proc.stdout.splitlines():
        name, eq, flag = line.strip().rpartition("=")
        if eq and name in checked:
            seen[name] = flag == "1"
    if set(seen) != set(checked):
        return None
    return {n: seen.get(n, False) for n in names}


@dataclass
class ContainerRunner:
    """A :class:`codemod.verify.scan.Runner` over :func:`run_env_check`, with dummy values.

    The variables are given dummy values, in a private temporary env file: Test 2 proves a variable
    supplied at runtime reaches the container, which needs no real secret.
    """

    builder: str
    ref: str
    storage_root: Path | None = None
    storage_driver: str | None = None

    @property
    def name(self) -> str:
        return f"{self.builder} run" if self.builder != "buildah" else "buildah from + run"

    def check_env(self, names: Sequence[str]) -> dict[str, bool] | None:
        with tempfile.TemporaryDirectory(prefix="migrate-secrets-") as tmp:
            env_file = Path(tmp) / "runtime.env"
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.writelines(f"{n}={_DUMMY}\n" for n in names if _NAME.match(n))
            return run_env_check(self.ref, names, env_file, builder=self.builder,
                                 storage_root=self.storage_root, storage_driver=self.storage_driver)

