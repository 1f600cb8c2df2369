"""Backups and the rollback journal live outside the work tree (issue 17, design.md section 5): a per-user
state directory keyed by the repository's real root, one directory per run; ``--backup-dir`` moves it;
``rollback`` finds it from the work tree; a second rollback has nothing left to do. Proven with a real
buildah build of ``COPY . /app``: no backup and no old secret reaches any layer."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from codemod.verify.archive import load_image

import buildah_util
from conftest import git, snapshot

SECRET = "changeme-" + "db-password-7731"
LEAKY = (f"FROM {buildah_util.BASE_IMAGE}\n"
         f"ARG DB_PASSWORD={SECRET}\n"
         "ENV DB_PASSWORD=${DB_PASSWORD} APP_MODE=production\n"
         "COPY . /app\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    (r / "Dockerfile").write_text(LEAKY)
    (r / "main.sh").write_text("echo hello\n")
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "app")
    monkeypatch.chdir(r)
    return r


def _run_dir(out: str) -> Path:
    m = re.search(r"^backups and rollback journal: (\S+) \(outside the work tree", out, re.M)
    assert m, out
    return Path(m.group(1))


def test_apply_keeps_backups_and_journal_in_the_state_directory(repo: Path, cli, state_home: Path) -> None:
    code, out, err = cli("--apply")
    assert code == 0, out + err
    run = _run_dir(out)
    assert run.parent.parent == state_home and re.fullmatch(r"\d{8}-\d{6}", run.name)
    assert run.parent.name.startswith("repo-")  # the repository's name and a hash of its real path
    assert (run / "files" / "Dockerfile").read_text() == LEAKY
    journal = json.loads((run / "journal.json").read_text())
    assert journal["root"] == os.path.realpath(repo) and journal["runtime"] == ["DB_PASSWORD"]
    for d in (state_home, run.parent, run, run / "files"):
        assert d.stat().st_mode & 0o777 == 0o700, d
    for f in (run / "journal.json", run / "files" / "Dockerfile"):
        assert f.stat().st_mode & 0o777 == 0o600, f
    # nothing new in the work tree but the migration's own files; .git/info/exclude untouched
    assert sorted(p.name for p in repo.iterdir()) == [".env.example", ".git", "Dockerfile", "main.sh"]
    assert not (repo / ".git" / "info" / "exclude").exists() or "backup" not in (
        repo / ".git" / "info" / "exclude").read_text()
    assert SECRET not in out + err


def test_rollback_finds_them_and_a_second_rollback_has_nothing_left(repo: Path, cli) -> None:
    before = snapshot(repo)
    assert cli("--apply")[0] == 0
    sub = repo / "sub"
    sub.mkdir()
    os.chdir(sub)  # anywhere in the work tree
    code, out, err = cli("rollback")
    assert code == 0, out + err
    assert f"restored {repo / 'Dockerfile'}" in out and f"removed {repo / '.env.example'}" in out
    os.chdir(repo)
    sub.rmdir()
    assert snapshot(repo) == before
    code, out, err = cli("rollback")
    assert code == 0, out + err
    assert out.startswith("nothing left to roll back") and "edited since" not in out + err
    assert snapshot(repo) == before


def test_state_is_keyed_by_the_real_root(repo: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo)
    monkeypatch.chdir(link)
    assert cli("--apply")[0] == 0
    monkeypatch.chdir(repo)
    code, out, err = cli("rollback")
    assert code == 0 and "restored" in out, out + err


def test_backup_dir_chooses_another_place(repo: Path, tmp_path: Path, cli, state_home: Path) -> None:
    elsewhere = tmp_path / "backups"
    code, out, err = cli("--apply", "--backup-dir", str(elsewhere))
    assert code == 0, out + err
    assert _run_dir(out).is_relative_to(elsewhere) and not state_home.exists()
    code, out, err = cli("rollback")
    assert code == 2 and "no migration to roll back" in err
    code, out, err = cli("rollback", "--backup-dir", str(elsewhere))
    assert code == 0 and "restored" in out, out + err


def test_backup_dir_inside_the_work_tree_is_refused(repo: Path, cli) -> None:
    before = snapshot(repo)
    code, out, err = cli("--apply", "--backup-dir", str(repo / "backups"))
    assert code == 2 and "inside the work tree" in err and "nothing was written" in err
    assert snapshot(repo) == before


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> buildah_util.BuildahStore:
    return buildah_util.session_store(tmp_path_factory)


@pytest.mark.buildah
def test_no_backup_and_no_old_secret_reaches_the_image(repo: Path, tmp_path: Path, cli,
                                                        store: buildah_util.BuildahStore) -> None:
    code, out, err = cli("--apply")
    assert code == 0, out + err
    store.build(repo / "Dockerfile", "localhost/backups-after", context=repo)
    archive = store.push("localhost/backups-after", "docker-archive", tmp_path / "after.tar")
    image = load_image(archive)
    copied = {path.lstrip("./"): data for layer in image.layers for path, data in layer.files()}
    assert "app/Dockerfile" in copied and "app/main.sh" in copied  # COPY . /app took the whole context
    assert not [p for p in copied if ".backup-" in p or "migrate-secrets" in p or p.endswith("journal.json")]
    assert not [p for p, data in copied.items() if data and SECRET.encode() in data]
    assert SECRET.encode() not in archive.read_bytes()
    assert SECRET not in json.dumps(image.raw_config)
