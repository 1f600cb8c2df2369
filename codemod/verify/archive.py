"""Read container images from archives on disk, without a daemon.

Three layouts are understood, all through :mod:`tarfile` and :mod:`json`:

* a **docker-archive** (``docker save``, ``buildah push IMG docker-archive:x.tar``): ``manifest.json``
  names the config JSON and the layer tars (plain or compressed);
* an **OCI archive** (``oci-archive:x.tar``): a tar holding an OCI image layout;
* an **OCI layout directory** (``oci:DIR``): ``index.json`` -> manifest -> config and layers by digest.

A directory holding an unpacked ``docker save`` (``manifest.json`` at its top) is read as well.

Layers are never unpacked to disk nor held in memory: :meth:`Layer.files` streams one layer's
regular files, one at a time. Blobs inside an uncompressed archive are read in place (seek to the
member's data); a compressed outer archive is re-opened per blob.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import platform
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["MAX_FILE_SIZE", "Image", "ImageError", "Layer", "load_image", "load_images"]

#: Files larger than this are not read for value search (their names are still checked).
MAX_FILE_SIZE = 10 * 1024 * 1024

_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_REF_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm"}


class ImageError(Exception):
    """The path is not a readable image archive (the message says why)."""


class _Bounded(io.RawIOBase):
    """A read-only window ``[offset, offset + size)`` of an open file."""

    def __init__(self, fh: IO[bytes], offset: int, size: int) -> None:
        self._fh = fh
        self._pos = offset
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buf)
        want = min(len(view), self._left)
        self._fh.seek(self._pos)
        got = self._fh.readinto(view[:want])  # type: ignore[attr-defined]
        if not got:
            return 0
        self._pos += got
        self._left -= got
        return int(got)

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class _Blobs:
    """Named blobs of an archive: a directory or a tar file (plain or compressed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._members: dict[str, tarfile.TarInfo] = {}
        self._plain = False
        if path.is_dir():
            return
        try:
            with open(path, "rb") as fh:
                magic = fh.read(6)
            with tarfile.open(path, "r:*") as tf:
                members = tf.getmembers()
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ImageError(f"{path}: not a readable tar archive ({exc})") from exc
        self._plain = not (magic.startswith(b"\x1f\x8b") or magic.startswith(b"BZh")
                           or magic.startswith(b"\xfd7zXZ\x00"))
        for m in members:
            self._members[_norm(m.name)] = m

    def exists(self, name: str) -> bool:
        try:
            self._resolve(name)
        except ImageError:
            return False
        return True

    def _resolve(self, name: str) -> tarfile.TarInfo | Path:
        name = _norm(name)
        if not self.path.is_dir():
            for _ in range(8):  # legacy docker-archives link layer.tar files to each other
                m = self._members.get(name)
                if m is None:
                    break
                if m.issym():
                    name = _norm(posixpath.join(posixpath.dirname(name), m.linkname))
                elif m.islnk():
                    name = _norm(m.linkname)
                elif m.isreg():
                    return m
                else:
                    break
            raise ImageError(f"{self.path}: no blob {name!r} in the archive")
        root = self.path.resolve()
        p = (root / name).resolve()
        if not p.is_relative_to(root) or not p.is_file():
            raise ImageError(f"{self.path}: no blob {name!r} in the layout")
        return p

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        target = self._resolve(name)
        if isinstance(target, Path):
            with open(target, "rb") as fh:
                yield fh
        elif self._plain:
            raw = _Bounded(open(self.path, "rb"), target.offset_data, target.size)
            with io.BufferedReader(raw, buffer_size=1024 * 1024) as fh:
                yield fh
        else:
            with tarfile.open(self.path, "r:*") as tf:
                f = tf.extractfile(target)
                if f is None:
                    raise ImageError(f"{self.path}: blob {name!r} is not a file")
                yield f

    def read(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError as exc:
            raise ImageError(f"{self.path}: {name} is not valid JSON ({exc})") from exc


def _norm(name: str) -> str:
    name = posixpath.normpath(name.lstrip("/"))
    return "" if name == "." else name


@dataclass
class Layer:
    """One filesystem layer.

    ``digest`` is the blob digest as stored in the archive (compressed or not); ``diff_id`` is the
    digest of the uncompressed tar as the image config lists it (``rootfs.diff_ids``), the same for
    every archive format and what ``docker inspect`` shows, so reports prefer it.
    """

    index: int
    digest: str
    diff_id: str
    media_type: str
    _open: Callable[[], AbstractContextManager[IO[bytes]]] = field(repr=False)

    @property
    def id(self) -> str:
        return self.diff_id or self.digest

    def files(self, max_size: int = MAX_FILE_SIZE) -> Iterator[tuple[str, bytes | None]]:
        """Yield ``(path, content)`` for each regular file, streaming; path is absolute (``/app/x``).

        ``content`` is None for a file over ``max_size`` bytes. Whiteout markers, links and
        directories are skipped.
        """
        with self._open() as raw:
            stream = _decompressed(raw, self.digest)
            try:
                with tarfile.open(fileobj=stream, mode="r|") as tf:
                    for m in tf:
                        if not m.isreg():
                            continue
                        path = "/" + _norm(m.name)
                        if posixpath.basename(path).startswith(".wh."):
                            continue
                        if m.size > max_size:
                            yield path, None
                            continue
                        f = tf.extractfile(m)
                        yield path, (f.read() if f is not None else b"")
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ImageError(f"layer {self.id}: unreadable tar stream ({exc})") from exc


def _decompressed(raw: IO[bytes], what: str) -> IO[bytes]:
    buf = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type,type-var]
    magic = buf.peek(6)[:6]
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=buf, mode="rb")  # type: ignore[return-value]
    if magic.startswith(b"BZh"):
        import bz2

        return bz2.BZ2File(buf)  # type: ignore[return-value]
    if magic.startswith(b"\xfd7zXZ\x00"):
        import lzma

        return lzma.LZMAFile(buf)  # type: ignore[return-value]
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ImageError(f"layer {what} is zstd-compressed; install 'zstandard' to read it") from exc
        return zstandard.ZstdDecompressor().stream_reader(buf)  # type: ignore[no-any-return]
    return buf


