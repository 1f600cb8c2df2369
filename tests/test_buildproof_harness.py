"""Self-tests of the build-proof harness (tests/buildproof.py) on hand-written before/after pairs, with no
migration tool involved: an equivalent pair passes, a RUN that lost its secret is ``lost``, a secret
written to a layer file is a leak at that path, ``env=`` is unprovable here, an ONBUILD mount that is
``required`` breaks a child built without the secret, a runtime secret must be listed for deployers,
and an undo that does not undo (``npm config delete`` of a project key) leaves a leak. The emulated
tool behaviours are checked one by one with busybox's awk on the host."""

from __future__ import annotations

import base64
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import buildah_util
import buildproof

TOKEN = "made-up-" + "npm-Vb8Nc1HdZq7Xw2Lm9Pk4Rt6"
GH = "made-up-" + "gh-Jd0Fg5TaK3Vt9QxLm2Rw7Z"
KEY = "made-up-" + "service-key-Hc6Jd0Fg5TaK3V"
SECRETS = {"NPM_TOKEN": TOKEN, "GITHUB_TOKEN": GH}
NPMRC = "//npm.pkg.github.com/:_authToken=${NPM_TOKEN}\n"
MOUNT = 'RUN --mount=type=secret,id=npm_token,required=true export NPM_TOKEN="$(cat /run/secrets/npm_token)" && '
# a RUN under `USER node` reads the secret file only if the mount gives it to node (BuildKit: uid 0, 0400)
NODE_MOUNT = MOUNT.replace("id=npm_token,", "id=npm_token,uid=1000,")
GH_MOUNT = ('RUN --mount=type=secret,id=github_token,required=true '
            'export GITHUB_TOKEN="$(cat /run/secrets/github_token)" && ')

BEFORE = """FROM node:20-bookworm-slim AS build
WORKDIR /app
ARG NPM_TOKEN
COPY .npmrc package.json ./
RUN npm ci && mkdir -p dist && echo built > dist/app.js
ARG GITHUB_TOKEN
RUN curl -fsSL -H "Authorization: token ${GITHUB_TOKEN}" -o /app/dist/tool https://example.com/tool

FROM node:20-bookworm-slim
COPY --from=build /app/dist /srv
CMD ["node", "/srv/app.js"]
"""
EQUIVALENT = f"""FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY .npmrc package.json ./
{MOUNT}npm ci && mkdir -p dist && echo built > dist/app.js
{GH_MOUNT}curl -fsSL -H "Authorization: token ${{GITHUB_TOKEN}}" -o /app/dist/tool https://example.com/tool

FROM node:20-bookworm-slim
COPY --from=build /app/dist /srv
CMD ["node", "/srv/app.js"]
"""

