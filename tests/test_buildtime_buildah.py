"""Real builds with buildah (design.md section 6): a build arg leaks into history; the migrated
secret mount does not, the step still gets the token, and without the secret the build fails."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from codemod.config import Config
from codemod.fix.loop import migrate
from codemod.verify.archive import load_image

import buildah_util

TOKEN = "npm_" + "Zq7" + "Xw2Lm9Pk4Rt6Vb8Nc1Hd3Jf5Gs0Ya"  # made up, npm-token shaped


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> buildah_util.BuildahStore:
    return buildah_util.session_store(tmp_path_factory)


def _bud(store: buildah_util.BuildahStore, ctx: Path, tag: str, *extra: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        store.cmd("bud", "--isolation", "chroot", "--pull-never", *extra, "-f", str(ctx / "Dockerfile"), "-t", tag,
                  str(ctx)),
        capture_output=True, text=True, env={**os.environ, "BUILDAH_ISOLATION": "chroot", **(env or {})},
        stdin=subprocess.DEVNULL, timeout=600,
    )


def _all_bytes(archive: Path) -> bytes:
    """Every byte of a docker-archive, with each (possibly compressed) layer's files read out."""
    out = [archive.read_bytes()]
    image = load_image(archive)
    out.append(json.dumps(image.raw_config).encode())
    for layer in image.layers:
        for _, data in layer.files():
            if data:
                out.append(data)
    return b"\n".join(out)


def test_build_arg_leaks_and_the_migrated_mount_does_not(store: buildah_util.BuildahStore, tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    (before / "Dockerfile").write_text(
        f"FROM {buildah_util.BASE_IMAGE}\n"
        "ARG NPM_TOKEN\n"
        'RUN echo -n "$NPM_TOKEN" | /bin/busybox sha256sum > /proof\n'
    )
    # before: --build-arg puts the token in the image history (`|1 NPM_TOKEN=... /bin/sh -c ...`)
    assert _bud(store, before, "localhost/bt-before", "--build-arg", f"NPM_TOKEN={TOKEN}").returncode == 0
    inspect = store.run("inspect", "--type", "image", "localhost/bt-before").stdout
    assert TOKEN in inspect

    result = migrate((before / "Dockerfile").read_bytes(), "Dockerfile", Config())
    assert result.new is not None
    assert [(h.finding.rule, h.finding.line) for h in result.hits] == [("MS004", 3)]
    after = tmp_path / "after"
    after.mkdir()
    (after / "Dockerfile").write_bytes(result.new)
    assert b"ARG NPM_TOKEN" not in result.new
    assert b"--mount=type=secret,id=npm_token,required=true" in result.new

    # after: the build with the secret succeeds and the step received the token ...
    done = _bud(store, after, "localhost/bt-after", "--secret", "id=npm_token,env=NPM_TOKEN", env={"NPM_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    archive = store.push("localhost/bt-after", "docker-archive", tmp_path / "after.tar")
    image = load_image(archive)
    proof = [data for layer in image.layers for path, data in layer.files() if path.lstrip("./") == "proof"]
    assert proof and proof[-1] is not None
    assert proof[-1].split()[0].decode() == hashlib.sha256(TOKEN.encode()).hexdigest()
    # ... and history, config and every layer of the exported image hold no trace of it
    assert TOKEN not in store.run("inspect", "--type", "image", "localhost/bt-after").stdout
    assert TOKEN.encode() not in _all_bytes(archive)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            fh = tar.extractfile(member)
            if fh is not None:
                assert TOKEN.encode() not in io.BytesIO(fh.read()).getvalue()

    # without the secret the build fails: required=true
    failed = _bud(store, after, "localhost/bt-nosecret")
    assert failed.returncode != 0
    assert "secret" in failed.stderr.lower()