@dataclass
class Image:
    """An image read from an archive.

    ``config`` is the container configuration (``Env``, ``Labels``, ``Cmd``, ``Entrypoint``,
    ``User``...), ``history`` the config's ``history`` list, ``raw_config`` the whole config JSON.
    ``format`` is ``docker-archive``, ``oci-archive`` or ``oci-layout``; ``ref`` the image name the
    archive records, if any; ``transport`` a reference buildah/podman can start a container from.
    """

    config: dict[str, Any]
    history: list[dict[str, Any]]
    layers: list[Layer]
    source: str
    format: str
    ref: str = ""
    config_digest: str = ""
    raw_config: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def transport(self) -> str:
        prefix = {"docker-archive": "docker-archive", "oci-archive": "oci-archive", "oci-layout": "oci"}
        return f"{prefix[self.format]}:{self.source}"

    @property
    def name(self) -> str:
        return self.ref or self.config_digest[:19] or self.source


def load_image(path: str | os.PathLike[str], ref: str | None = None) -> Image:
    """Read the image in ``path`` (the one tagged ``ref`` when the archive holds several, else the first)."""
    images = _load(Path(path), ref, first_only=True)
    return images[0]


def load_images(path: str | os.PathLike[str]) -> list[Image]:
    """Read every image an archive or layout holds (an OCI layout may index many)."""
    return _load(Path(path), None, first_only=False)


def _load(path: Path, ref: str | None, *, first_only: bool) -> list[Image]:
    if not path.exists():
        raise ImageError(f"{path}: no such file or directory")
    blobs = _Blobs(path)
    if blobs.exists("manifest.json"):
        return _load_docker(blobs, ref, first_only)
    if blobs.exists("index.json"):
        fmt = "oci-layout" if path.is_dir() else "oci-archive"
        return _load_oci(blobs, fmt, ref, first_only)
    raise ImageError(f"{path}: neither a docker-archive (manifest.json) nor an OCI layout (index.json)")