PAIRS: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {
    "equivalent": ({"Dockerfile": BEFORE}, {"Dockerfile": EQUIVALENT}, SECRETS),
    # the mounts are there, the exports are not: npm loses the token from its environment, curl from argv
    "lost": ({"Dockerfile": BEFORE},
             {"Dockerfile": EQUIVALENT.replace('export NPM_TOKEN="$(cat /run/secrets/npm_token)" && ', "")
              .replace('export GITHUB_TOKEN="$(cat /run/secrets/github_token)" && ', "")}, SECRETS),
    "leak": ({"Dockerfile": BEFORE},
             {"Dockerfile": EQUIVALENT.replace("echo built > dist/app.js",
                                               'echo built > dist/app.js && echo "$NPM_TOKEN" > dist/.token')},
             SECRETS),
    "env-mount": ({"Dockerfile": BEFORE},
                  {"Dockerfile": "# syntax=docker/dockerfile:1\n" + EQUIVALENT.replace(
                      MOUNT, "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN,required=true ")}, SECRETS),
    "onbuild-required": (
        {"Dockerfile": "FROM node:20\nWORKDIR /app\nUSER node\nONBUILD ARG NPM_TOKEN\nONBUILD COPY .npmrc ./\n"
                       "ONBUILD RUN npm ci\n"},
        {"Dockerfile": f"FROM node:20\nWORKDIR /app\nUSER node\nONBUILD COPY .npmrc ./\nONBUILD {NODE_MOUNT}npm ci\n"},
        {"NPM_TOKEN": TOKEN}),
    "onbuild-optional": (
        {"Dockerfile": "FROM node:20\nWORKDIR /app\nUSER node\nONBUILD ARG NPM_TOKEN\nONBUILD COPY .npmrc ./\n"
                       "ONBUILD RUN npm ci\n"},
        {"Dockerfile": "FROM node:20\nWORKDIR /app\nUSER node\nONBUILD COPY .npmrc ./\nONBUILD "
                       + NODE_MOUNT.replace(",required=true", "") + "npm ci\n"},
        {"NPM_TOKEN": TOKEN}),
    # Archon-style: the runtime secret leaves the image; it must be listed for deployers
    "runtime-unlisted": (
        {"Dockerfile": f"FROM python:3.12-slim\nARG SERVICE_KEY_DEFAULT={KEY}\n"
                       "ENV SERVICE_KEY=${SERVICE_KEY_DEFAULT} LOG_LEVEL=info\nRUN pip install -r requirements.txt\n",
         "requirements.txt": "fastapi\n"},
        {"Dockerfile": "FROM python:3.12-slim\nENV LOG_LEVEL=info\nRUN pip install -r requirements.txt\n",
         "requirements.txt": "fastapi\n"},
        {"SERVICE_KEY_DEFAULT": KEY}),
    "runtime-listed": (
        {"Dockerfile": f"FROM python:3.12-slim\nARG SERVICE_KEY_DEFAULT={KEY}\n"
                       "ENV SERVICE_KEY=${SERVICE_KEY_DEFAULT} LOG_LEVEL=info\nRUN pip install -r requirements.txt\n",
         "requirements.txt": "fastapi\n"},
        {"Dockerfile": "FROM python:3.12-slim\nENV LOG_LEVEL=info\nRUN pip install -r requirements.txt\n",
         "requirements.txt": "fastapi\n", ".env.example": "SERVICE_KEY=\n"},
        {"SERVICE_KEY_DEFAULT": KEY}),
    # a merged RUN persists the token in the project .npmrc and "undoes" it with npm config delete,
    # which only edits the user config (issue 14 class 6): the token stays in /app/.npmrc
    "undo-that-does-not": (
        {"Dockerfile": "FROM node:20\nWORKDIR /app\nARG NPM_TOKEN\n"
                       "RUN npm config set --location=project //npm.pkg.github.com/:_authToken=${NPM_TOKEN}\n"
                       "RUN npm ci\n"},
        {"Dockerfile": f"FROM node:20\nWORKDIR /app\n{MOUNT}npm config set --location=project "
                       "//npm.pkg.github.com/:_authToken=${NPM_TOKEN} && npm ci && "
                       "npm config delete //npm.pkg.github.com/:_authToken\n"},
        {"NPM_TOKEN": TOKEN}),
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / ".npmrc").write_text(NPMRC)
    (root / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def proofs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, buildproof.ProofResult]:
    prover = buildproof.session_prover(tmp_path_factory)
    prover.base()
    prover.share_before = True  # several afters are proved against one before
    tmp = tmp_path_factory.mktemp("pairs")
    cases = [buildproof.Case(name, _tree(tmp / name / "before", b), _tree(tmp / name / "after", a), secrets=s)
             for name, (b, a, s) in PAIRS.items()]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(prover.prove, cases))
    finally:
        prover.share_before = False
    return {r.case: r for r in results}


def _values(name: str) -> list[str]:
    return list(PAIRS[name][2].values())


def _no_values(result: buildproof.ProofResult, name: str) -> None:
    text = repr(result) + result.summary()
    for v in _values(name):
        assert v not in text and base64.b64encode(v.encode()).decode()[4:16] not in text


