"""Build proof for producers that are CI files (issue 16): the build command a rewritten CI file now runs,
extracted from that file, builds the migrated Dockerfile with buildah, its RUN sees the secret, and the image
holds no trace of the value.

Per format (GitLab CI script line, Cloud Build docker-builder argv, Jenkinsfile ``sh`` step): a repository
whose Dockerfile passes NPM_TOKEN to a RUN that writes the value's sha256 to ``/proof``, built by that CI file
with ``--build-arg NPM_TOKEN``. The tool rewrites both; the test reads the ``--secret`` flags of the rewritten
command out of the CI file (YAML, the shell lexer, the Groovy lexer: not by regex over the golden text) and
runs ``buildah bud`` with exactly those flags (vfs, chroot, a private store, the busybox base image of
``tests/buildah_util.py``) and NPM_TOKEN in its environment. Debian's buildah 1.28 takes ``--secret
id=...,env=VAR`` as the CI file writes it (no file detour needed); it has no ``env=`` *mounts*, so the
Dockerfile side is the file-style mount the migration writes for a shell-form RUN.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from codemod.invocations.jenkins import tokens
from codemod.invocations.shellwords import commands
from codemod.verify.archive import load_image

import buildah_util
from conftest import git

TOKEN = "npm_" + "Lq4" + "Zr8Tn2Wx6Yc1Vb5Mk9Hd3Jf7Gs0Pa"  # made up, npm-token shaped


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> buildah_util.BuildahStore:
    return buildah_util.session_store(tmp_path_factory)


DOCKERFILE = (f"FROM {buildah_util.BASE_IMAGE}\n"
              "ARG NPM_TOKEN\n"
              'RUN echo -n "$NPM_TOKEN" | /bin/busybox sha256sum > /proof\n')

CI = {
    "gitlab": (".gitlab-ci.yml",
               "image:\n  stage: build\n  image: docker:27\n  services: [docker:27-dind]\n  script:\n"
               "    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t registry.example.com/app:$CI_COMMIT_SHA .\n"),
    "cloudbuild": ("cloudbuild.yaml",
                   "steps:\n  - name: gcr.io/cloud-builders/docker\n"
                   "    args: ['build', '--build-arg', 'NPM_TOKEN', '-t', 'gcr.io/$PROJECT_ID/app', '.']\n"
                   "    secretEnv: ['NPM_TOKEN']\n"
                   "availableSecrets:\n  secretManager:\n"
                   "    - versionName: projects/$PROJECT_ID/secrets/npm-token/versions/latest\n"
                   "      env: NPM_TOKEN\n"),
    "jenkins": ("Jenkinsfile",
                "pipeline {\n  agent any\n  environment {\n    NPM_TOKEN = credentials('npm-token')\n  }\n"
                "  stages {\n    stage('Image') {\n      steps {\n"
                "        sh 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t app:$BUILD_NUMBER .'\n"
                "      }\n    }\n  }\n}\n"),
}


def _secret_flags(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """The ``--secret`` specs and the ``NAME=value`` prefix of a ``docker build`` command's words."""
    specs, env = [], {}
    for k, w in enumerate(words):
        if w == "--secret":
            specs.append(words[k + 1])
        elif w.startswith("--secret="):
            specs.append(w[len("--secret="):])
        elif "=" in w and w.split("=")[0].isupper() and words[k + 1 :][:1] in (["docker"], ["build"]):
            env[w.split("=")[0]] = w.split("=", 1)[1]
    return specs, env


def _shell_build(text: str) -> list[str]:
    for cmd in commands(text, 0, len(text), make=False):
        words = [w.bare for w in cmd]
        if "docker" in words and "build" in words:
            return words
    raise AssertionError(f"no docker build in {text!r}")


def extracted(fmt: str, data: bytes) -> tuple[list[str], dict[str, str]]:
    """The secret flags (and environment) of the build command the rewritten CI file runs."""
    from ruamel.yaml import YAML

    if fmt == "gitlab":
        job = YAML(typ="safe", pure=True).load(data)["image"]
        return _secret_flags(_shell_build("\n".join(job["script"])))
    if fmt == "cloudbuild":
        step = YAML(typ="safe", pure=True).load(data)["steps"][0]
        specs, _ = _secret_flags(step["args"])
        return specs, dict(e.split("=", 1) for e in step.get("env", []))
    text = data.decode()
    toks = tokens(text)
    script = next(toks[k + 1].text for k, t in enumerate(toks) if t.text == "sh" and t.kind == "ident")
    return _secret_flags(_shell_build(script[1:-1]))


def _bud(store: buildah_util.BuildahStore, ctx: Path, tag: str, specs: list[str], env: dict[str, str]
         ) -> subprocess.CompletedProcess[str]:
    secret_args = [a for s in specs for a in ("--secret", s)]
    return subprocess.run(
        store.cmd("bud", "--isolation", "chroot", "--pull-never", *secret_args, "-f", str(ctx / "Dockerfile"),
                  "-t", tag, str(ctx)),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
        env={**os.environ, "BUILDAH_ISOLATION": "chroot", **env})


@pytest.mark.parametrize("fmt", sorted(CI))
def test_ci_build_command_builds_with_the_secret(store: buildah_util.BuildahStore, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, cli, fmt: str) -> None:
    name, text = CI[fmt]
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text(DOCKERFILE)
    (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    monkeypatch.chdir(repo)
    code, out, err = cli("--apply", "--no-backup", ".")
    assert code == 0, out + err
    dockerfile = (repo / "Dockerfile").read_text()
    assert "ARG NPM_TOKEN" not in dockerfile and "--mount=type=secret,id=npm_token,required=true" in dockerfile

    specs, env = extracted(fmt, (repo / name).read_bytes())
    assert specs == ["id=npm_token,env=NPM_TOKEN"], specs
    if fmt == "cloudbuild":
        assert env == {"DOCKER_BUILDKIT": "1"}  # Cloud Build's docker builder needs it for --secret
    tag = f"localhost/proof-{fmt}"
    done = _bud(store, repo, tag, specs, {"NPM_TOKEN": TOKEN, **env})
    assert done.returncode == 0, done.stderr

    archive = store.push(tag, "docker-archive", tmp_path / "image.tar")
    image = load_image(archive)
    proof = [data for layer in image.layers for path, data in layer.files() if path.lstrip("./") == "proof"]
    assert proof and proof[-1] is not None
    assert proof[-1].split()[0].decode() == hashlib.sha256(TOKEN.encode()).hexdigest()  # the RUN saw the value
    inspect = store.run("inspect", "--type", "image", tag).stdout
    assert TOKEN not in inspect
    history = json.loads(inspect).get("History") or json.loads(inspect)["OCIv1"].get("history", [])
    assert history and not any(TOKEN in json.dumps(h) for h in history)
    assert TOKEN.encode() not in archive.read_bytes()
    assert not any(data and TOKEN.encode() in data for layer in image.layers for _, data in layer.files())
    assert TOKEN not in json.dumps(image.raw_config)
    if fmt == "gitlab":  # control: the same command without the secret fails (required=true)
        assert _bud(store, repo, f"{tag}-none", [], {}).returncode != 0
