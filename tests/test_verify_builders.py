"""``verify``'s command lines for docker, podman and buildah, run against recording executables on PATH (as
tests/test_pr.py does for ``gh``); buildah's own storage unless ``--storage-driver``; nothing left behind after
a failed build (real buildah); Test 2 by real variable names; verify never imports the analysis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_verify import _config, _tar, write_docker_archive

import buildah_util
from conftest import ROOT, git

FAKE = r'''#!{python}
"""A container tool that records its argv and answers like the real one, from a prepared image archive."""
import json, os, shutil, sys
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([tool, *args]) + "\n")
if args[:1] == ["version"] or args[:2] == ["buildx", "version"]:
    print("99.0"); sys.exit(0)
if "build" in args or "bud" in args:
    print("STEP 1/2: FROM scratch"); sys.exit(0)
if args[:2] == ["image", "inspect"]:
    print("sha256:" + "ab" * 32); sys.exit(0)
if args[:1] == ["save"]:
    shutil.copy(os.environ["FAKE_ARCHIVE"], args[args.index("-o") + 1]); sys.exit(0)
if args[:1] == ["images"]:
    sys.exit(0)
if args[:1] == ["run"]:
    env_file = args[args.index("--env-file") + 1]
    given = {{line.split("=", 1)[0] for line in open(env_file).read().splitlines() if "=" in line}}
    names = args[args.index("sh", args.index("-c") + 2) + 1:]
    print("\n".join(f"{{n}}={{int(n in given)}}" for n in names)); sys.exit(0)
sys.exit(0)
'''


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """docker and podman on PATH (only them: no real buildah), recording into the returned log."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = FAKE.format(python=sys.executable)
    for tool in ("docker", "podman"):
        (bindir / tool).write_text(script)
        (bindir / tool).chmod(0o755)
    layer = _tar({"app/main.py": b"print('hi')\n"})
    archive = write_docker_archive(tmp_path / "image.tar", _config(["PATH=/bin"], ["RUN /bin/sh -c true"], [layer]),
                                   [layer])
    log = tmp_path / "tools.log"
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_ARCHIVE", str(archive))
    monkeypatch.setenv("DB_PASSWORD", "build-time-db-password")
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path)
    return log


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _probe(call: list[str]) -> list[str]:
    """A recorded ``run`` with the env probe's shell script (it is long) replaced by a marker."""
    return [("<probe>" if a.startswith("for n in") else a) for a in call]


def test_docker_command_lines(fake_tools: Path, cli) -> None:
    code, out, err = cli("verify", "--build", "ctx/Dockerfile", "--builder", "docker", "--tag", "app:test",
                         "--secret", "id=db_password,env=DB_PASSWORD", "--runtime-var", "DB_PASSWORD")
    assert code == 0, out + err
    calls = [_probe(c) for c in _calls(fake_tools) if c[1:2] != ["version"] and c[1:3] != ["buildx", "version"]]
    env_file = next(c for c in calls if c[1] == "run")[5]
    assert calls == [
        ["docker", "buildx", "build", "--load", "-f", "ctx/Dockerfile", "-t", "app:test",
         "--secret", "id=db_password,env=DB_PASSWORD", "ctx"],
        ["docker", "save", "-o", calls[1][3], "app:test"],
        ["docker", "run", "--rm", "--pull=never", "--env-file", env_file, "--entrypoint", "/bin/sh", "app:test",
         "-c", "<probe>", "sh", "DB_PASSWORD"],
    ]
    assert "Test 2 (runtime environment): PASS" in out and "build-time-db-password" not in out + err


def test_podman_command_lines(fake_tools: Path, cli) -> None:
    code, out, err = cli("verify", "--build", "ctx/Dockerfile", "--builder", "podman", "--tag", "app:test",
                         "--build-arg", "APP_MODE=prod", "--runtime-var", "API_TOKEN")
    assert code == 0, out + err
    calls = [_probe(c) for c in _calls(fake_tools) if c[1:2] != ["version"]]
    images = ["podman", "images", "--all", "--no-trunc", "--noheading", "--format", "{{.ID}} {{.Repository}}"]
    env_file = next(c for c in calls if c[1] == "run")[5]
    assert calls == [
        images,
        ["podman", "build", "--layers", "--no-cache", "-f", "ctx/Dockerfile", "-t", "app:test",
         "--build-arg", "APP_MODE=prod", "ctx"],
        images,
        ["podman", "save", "--format", "docker-archive", "-o", calls[3][5], "app:test"],
        ["podman", "run", "--rm", "--pull=never", "--env-file", env_file, "--entrypoint", "/bin/sh", "app:test",
         "-c", "<probe>", "sh", "API_TOKEN"],
    ]