@pytest.mark.buildah
def test_equivalent_pair_passes(proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["equivalent"]
    assert r.equivalent, r.summary()
    assert r.calls == 2  # npm ci, curl: both stubs recorded
    _no_values(r, "equivalent")


@pytest.mark.buildah
def test_a_run_that_lost_its_secret_is_lost(proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["lost"]
    assert not r.equivalent
    got = {(x.call.split()[1], x.secret, x.channel) for x in r.lost}
    assert ("npm", "NPM_TOKEN", "env NPM_TOKEN") in got, r.summary()
    assert ("curl", "GITHUB_TOKEN", "argv") in got, r.summary()
    assert not r.leaks
    _no_values(r, "lost")


@pytest.mark.buildah
def test_a_secret_written_to_a_layer_is_a_leak_with_its_path(proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["leak"]
    assert not r.equivalent
    assert [x.where.split()[-1] for x in r.leaks if x.secret == "NPM_TOKEN"] == ["/srv/.token"], r.summary()
    assert not r.lost
    _no_values(r, "leak")


@pytest.mark.buildah
def test_env_mount_is_unprovable_here(proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["env-mount"]
    assert not r.equivalent
    assert "env=" in r.unprovable and r.unprovable.startswith("after:")


@pytest.mark.buildah
def test_onbuild_required_mount_breaks_a_child_without_the_secret(
        proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["onbuild-required"]
    assert not r.equivalent
    assert any("child image built without the secret fails" in d for d in r.differences), r.summary()
    # the child that has the secret: npm ci (run as node: records are written by any user) sees it as before
    assert r.calls == 1 and not r.lost
    ok = proofs["onbuild-optional"]
    assert ok.equivalent, ok.summary()
    assert ok.calls == 1


@pytest.mark.buildah
def test_a_runtime_secret_must_be_listed_for_deployers(proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["runtime-unlisted"]
    assert [(x.call, x.secret) for x in r.lost] == [("runtime", "SERVICE_KEY")], r.summary()
    ok = proofs["runtime-listed"]
    assert ok.equivalent, ok.summary()
    _no_values(r, "runtime-unlisted")


@pytest.mark.buildah
def test_an_undo_that_does_not_undo_leaves_a_leak(proofs: dict[str, buildproof.ProofResult]) -> None:
    r = proofs["undo-that-does-not"]
    # the added `npm config delete` is an undo (allowed); it removes nothing from the project .npmrc
    assert not r.differences, r.summary()
    assert not r.lost, r.summary()
    assert "layer" in str(r.leaks) and any(x.where.endswith(" /app/.npmrc") for x in r.leaks), r.summary()


# ---- pieces, without building --------------------------------------------------------------------

def test_from_lines_point_at_the_stub_base_and_stages_stay() -> None:
    text = ("FROM --platform=$BUILDPLATFORM node:20 AS Build\nFROM build AS test\nFROM scratch\n"
            "FROM ${BASE_IMAGE}\nCOPY --from=build /a /b\nRUN echo FROM node:20\n")
    assert buildproof.rewrite_from(text, "stub") == (
        "FROM --platform=$BUILDPLATFORM stub AS Build\nFROM build AS test\nFROM scratch\nFROM stub\n"
        "COPY --from=build /a /b\nRUN echo FROM node:20\n")


def test_secret_mount_ids_map_to_secret_names() -> None:
    text = (MOUNT + "npm ci\n"
            "RUN --mount=type=secret,id=gh,target=/run/gh T=$(cat /run/gh) make\n"
            "RUN --mount=type=secret,id=sentry_auth_token sentry-cli upload\n"
            "RUN --mount=type=secret,id=other cat /run/secrets/other\n")
    secrets = {"NPM_TOKEN": "a", "T": "b", "SENTRY_AUTH_TOKEN": "c"}
    assert buildproof.secret_names(text, secrets) == (
        {"npm_token": "NPM_TOKEN", "gh": "T", "sentry_auth_token": "SENTRY_AUTH_TOKEN"}, ["other"])
    assert buildproof.declared_args("ARG A B=1 \\\n  C\nONBUILD ARG D\n") == {"A", "B", "C", "D"}


def test_unprovable_reasons() -> None:
    assert buildproof.unprovable_reasons(EQUIVALENT) == []
    assert buildproof.unprovable_reasons("RUN --mount=type=secret,id=x,env=X make\n") == [
        "env= secret mount (buildah 1.28 has none)"]
    assert buildproof.unprovable_reasons("RUN <<EOF\nnpm ci\nEOF\n") == ["heredoc (buildah 1.28 has none)"]
    assert buildproof.unprovable_reasons("FROM a AS b\nCOPY --from=b /x /y\nCOPY --from=golang:1 /go /go\n") == [
        "COPY --from an external image (no registry here)"]


def test_command_words() -> None:
    text = ('FROM x\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y curl \\\n'
            '    && ./configure && sudo make install | tee log; if command -v npx; then npx tsc; fi\n'
            'ONBUILD RUN ["/usr/local/bin/poetry", "install"]\nRUN --mount=type=secret,id=a $(go env GOPATH)/x\n')
    words = buildproof.command_words(text)
    assert {"apt-get", "make", "tee", "npx", "poetry", "go"} <= words
    assert not words & {"DEBIAN_FRONTEND", "sudo", "if", "then", "./configure", "install"}
    assert buildproof.command_words("#!/bin/sh\n# build with make\nset -eu\nyarn build\nsentry-cli upload dist\n",
                                    script=True) == {"yarn", "sentry-cli"}


def test_needles_find_the_value_inside_base64_and_redact_hides_it() -> None:
    for prefix in ("", "u:", "bob:", "x"):
        enc = base64.b64encode((prefix + TOKEN).encode())
        assert any(n in enc for n in buildproof.needles(TOKEN)), prefix
    assert not any(n in base64.b64encode(b"u:another-value-entirely") for n in buildproof.needles(TOKEN))
    text = f"ARG NPM_TOKEN={TOKEN} auth={base64.b64encode(('u:' + TOKEN).encode()).decode()}"
    assert TOKEN not in buildproof.redact(text, [TOKEN])
    assert not any(n.decode() in buildproof.redact(text, [TOKEN]) for n in buildproof.needles(TOKEN))


def test_bash_stands_in_without_pipefail(tmp_path: Path) -> None:
    if not Path("/bin/sh").exists():
        pytest.skip("no /bin/sh")
    script = tmp_path / "bash"
    script.write_text(buildproof._BASH)
    out = subprocess.run(["/bin/sh", str(script), "-eo", "pipefail", "-c", "echo $- ok"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.split()[-1] == "ok" and "e" in out.stdout.split()[0]


# ---- the emulated tool behaviours (EMULATIONS), one call at a time, with busybox's awk -------------

VALUE = "value-" + "Q7x2Lm9Pk4"
EMULATED = [
    # (argv, files that must hold the value V afterwards, files that must not exist or not hold it)
    (["npm", "config", "set", "//r/:_authToken=V"], ["~/.npmrc"], [".npmrc"]),
    (["npm", "config", "set", "--location=project", "//r/:_authToken", "V"], [".npmrc"], ["~/.npmrc"]),
    (["pnpm", "config", "set", "//r/:_authToken", "V"], ["~/.npmrc"], []),
    (["bundle", "config", "set", "--global", "rubygems.pkg.github.com", "u:V"], ["~/.bundle/config"],
     [".bundle/config"]),
    (["bundle", "config", "set", "--local", "gems.example.com", "u:V"], [".bundle/config"], ["~/.bundle/config"]),
    (["git", "clone", "--depth", "1", "https://u:V@github.com/acme/tools.git"], ["tools/.git/config"], []),
    (["git", "clone", "https://u:V@github.com/acme/tools.git", "vendor/t"], ["vendor/t/.git/config"], []),
    (["git", "config", "--global", "url.https://u:V@github.com/.insteadOf", "https://github.com/"],
     ["~/.gitconfig"], []),
    (["huggingface-cli", "login", "--token", "V"], ["~/.cache/huggingface/token"], []),
    (["composer", "config", "-g", "http-basic.repo.example.com", "u", "V"], ["~/.composer/auth.json"], []),
    (["poetry", "config", "http-basic.private", "u", "V"], ["~/.config/pypoetry/auth.toml"], []),
    (["pip", "config", "set", "global.index-url", "https://u:V@pypi.example.com/simple"],
     ["~/.config/pip/pip.conf"], []),
    (["docker", "login", "-u", "bob", "-p", "V", "ghcr.io"], ["~/.docker/config.json"], []),
    (["cargo", "login", "V"], ["~/.cargo/credentials.toml"], []),
    (["npm", "ci"], [], ["~/.npmrc", ".npmrc"]),
]


def _awk(tmp: Path, argv: list[str], env: dict[str, str]) -> None:
    busybox = buildah_util.static_busybox()
    if busybox is None:
        pytest.skip("busybox-static is not installed")
    table = tmp / "table.tsv"
    table.write_text(buildproof.emulations_tsv())
    record = tmp / "emulated"
    subprocess.run([str(busybox), "awk", "-v", f"prog={argv[0]}", "-v", f"cwd={tmp / 'work'}", "-v",
                    f"table={table}", "-v", "stdin_file=", "-v", f"record={record}", "-f",
                    str(buildproof.STUB_DIR / "emulate.awk"), "--", *argv[1:]],
                   check=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}, cwd=tmp / "work")


@pytest.mark.parametrize(("argv", "holds", "clean"), EMULATED, ids=[" ".join(a[:3]) for a, _, _ in EMULATED])
def test_emulated_credential_writes(tmp_path: Path, argv: list[str], holds: list[str], clean: list[str]) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()

    def path(p: str) -> Path:
        return tmp_path / "home" / p[2:] if p.startswith("~/") else tmp_path / "work" / p

    _awk(tmp_path, [a.replace("V", VALUE) for a in argv], {"HOME": str(tmp_path / "home")})
    for p in holds:
        assert buildproof._holds(path(p).read_bytes(), VALUE), p
    for p in clean:
        assert not path(p).exists() or not buildproof._holds(path(p).read_bytes(), VALUE), p


def test_npm_config_delete_leaves_a_project_key(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()
    env = {"HOME": str(tmp_path / "home")}
    _awk(tmp_path, ["npm", "config", "set", "--location=project", "//r/:_authToken=V"], env)
    _awk(tmp_path, ["npm", "config", "set", "//r/:_authToken=V"], env)
    _awk(tmp_path, ["npm", "config", "delete", "//r/:_authToken"], env)
    assert (tmp_path / "work/.npmrc").read_text() == "//r/:_authToken=V\n"
    assert (tmp_path / "home/.npmrc").read_text() == ""
    assert [buildproof.EMULATIONS[int(i) - 1].undo for i in (tmp_path / "emulated").read_text().split()] == [True]


def test_git_insteadof_then_remove_section(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()
    env = {"HOME": str(tmp_path / "home")}
    _awk(tmp_path, ["git", "config", "--global", "user.name", "ci"], env)
    _awk(tmp_path, ["git", "config", "--global", "url.https://x:V@github.com/.insteadOf", "https://github.com/"], env)
    assert (tmp_path / "home/.gitconfig").read_text() == (
        '[user]\n\tname = ci\n[url "https://x:V@github.com/"]\n\tinsteadOf = https://github.com/\n')
    _awk(tmp_path, ["git", "config", "--global", "--remove-section", "url.https://x:V@github.com/"], env)
    assert (tmp_path / "home/.gitconfig").read_text() == "[user]\n\tname = ci\n"
