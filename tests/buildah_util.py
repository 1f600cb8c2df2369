"""Real images for tests, built by buildah with no registry and no global state (design.md section 6).

Every command runs with ``--storage-driver vfs``, chroot isolation and a private store
(``<store>/root``, ``<store>/runroot``: the layout :mod:`codemod.verify.builders` uses for its
``storage_root``). The base image is ``FROM scratch`` with busybox-static ``ADD``ed as ``/bin/busybox``
plus links for the usual applets and a ``/tmp``; it is built once per pytest session.

Use :func:`session_store` from a session-scoped fixture (it skips the test when buildah or a static
busybox is missing)::

    @pytest.fixture(scope="session")
    def buildah_store(tmp_path_factory):
        return buildah_util.session_store(tmp_path_factory)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BASE_IMAGE = "localhost/migrate-secrets-test/base:latest"
BUSYBOX_LINKS = ("sh", "cat", "echo", "env", "mkdir", "rm", "ls", "grep", "test", "printf")
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

_BASE_CONTAINERFILE = f"""\
FROM scratch
ADD busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "for a in {' '.join(BUSYBOX_LINKS)}; do /bin/busybox ln -s busybox /bin/$a; \
done && /bin/busybox mkdir -p /tmp && /bin/busybox chmod 1777 /tmp"]
"""


def static_busybox() -> Path | None:
    """busybox-static's binary, if installed (a dynamic busybox would not run in a scratch image)."""
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            with open(path, "rb") as fh:
                head = fh.read(1 << 16)
            if b"/lib64/ld-linux" not in head and b"/lib/ld-linux" not in head and b"ld-musl" not in head:
                return path
    return None


def buildah_missing() -> str:
    """Why buildah tests cannot run here ("" when they can)."""
    if shutil.which("buildah") is None:
        return "buildah is not installed (apt-get install -y buildah busybox-static)"
    if static_busybox() is None:
        return "busybox-static is not installed (apt-get install -y busybox-static)"
    return ""


@dataclass(frozen=True)
class BuildahStore:
    """A private buildah store under ``path``."""

    path: Path
    driver: str = "vfs"

    def cmd(self, *args: str) -> list[str]:
        return ["buildah", "--storage-driver", self.driver, "--root", str(self.path / "root"),
                "--runroot", str(self.path / "runroot"), *args]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BUILDAH_ISOLATION": "chroot"}
        proc = subprocess.run(self.cmd(*args), capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"buildah {' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def bud(self, containerfile: Path, tag: str, context: Path, *extra: str,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``buildah bud`` without layers, in docker format (which keeps ONBUILD), with ``extra``
        options (``--volume``, ``--secret``, ``--build-arg``, ``--target``); the result, failed or not."""
        args = ["bud", "--isolation", "chroot", "--pull-never", "--layers=false", "--format", "docker", *extra,
                "-f", str(containerfile), "-t", tag, str(context)]
        env = {**os.environ, "BUILDAH_ISOLATION": "chroot"}
        return subprocess.run(self.cmd(*args), capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)

    def build(self, containerfile: Path, tag: str, *, context: Path | None = None,
              build_args: Sequence[str] = ()) -> str:
        """``buildah bud`` (no layers: one build is one commit, the fastest under vfs); returns ``tag``."""
        args = ["bud", "--isolation", "chroot", "--pull-never", "-f", str(containerfile), "-t", tag]
        for a in build_args:
            args += ["--build-arg", a]
        self.run(*args, str(context or containerfile.parent))
        return tag

    def push(self, ref: str, transport: str, dest: Path) -> Path:
        """``buildah push ref <transport>:<dest>`` (``docker-archive``, ``oci-archive``, ``oci``)."""
        self.run("push", "--quiet", ref, f"{transport}:{dest}")
        return dest

    def base_image(self) -> str:
        """Build :data:`BASE_IMAGE` in this store unless it is there; return its name."""
        if subprocess.run(self.cmd("inspect", "--type", "image", BASE_IMAGE), capture_output=True,
                          stdin=subprocess.DEVNULL).returncode == 0:
            return BASE_IMAGE
        busybox = static_busybox()
        assert busybox is not None
        ctx = self.path / "base-context"
        ctx.mkdir(parents=True, exist_ok=True)
        shutil.copy2(busybox, ctx / "busybox")
        (ctx / "Containerfile").write_text(_BASE_CONTAINERFILE, encoding="utf-8")
        return self.build(ctx / "Containerfile", BASE_IMAGE)


_SESSION: dict[str, BuildahStore] = {}


def session_store(tmp_path_factory: Any) -> BuildahStore:
    """The session's store with the base image built (once); skips the test when buildah is missing."""
    why = buildah_missing()
    if why:
        pytest.skip(why)
    if "store" not in _SESSION:
        store = BuildahStore(Path(tmp_path_factory.mktemp("buildah-store")))
        store.base_image()  # installed but failing is an error, not a skip
        _SESSION["store"] = store
    return _SESSION["store"]