def test_image_from_the_store_and_an_auto_tag_is_removed(fake_tools: Path, cli) -> None:
    code, out, err = cli("verify", "--build", "ctx/Dockerfile", "--builder", "docker", "--no-run")
    assert code == 0, out + err
    calls = _calls(fake_tools)
    tag = next(c for c in calls if c[1:3] == ["buildx", "build"])[7]
    assert tag.startswith("localhost/migrate-secrets-verify:")
    assert calls[-1] == ["docker", "rmi", tag]  # what the verification built goes


def test_test2_checks_real_variable_names(tmp_path: Path, fake_tools: Path, cli) -> None:
    """After a migration whose removed values are keyed DATABASE_URL#0 (a credential inside a URL)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM a\nARG DB_PASSWORD=changeme-db-password\nENV DB_PASSWORD=${DB_PASSWORD}\n"
                                     "ENV DATABASE_URL=postgres://app:s3cr3t-db-pw-41@db/app\n")
    git(repo, "init", "-q", "-b", "main")
    os.chdir(repo)
    code, out, err = cli("--apply")
    assert code in (0, 1), out + err
    fake_tools.write_text("")
    code, out, err = cli("verify", "--image-archive", os.environ["FAKE_ARCHIVE"], "--builder", "podman")
    assert code == 0, out + err
    run = next(c for c in _calls(fake_tools) if c[1] == "run")
    names = run[run.index("-c") + 3:]
    assert "DB_PASSWORD" in names and not [n for n in names if "#" in n or "@" in n]
    assert "#" not in out


def test_buildah_uses_its_own_storage_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "buildah").write_text(FAKE.format(python=sys.executable))
    (bindir / "buildah").chmod(0o755)
    log = tmp_path / "tools.log"
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(log))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path)
    cli("verify", "--build", "Dockerfile", "--builder", "buildah", "--no-run", "--tag", "t")
    assert all("--storage-driver" not in c for c in _calls(log))
    bud = next(c for c in _calls(log) if "bud" in c)
    assert bud[:7] == ["buildah", "bud", "--isolation", "chroot", "--layers", "--force-rm", "--no-cache"]
    log.write_text("")
    cli("verify", "--build", "Dockerfile", "--builder", "buildah", "--no-run", "--tag", "t", "--storage-driver", "vfs")
    assert all(c[1:3] == ["--storage-driver", "vfs"] for c in _calls(log) if c[1:2] != ["version"])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> buildah_util.BuildahStore:
    return buildah_util.session_store(tmp_path_factory)


@pytest.mark.buildah
def test_a_failed_buildah_build_leaves_no_working_container(store: buildah_util.BuildahStore, tmp_path: Path,
                                                             cli, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {buildah_util.BASE_IMAGE}\nRUN echo step > /x\nRUN false\n")
    monkeypatch.chdir(tmp_path)
    before = store.run("containers", "--quiet").stdout.split()
    code, out, err = cli("verify", "--build", "Dockerfile", "--builder", "buildah", "--no-run",
                         "--storage-root", str(store.path), "--storage-driver", "vfs")
    assert code == 2 and "failed" in err
    assert store.run("containers", "--quiet").stdout.split() == before  # no *-working-container left


def test_verify_never_imports_the_analysis() -> None:
    """Not at import time, not inside a function (design.md section 4): the caller passes the classifier."""
    import ast

    for path in sorted((ROOT / "codemod" / "verify").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.startswith("codemod.analysis")], path
    code = ("import sys, codemod.verify, codemod.verify.scan, codemod.verify.builders, codemod.verify.archive\n"
            "print(sorted(m for m in sys.modules if m.startswith('codemod.analysis')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