def _load_docker(blobs: _Blobs, ref: str | None, first_only: bool) -> list[Image]:
    manifest = blobs.json("manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise ImageError(f"{blobs.path}: manifest.json lists no image")
    entries = manifest
    if ref:
        entries = [e for e in manifest if ref in (e.get("RepoTags") or [])]
        if not entries:
            raise ImageError(f"{blobs.path}: no image tagged {ref!r} in the archive")
    images = []
    for entry in entries[:1] if first_only else entries:
        config_name = entry.get("Config", "")
        raw = blobs.json(config_name)
        diff_ids = (raw.get("rootfs") or {}).get("diff_ids") or []
        layers = []
        for i, name in enumerate(entry.get("Layers") or []):
            diff_id = diff_ids[i] if i < len(diff_ids) else ""
            layers.append(Layer(i, _digest_from_name(name) or diff_id, diff_id, "", _opener(blobs, name)))
        tags = entry.get("RepoTags") or []
        images.append(_image(raw, layers, blobs, "docker-archive", ref or (tags[0] if tags else ""),
                             _digest_from_name(config_name)))
    return images


def _digest_from_name(name: str) -> str:
    base = posixpath.basename(name)
    parts = _norm(name).split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        return f"{parts[1]}:{parts[2]}"
    stem = base.split(".")[0]
    if len(stem) == 64 and all(c in "0123456789abcdef" for c in stem):
        return f"sha256:{stem}"
    return ""


def _load_oci(blobs: _Blobs, fmt: str, ref: str | None, first_only: bool) -> list[Image]:
    index = blobs.json("index.json")
    descriptors = list(index.get("manifests") or [])
    if ref:
        descriptors = [d for d in descriptors if ref in _ref_names(d)]
        if not descriptors:
            raise ImageError(f"{blobs.path}: no manifest named {ref!r} in index.json")
    if not descriptors:
        raise ImageError(f"{blobs.path}: index.json lists no manifest")
    images = []
    for desc in descriptors[:1] if first_only else descriptors:
        names = _ref_names(desc)
        manifest = _manifest(blobs, desc)
        cfg_desc = manifest.get("config") or {}
        raw = blobs.json(_blob_name(cfg_desc))
        diff_ids = (raw.get("rootfs") or {}).get("diff_ids") or []
        layers = []
        for i, ldesc in enumerate(manifest.get("layers") or []):
            diff_id = diff_ids[i] if i < len(diff_ids) else ""
            layers.append(Layer(i, ldesc.get("digest", ""), diff_id, ldesc.get("mediaType", ""),
                                _opener(blobs, _blob_name(ldesc))))
        images.append(_image(raw, layers, blobs, fmt, ref or (names[0] if names else ""),
                             cfg_desc.get("digest", "")))
    return images


def _ref_names(desc: dict[str, Any]) -> list[str]:
    ann = desc.get("annotations") or {}
    return [ann[k] for k in _REF_ANNOTATIONS if ann.get(k)]


def _manifest(blobs: _Blobs, desc: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    doc = blobs.json(_blob_name(desc))
    media = doc.get("mediaType") or desc.get("mediaType", "")
    if media not in _INDEX_TYPES and "manifests" not in doc:
        return doc  # type: ignore[no-any-return]
    if depth > 4 or not doc.get("manifests"):
        raise ImageError(f"{blobs.path}: image index {desc.get('digest')} holds no usable manifest")
    return _manifest(blobs, _pick_platform(doc["manifests"]), depth + 1)


def _pick_platform(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    arch = _GOARCH.get(platform.machine().lower(), platform.machine().lower())
    for want_arch in (arch, None):
        for m in manifests:
            p = m.get("platform") or {}
            if p.get("os") == "linux" and want_arch in (None, p.get("architecture")):
                return m
    return manifests[0]


def _blob_name(desc: dict[str, Any]) -> str:
    digest = desc.get("digest", "")
    alg, _, hexpart = digest.partition(":")
    if not alg or not hexpart or "/" in digest or ".." in digest:
        raise ImageError(f"bad descriptor digest {digest!r}")
    return f"blobs/{alg}/{hexpart}"


def _opener(blobs: _Blobs, name: str) -> Callable[[], AbstractContextManager[IO[bytes]]]:
    return lambda: blobs.open(name)


def _image(raw: Any, layers: list[Layer], blobs: _Blobs, fmt: str, ref: str, cfg_digest: str) -> Image:
    if not isinstance(raw, dict):
        raise ImageError(f"{blobs.path}: the image config is not a JSON object")
    history = [h for h in raw.get("history") or [] if isinstance(h, dict)]
    config = raw.get("config") or raw.get("container_config") or {}
    return Image(config=dict(config), history=history, layers=layers, source=str(blobs.path),
                 format=fmt, ref=ref, config_digest=cfg_digest, raw_config=raw)
