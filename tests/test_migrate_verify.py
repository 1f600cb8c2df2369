"""Migrate, then prove it with verify: the values the migration removed are searched in the new image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import buildah_util
from conftest import git

VALUE = "s3ss10n-" + "Secret-Value-4242"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> buildah_util.BuildahStore:
    return buildah_util.session_store(tmp_path_factory)


def _verify(cli, store: buildah_util.BuildahStore, *extra: str) -> tuple[int, dict]:
    code, out, err = cli("verify", "--build", "Dockerfile", "--builder", "buildah", "--no-run", "--format", "json",
                         "--storage-root", str(store.path), "--storage-driver", "vfs", *extra)
    assert VALUE not in out and VALUE not in err
    return code, json.loads(out)


def test_leaky_image_fails_migrated_image_passes_and_removed_values_are_searched(
        store: buildah_util.BuildahStore, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text(
        f"FROM {buildah_util.BASE_IMAGE}\n"
        f"ARG SESSION_SECRET_DEFAULT={VALUE}\n"
        "ENV SESSION_SECRET=${SESSION_SECRET_DEFAULT} \\\n    APP_MODE=production\n"
        "RUN echo built > /built\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "leaky")
    monkeypatch.chdir(repo)

    code, doc = _verify(cli, store)
    assert code == 2
    where = " ".join(leak["where"] for leak in doc["leaks"])
    assert "SESSION_SECRET" in json.dumps(doc["leaks"]) and "history" in where.lower()

    assert cli("--apply")[0] == 0
    code, doc = _verify(cli, store)
    assert code == 0, doc
    assert all(t["status"] in ("PASS", "NOT COVERED") for t in doc["tests"])

    # the migration's journal names the removed value: a copy of it in a layer is caught
    (repo / "settings.txt").write_text(f"session={VALUE}\n")
    with open(repo / "Dockerfile", "a") as fh:
        fh.write("COPY settings.txt /app/settings.txt\n")
    code, doc = _verify(cli, store)
    assert code == 2
    assert any("app/settings.txt" in leak["where"] for leak in doc["leaks"])
