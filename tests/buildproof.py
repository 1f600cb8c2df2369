"""Proof by building (issue 14): build a case before and after its migration and compare what every
program a RUN calls sees.

Both builds run on a **stub base image**: ``FROM scratch`` with busybox-static's applets real (so shell
redirections and file writes really happen) and every other program a RUN calls (npm, pip, git, curl,
wget, ...) replaced by one stub (``buildproof_stub/stub.sh``) that records, per call, the program, argv,
working directory, environment, stdin and the credential files present, then emulates the credential
files the real tool writes (:data:`EMULATIONS`). The records go to a host directory mounted into every
RUN (``buildah bud --volume HOST:/proof-record``), so they never land in a layer.

``/bin/sh`` is Debian's dash (copied from the host with its libc), not busybox's ash: busybox-static is
built to prefer its own applets over ``$PATH``, so under its shell ``wget`` (an applet) would run for
real instead of its stub. The applets are links to busybox as usual.

:func:`prove` builds *before* (the original Dockerfile, each secret as ``--build-arg NAME=value``) and
*after* (the migrated Dockerfile, each secret mount's id as ``--secret id=<id>,src=<file>``), both with
external ``FROM`` images replaced by the stub base, and reports:

* ``lost``: a call that saw a secret before (in its environment, argv, stdin or a credential file) and
  does not after, through the same channel; the container at run time counts as a call
  (``runtime``): a secret-named variable the before image's config Env carried must, after, be gone
  from the config and listed for deployers (``.env.example`` or a compose ``environment:``);
* ``leaks``: where the after image holds a secret value (config key, history step, layer path);
* ``differences``: calls added or missing, argv that differ, a call that sees a secret it did not see
  before, builds that fail after but not before (ONBUILD: a child image with and without the secret);
* ``unprovable``: why this buildah (1.28: no ``env=`` secret mounts, no heredocs) cannot build it.

Secret values never appear in anything this module returns or raises: only names, ids, paths.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codemod.verify.archive import load_image

import buildah_util

STUB_DIR = Path(__file__).resolve().parent / "buildproof_stub"
RECORD_MOUNT = "/proof-record"
STUB_LIB = "/usr/local/lib/buildproof"

#: Programs that always get a stub (more come from the command words of the Dockerfiles proved).
STUB_PROGRAMS = (
    "npm", "npx", "yarn", "pnpm", "corepack", "node", "bun", "deno", "next", "vite", "tsc",
    "python", "python3", "pip", "pip3", "pipx", "uv", "uvx", "poetry", "pipenv", "twine", "pdm", "hatch",
    "bundle", "bundler", "gem", "rake", "rails", "ruby",
    "mvn", "mvnw", "gradle", "gradlew", "java", "javac", "sbt",
    "go", "make", "cmake", "gcc", "cc", "cargo", "rustc", "rustup",
    "composer", "php", "artisan",
    "dotnet", "nuget",
    "sentry-cli", "gh", "git", "curl", "wget", "ssh", "ssh-keyscan", "aws", "gcloud", "az", "kubectl", "helm",
    "huggingface-cli", "hf", "docker", "terraform",
    "apt-get", "apt", "apt-key", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm",
    "useradd", "groupadd", "usermod", "update-ca-certificates", "locale-gen", "ldconfig", "sudo", "gosu",
    "tini", "su-exec", "chown",
)

#: Credential files a stub copies into its record when present (``~/`` = $HOME, relative = the
#: working directory, ``${VAR:-default}`` as in sh).
CREDENTIAL_FILES = (
    "~/.npmrc", ".npmrc", "${NPM_CONFIG_USERCONFIG:-~/.npmrc}", "~/.yarnrc", ".yarnrc", "~/.yarnrc.yml",
    ".yarnrc.yml", "~/.netrc", "~/.gitconfig", "/etc/gitconfig", ".git/config", "~/.git-credentials",
    "~/.config/git/credentials", "/etc/pip.conf", "~/.pip/pip.conf", "~/.config/pip/pip.conf", "pip.conf",
    "~/.pypirc", ".bundle/config", "${BUNDLE_APP_CONFIG:-.bundle}/config",
    "${BUNDLE_USER_CONFIG:-~/.bundle/config}", "~/.gem/credentials", "~/.config/pypoetry/auth.toml",
    "${COMPOSER_HOME:-~/.composer}/auth.json", "~/.config/composer/auth.json", "auth.json",
    "~/.docker/config.json", "${HF_HOME:-~/.cache/huggingface}/token", "~/.huggingface/token",
    ".sentryclirc", "~/.sentryclirc", ".env", ".env.local", ".env.production", ".secrets.toml",
    "~/.aws/credentials", "~/.cargo/credentials.toml", "~/.cargo/credentials", "~/.config/gh/hosts.yml",
    "~/.m2/settings.xml", "~/.gradle/gradle.properties", "gradle.properties", "~/.nuget/NuGet/NuGet.Config",
)


@dataclass(frozen=True)
class Emulation:
    """One credential write (or its undo) of a real tool, as the stub standing for it performs it.

    ``words`` are the call's positional words (options and their values removed): a literal (``a|b``
    alternatives), ``{}`` captures one, ``{}?`` captures one if present, ``prefix*`` captures one that
    starts with prefix, ``...`` allows more. ``require``: space-separated groups of ``|``-alternative
    flags that must all be present (``--location=project`` matches an option value); ``forbid``:
    flags that must be absent; ``valued``: options that take the next argument as their value.
    Templates (path, args) use ``{N}`` (capture N), ``{opt:-u}``, ``{stdin}``, ``{keyof:N}``,
    ``{sect:N}``/``{tail:N}`` (before/after the first dot), ``{base:N}`` (a URL's repository name),
    ``{bundlekey:N}``, ``{githeader:N}``/``{gitkeyheader:N}``/``{gitname:N}``, ``{dockerauth}``,
    ``{lit:x}``, and ``{a?b}`` (b when a is empty). Effects (emulate.awk): ``kv`` path key line (replace
    the key's line or append), ``unset`` path key, ``ini`` path header key line, ``iniunset`` path
    header key, ``dropsection`` path header, ``write`` path text, ``append`` path line, ``mkdir``,
    ``rm``. ``undo`` marks a row that removes what another wrote: a call matching only such rows may
    be added by a migration (the cleanup at the end of a merged RUN).
    """

    programs: str
    words: str
    effect: str
    path: str
    args: tuple[str, ...] = ()
    require: str = ""
    forbid: str = ""
    valued: str = ""
    undo: bool = False
    note: str = ""


_NPM_VALUED = "-L --location --registry --userconfig --globalconfig --workspace -w"
_GIT_VALUED = ("-C -c --config -b --branch --depth -o --origin --filter --reference -j --jobs --template "
               "--separate-git-dir --shallow-since --shallow-exclude -u --upload-pack --type -f --file")
_CURL_VALUED = ("-o --output -H --header -u --user -d --data --data-raw --data-binary -X --request -A --user-agent "
                "-e --referer --retry -m --max-time --connect-timeout -w --write-out -x --proxy --cacert -b --cookie "
                "-c --cookie-jar -T --upload-file -F --form -K --config")
_COMPOSER = "${COMPOSER_HOME:-~/.composer}/auth.json"
_PROJECT = "--location=project|-L=project"

#: The credential writes the stubs emulate: ONE table, to be corrected against the real tools.
#: Rows apply in order; every matching row applies.
EMULATIONS: tuple[Emulation, ...] = (
    # npm / pnpm: `config set` writes the user config unless told otherwise; `delete` removes from that
    # same config only, never from a project .npmrc (checked with npm 11, issue 14)
    Emulation("npm pnpm", "config set {} {}", "kv", ".npmrc", ("{1}", "{1}={2}"), require=_PROJECT,
              valued=_NPM_VALUED, note="npm config set --location project K V writes ./.npmrc"),
    Emulation("npm pnpm", "config set {}", "kv", ".npmrc", ("{keyof:1}", "{1}"), require=_PROJECT,
              valued=_NPM_VALUED, note="npm config set --location project K=V writes ./.npmrc"),
    Emulation("npm pnpm", "config set {} {}", "kv", "~/.npmrc", ("{1}", "{1}={2}"),
              forbid="--location -L -g --global", valued=_NPM_VALUED,
              note="npm config set K V writes the user config ~/.npmrc (pnpm assumed the same)"),
    Emulation("npm pnpm", "config set {}", "kv", "~/.npmrc", ("{keyof:1}", "{1}"),
              forbid="--location -L -g --global", valued=_NPM_VALUED, note="npm config set K=V: the same"),
    Emulation("npm pnpm", "config delete|rm {}", "unset", ".npmrc", ("{1}",), require=_PROJECT,
              valued=_NPM_VALUED, undo=True, note="npm config delete --location project K edits ./.npmrc"),
    Emulation("npm pnpm", "config delete|rm {}", "unset", "~/.npmrc", ("{1}",),
              forbid="--location -L -g --global", valued=_NPM_VALUED, undo=True,
              note="npm config delete K removes K from the user config only (a project .npmrc keeps it)"),
    # yarn 1
    Emulation("yarn", "config set {} {}", "kv", "~/.yarnrc", ("{1}", '{1} "{2}"'),
              note="yarn (v1) config set K V writes ~/.yarnrc"),
    Emulation("yarn", "config delete {}", "unset", "~/.yarnrc", ("{1}",), undo=True,
              note="yarn (v1) config delete K edits ~/.yarnrc"),
    # bundler: BUNDLE_<KEY> in YAML; --local: the app's .bundle/config (or $BUNDLE_APP_CONFIG);
    # --global or no scope: ~/.bundle/config
    Emulation("bundle bundler", "config unset {}", "unset", "${BUNDLE_APP_CONFIG:-.bundle}/config",
              ("{bundlekey:1}",), require="--local", undo=True, note="bundle config unset --local K"),
    Emulation("bundle bundler", "config unset {}", "unset", "${BUNDLE_USER_CONFIG:-~/.bundle/config}",
              ("{bundlekey:1}",), forbid="--local", undo=True, note="bundle config unset [--global] K"),
    Emulation("bundle bundler", "config set {} {}", "kv", "${BUNDLE_APP_CONFIG:-.bundle}/config",
              ("{bundlekey:1}", '{bundlekey:1}: "{2}"'), require="--local",
              note="bundle config set --local K V writes ./.bundle/config"),
    Emulation("bundle bundler", "config set {} {}", "kv", "${BUNDLE_USER_CONFIG:-~/.bundle/config}",
              ("{bundlekey:1}", '{bundlekey:1}: "{2}"'), forbid="--local",
              note="bundle config set [--global] K V writes ~/.bundle/config (no scope assumed global)"),
    # the old spelling is emulated for URL keys only: `config {} {}` also matched `config unset K` and
    # `config get K` (it wrote BUNDLE_UNSET: "K")
    Emulation("bundle bundler", "config https://* {}", "kv", "${BUNDLE_APP_CONFIG:-.bundle}/config",
              ("{bundlekey:1}", '{bundlekey:1}: "{2}"'), require="--local", forbid="--delete",
              note="bundle config --local URL V (the old spelling)"),
    Emulation("bundle bundler", "config https://* {}", "kv", "${BUNDLE_USER_CONFIG:-~/.bundle/config}",
              ("{bundlekey:1}", '{bundlekey:1}: "{2}"'), forbid="--local --delete",
              note="bundle config [--global] URL V (the old spelling)"),
    # git
    Emulation("git", "clone {} {}?", "write", "{2?base:1}/.git/config",
              ('[core]\\n\\trepositoryformatversion = 0\\n[remote "origin"]\\n\\turl = {1}\\n'
               '\\tfetch = +refs/heads/*:refs/remotes/origin/*\\n',), valued=_GIT_VALUED,
              note="git clone URL [DIR] keeps URL (credentials included) in DIR/.git/config"),
    Emulation("git", "config {}", "dropsection", "~/.gitconfig", ("{githeader:1}",),
              require="--global --remove-section", valued=_GIT_VALUED, undo=True,
              note="git config --global --remove-section S removes [S] from ~/.gitconfig"),
    Emulation("git", "config {}", "iniunset", "~/.gitconfig", ("{gitkeyheader:1}", "{gitname:1}"),
              require="--global --unset|--unset-all", valued=_GIT_VALUED, undo=True,
              note="git config --global --unset K"),
    Emulation("git", "config {} {}", "ini", "~/.gitconfig",
              ("{gitkeyheader:1}", "{gitname:1}", "\\t{gitname:1} = {2}"), require="--global",
              forbid="--get --get-all --unset --unset-all --remove-section", valued=_GIT_VALUED,
              note="git config --global K V (url.<base>.insteadOf included) writes ~/.gitconfig"),
    Emulation("git", "config {} {}", "ini", "/etc/gitconfig",
              ("{gitkeyheader:1}", "{gitname:1}", "\\t{gitname:1} = {2}"), require="--system",
              forbid="--get --get-all --unset --unset-all --remove-section", valued=_GIT_VALUED,
              note="git config --system K V writes /etc/gitconfig"),
    # Hugging Face
    Emulation("huggingface-cli", "login", "write", "${HF_HOME:-~/.cache/huggingface}/token",
              ("{opt:--token?stdin}",), valued="--token",
              note="huggingface-cli login --token T writes the token file"),
    Emulation("hf", "auth login", "write", "${HF_HOME:-~/.cache/huggingface}/token", ("{opt:--token?stdin}",),
              valued="--token", note="hf auth login --token T writes the token file"),
    Emulation("huggingface-cli", "logout", "rm", "${HF_HOME:-~/.cache/huggingface}/token", undo=True,
              note="huggingface-cli logout removes the token file"),
    Emulation("hf", "auth logout", "rm", "${HF_HOME:-~/.cache/huggingface}/token", undo=True,
              note="hf auth logout removes the token file"),
    # composer
    Emulation("composer", "config http-basic.* {} {}", "write", _COMPOSER,
              ('{"http-basic": {"{tail:1}": {"username": "{2}", "password": "{3}"}}}\\n',),
              require="-g|--global", note="composer config -g http-basic.H U P writes $COMPOSER_HOME/auth.json"),
    Emulation("composer", "config github-oauth.* {}", "write", _COMPOSER,
              ('{"github-oauth": {"{tail:1}": "{2}"}}\\n',), require="-g|--global",
              note="composer config -g github-oauth.H T writes $COMPOSER_HOME/auth.json"),
    Emulation("composer", "config http-basic.* {} {}", "write", "auth.json",
              ('{"http-basic": {"{tail:1}": {"username": "{2}", "password": "{3}"}}}\\n',),
              forbid="-g --global", note="composer config http-basic.H U P (project) writes ./auth.json"),
    Emulation("composer", "config {}", "rm", _COMPOSER, require="-g|--global --unset", undo=True,
              note="composer config -g --unset K (the emulation drops the whole auth.json)"),
    # poetry
    Emulation("poetry", "config http-basic.* {} {}", "ini", "~/.config/pypoetry/auth.toml",
              ("[http-basic.{tail:1}]", "password", 'username = "{2}"\\npassword = "{3}"'), forbid="--unset",
              note="poetry config http-basic.X U P writes ~/.config/pypoetry/auth.toml (no keyring)"),
    Emulation("poetry", "config pypi-token.* {}", "ini", "~/.config/pypoetry/auth.toml",
              ("[pypi-token]", "{tail:1}", '{tail:1} = "{2}"'), forbid="--unset",
              note="poetry config pypi-token.X T writes ~/.config/pypoetry/auth.toml (no keyring)"),
    Emulation("poetry", "config http-basic.*", "dropsection", "~/.config/pypoetry/auth.toml",
              ("[http-basic.{tail:1}]",), require="--unset", undo=True, note="poetry config --unset http-basic.X"),
    # pip
    Emulation("pip pip3", "config set {} {}", "ini", "~/.config/pip/pip.conf",
              ("[{sect:1}]", "{tail:1}", "{tail:1} = {2}"), forbid="--global --site",
              note="pip config set S.K V writes the user file ~/.config/pip/pip.conf"),
    Emulation("pip pip3", "config set {} {}", "ini", "/etc/pip.conf", ("[{sect:1}]", "{tail:1}", "{tail:1} = {2}"),
              require="--global", note="pip config --global set S.K V writes /etc/pip.conf"),
    Emulation("pip pip3", "config unset {}", "iniunset", "~/.config/pip/pip.conf", ("[{sect:1}]", "{tail:1}"),
              forbid="--global --site", undo=True, note="pip config unset S.K"),
    # docker, gh, cargo, aws
    Emulation("docker", "login {}?", "write", "~/.docker/config.json",
              ('{"auths": {"{1?dockerhub}": {"auth": "{dockerauth}"}}}\\n',),
              valued="-u --username -p --password",
              note="docker login [-u U] [-p P|--password-stdin] [HOST] writes ~/.docker/config.json"),
    Emulation("docker", "logout {}?", "rm", "~/.docker/config.json", undo=True,
              note="docker logout (the emulation drops the whole config.json)"),
    Emulation("gh", "auth login", "write", "~/.config/gh/hosts.yml",
              ("github.com:\\n    oauth_token: {stdin}\\n    git_protocol: https\\n",), require="--with-token",
              valued="-h --hostname -p --git-protocol", note="gh auth login --with-token < T writes hosts.yml"),
    Emulation("gh", "auth logout", "rm", "~/.config/gh/hosts.yml", undo=True, valued="-h --hostname",
              note="gh auth logout removes hosts.yml"),
    Emulation("cargo", "login {}?", "write", "~/.cargo/credentials.toml", ('[registry]\\ntoken = "{1?stdin}"\\n',),
              valued="--registry", note="cargo login T writes ~/.cargo/credentials.toml"),
    Emulation("aws", "configure set {} {}", "ini", "~/.aws/credentials", ("[default]", "{1}", "{1} = {2}"),
              valued="--profile", note="aws configure set K V writes ~/.aws/credentials [default]"),
    # users, so that a later USER finds them
    Emulation("useradd", "{}", "append", "/etc/passwd", ("{1}:x:{opt:-u?lit:1000}:{opt:-g?lit:1000}::"
                                                        "/home/{1}:/bin/sh",),
              valued="-u --uid -g --gid -d --home-dir -s --shell -G --groups -c --comment -k -K -p -e -f",
              note="useradd NAME adds NAME to /etc/passwd"),
    Emulation("groupadd", "{}", "append", "/etc/group", ("{1}:x:{opt:-g?lit:1000}:",), valued="-g --gid -K",
              note="groupadd NAME adds NAME to /etc/group"),
    # build outputs (not credentials), so that a later COPY or chmod finds them
    Emulation("curl", "...", "write", "{opt:-o?opt:--output}", ("",), require="-o|--output", valued=_CURL_VALUED,
              note="curl -o FILE creates FILE (empty here)"),
    Emulation("wget", "...", "write", "{opt:-O?opt:--output-document}", ("",), require="-O|--output-document",
              valued="-O --output-document --header -U --user-agent --user --password -P -t --tries -T",
              note="wget -O FILE creates FILE (empty here)"),
    Emulation("npm pnpm", "ci|install|i|add ...", "mkdir", "node_modules", valued=_NPM_VALUED,
              note="npm ci / npm install create ./node_modules"),
    Emulation("yarn", "install|add ...", "mkdir", "node_modules", note="yarn install creates ./node_modules"),
    Emulation("yarn", "", "mkdir", "node_modules", note="yarn (no command) installs: ./node_modules"),
    Emulation("bundle bundler", "install ...", "mkdir", "${BUNDLE_PATH:-/usr/local/bundle}",
              valued="--jobs -j --retry --path --gemfile --without --with",
              note="bundle install installs into BUNDLE_PATH (unset: the ruby images' GEM_HOME /usr/local/bundle)"),
    Emulation("composer", "install|update ...", "mkdir", "vendor", valued="-d --working-dir",
              note="composer install writes ./vendor"),
    Emulation("mvn mvnw", "package|verify|install ...", "write", "target/app.jar", ("",),
              valued="-s --settings -gs --global-settings -f --file -P --activate-profiles -pl --projects -T --threads",
              note="mvn package writes target/<finalName>.jar (the corpus poms set <finalName>app</finalName>)"),
    Emulation("gradle gradlew", "build|bootJar|assemble|jar ...", "write", "build/libs/app.jar", ("",),
              valued="-p --project-dir -x --exclude-task -b --build-file -I --init-script",
              note="gradle bootJar writes build/libs/<archiveFileName> (the corpus builds set app.jar)"),
    Emulation("go", "build ...", "write", "{opt:-o}", ("",), require="-o", valued="-o -tags -ldflags -gcflags -mod",
              note="go build -o FILE writes FILE (empty here)"),
)

#: Calls that consume no environment variable they are not handed (design.md section 3, inert
#: commands): their environment is not compared, their argv, stdin and credential files are.
#: (program names, words that must all appear in argv, ``a|b`` alternatives)
INERT_CALLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apt-get apt apt-key dpkg apk yum dnf microdnf rpm", ()),
    ("useradd groupadd usermod chown update-ca-certificates locale-gen ldconfig", ()),
    ("curl wget", ()),
    # gpg reads its own GNUPGHOME (and agent variables), nothing a build passes it by name
    ("gpg gpgv dirmngr gpgconf", ()),
    ("git", ("clone",)),
    ("pip pip3", ("install", "-r|--requirement")),
)

_SHELL_WORDS = frozenset(
    "if then else elif fi for while until do done case esac in function time ! { } [ [[ ]] test true false "
    "export set unset cd exec eval source . : readonly local return exit shift trap wait umask ulimit alias "
    "command type hash read echo printf env nohup xargs sudo gosu su-exec".split())
_APPLETS_CACHE: list[frozenset[str]] = []


def busybox_applets() -> frozenset[str]:
    if not _APPLETS_CACHE:
        busybox = buildah_util.static_busybox()
        out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout
        _APPLETS_CACHE.append(frozenset(out.split()))
    return _APPLETS_CACHE[0]


def emulations_tsv() -> str:
    rows = []
    for e in EMULATIONS:
        args = (*e.args, "", "", "")[:3]
        cols = (e.programs, e.words, e.require, e.forbid, e.valued, e.effect, e.path, *args)
        assert all("\t" not in c and "\n" not in c for c in cols), e
        rows.append("\t".join(cols))
    return "\n".join(rows) + "\n"


def _shell_path(p: str) -> str:
    """A CREDENTIAL_FILES entry as a double-quoted sh word."""
    m = re.match(r"^\$\{(\w+):-([^}]*)\}(.*)$", p)
    if m:
        return f'"${{{m[1]}:-{_shell_path(m[2])[1:-1]}}}{m[3]}"'
    if p.startswith("~/"):
        return f'"$HOME/{p[2:]}"'
    if not p.startswith("/"):
        return f'"$PWD/{p}"'
    return f'"{p}"'


def stub_script() -> str:
    text = (STUB_DIR / "stub.sh").read_text(encoding="utf-8")
    return text.replace("@CREDENTIAL_FILES@", " ".join(_shell_path(p) for p in CREDENTIAL_FILES))


# ---- Dockerfiles ----------------------------------------------------------------------------------

_FROM = re.compile(r"^([ \t]*FROM[ \t]+)((?:--\S+[ \t]+)*)(\S+)(.*)$", re.I | re.M)
_STAGE = re.compile(r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*\S+[ \t]+AS[ \t]+(\S+)", re.I | re.M)
_MOUNT = re.compile(r"--mount=(\S+)")
_HEREDOC = re.compile(r"^[ \t]*(?:ONBUILD[ \t]+)?(?:RUN|COPY|ADD)\b[^\n]*<<-?[ \t]*[\"']?[A-Za-z_]", re.I | re.M)
_COPY_FROM = re.compile(r"^[ \t]*(?:ONBUILD[ \t]+)?(?:COPY|ADD)\b[^\n]*--from=(\S+)", re.I | re.M)
_ARG = re.compile(r"^[ \t]*(?:ONBUILD[ \t]+)?ARG[ \t]+(.+)$", re.I | re.M)


def rewrite_from(text: str, base: str) -> str:
    """Every ``FROM`` of an external image (not a stage, not scratch) made ``FROM base``; nothing else."""
    stages = {m.lower() for m in _STAGE.findall(text)}

    def sub(m: re.Match[str]) -> str:
        image = m[3]
        if image.lower() in stages or image.lower() == "scratch":
            return m[0]
        return f"{m[1]}{m[2]}{base}{m[4]}"

    return _FROM.sub(sub, text)


def _joined(text: str) -> str:
    """The Dockerfile with backslash continuations joined (comment lines inside them dropped)."""
    out: list[str] = []
    cont = False
    for line in text.splitlines():
        if cont and line.lstrip().startswith("#"):
            continue
        if cont:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
        cont = line.rstrip().endswith("\\")
        if cont:
            out[-1] = out[-1].rstrip()[:-1]
    return "\n".join(out)


@dataclass(frozen=True)
class SecretMount:
    id: str
    env: str | None
    target: str | None
    required: bool


def secret_mounts(text: str) -> list[SecretMount]:
    mounts = []
    for m in _MOUNT.finditer(text):
        opts: dict[str, str] = {}
        for part in m[1].split(","):
            k, _, v = part.partition("=")
            opts[k.strip().lower()] = v.strip().strip("\"'")
        if opts.get("type") != "secret":
            continue
        sid = opts.get("id") or posixpath.basename(opts.get("target") or opts.get("dst") or "")
        mounts.append(SecretMount(sid, opts.get("env"), opts.get("target") or opts.get("dst"),
                                  opts.get("required", "false").lower() in ("", "true")))
    return mounts


def secret_names(text: str, secrets: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Each secret mount's id -> the secret name whose value it carries; and the ids that map to none."""
    found: dict[str, str] = {}
    unknown: list[str] = []
    by_lower = {k.lower(): k for k in secrets}
    for mount in secret_mounts(text):
        if mount.id in found:
            continue
        name = None
        if mount.env:
            name = mount.env
        else:
            path = re.escape(mount.target or f"/run/secrets/{mount.id}")
            m = re.search(rf"(\w+)=[\"']?\$\((?:cat[ \t]+|<[ \t]*)[\"']?{path}[\"']?\)", text)
            if m:
                name = m[1]
        if name not in secrets:
            name = by_lower.get(mount.id.lower()) or (by_lower.get(name.lower()) if name else None)
        if name is None or name not in secrets:
            unknown.append(mount.id)
        else:
            found[mount.id] = name
    return found, unknown


def declared_args(text: str) -> set[str]:
    names = set()
    for m in _ARG.finditer(_joined(text)):
        for part in m[1].split():
            names.add(part.split("=", 1)[0])
    return names


def unprovable_reasons(text: str, stages_ok: Iterable[str] = ()) -> list[str]:
    """Why buildah 1.28 cannot build this Dockerfile here ([] when it can)."""
    reasons = []
    if any(m.env for m in secret_mounts(text)):
        reasons.append("env= secret mount (buildah 1.28 has none)")
    if _HEREDOC.search(text):
        reasons.append("heredoc (buildah 1.28 has none)")
    stages = {s.lower() for s in _STAGE.findall(text)} | set(stages_ok)
    for src in _COPY_FROM.findall(text):
        if src.lower() not in stages and not src.isdigit():
            reasons.append("COPY --from an external image (no registry here)")
            break
    return reasons


def command_words(text: str, *, script: bool = False) -> set[str]:
    """The programs a Dockerfile's RUNs (or, with ``script``, a shell script's lines) name: the first
    words of simple commands."""
    words: set[str] = set()
    body = _joined(text)
    chunks: list[str] = []
    for line in body.splitlines():
        if script:
            chunks.append(line.split("#", 1)[0] if line.lstrip().startswith("#") else line)
            continue
        m = re.match(r"^[ \t]*(?:ONBUILD[ \t]+)?RUN[ \t]+(.*)$", line, re.I)
        if m:
            cmd = re.sub(r"--(?:mount|network|security)=\S+[ \t]*", "", m[1]).strip()
            if cmd.startswith("["):
                try:
                    argv = json.loads(cmd)
                    if argv and isinstance(argv[0], str):
                        chunks.append(" ".join(str(a) for a in argv))
                        words.add(posixpath.basename(argv[0]))
                    continue
                except ValueError:
                    pass
            chunks.append(cmd)
    for chunk in chunks:
        for seg in re.split(r"&&|\|\||[;|(){}`\n]|\$\(", chunk):
            toks = seg.split()
            while toks and (toks[0] in _SHELL_WORDS or re.match(r"^\w+=", toks[0]) or toks[0].startswith("-")):
                toks = toks[1:]
            if toks:
                w = toks[0].strip("\"'")
                if "/" in w and re.match(r"^/(usr/)?(local/)?s?bin/", w):
                    w = posixpath.basename(w)
                if re.fullmatch(r"[A-Za-z][A-Za-z0-9._+-]*", w):
                    words.add(w)
    return words


# ---- records ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One recorded program call (values inside: never print one)."""

    index: int
    prog: str
    argv: tuple[str, ...]
    cwd: str
    env: Mapping[str, str] = field(repr=False)
    stdin: bytes = field(repr=False)
    files: Mapping[str, bytes] = field(repr=False)
    emulated: tuple[int, ...] = ()

    def label(self, values: Iterable[str] = ()) -> str:
        argv = " ".join(self.argv)
        if len(argv) > 60:
            argv = argv[:57] + "..."
        return redact(f"#{self.index} {self.prog} {argv}".rstrip(), values)


def load_calls(record: Path) -> list[Call]:
    calls: list[Call] = []
    if not record.is_dir():
        return calls
    for d in sorted((p for p in record.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
        def read(name: str, d: Path = d) -> bytes:
            p = d / name
            return p.read_bytes() if p.is_file() else b""

        env: dict[str, str] = {}
        for item in read("environ").split(b"\0"):
            if b"=" in item:
                k, _, v = item.decode("utf-8", "replace").partition("=")
                env[k] = v
        argv = read("argv").split(b"\0")[:-1]
        names = [n.decode("utf-8", "replace") for n in read("files").split(b"\0")[:-1]]
        files: dict[str, bytes] = {}
        for i, name in enumerate(names, 1):
            files.setdefault(posixpath.normpath(name.replace("//", "/")), read(f"file.{i}"))
        emulated = tuple(int(x) for x in read("emulated").split())
        calls.append(Call(len(calls) + 1, read("prog").decode(), tuple(a.decode("utf-8", "replace") for a in argv),
                          read("cwd").decode().strip(), env, read("stdin"), files, emulated))
    return calls


# ---- values -------------------------------------------------------------------------------------

def needles(value: str) -> list[bytes]:
    """The value, and the stable middle of its base64 at each alignment (docker config.json ``auth``)."""
    raw = value.encode()
    out = [raw]
    if len(raw) >= 12:
        for shift in range(3):
            enc = base64.b64encode(b"\0" * shift + raw)
            start = (shift * 4 + 2) // 3 + 1
            end = len(enc) - 4
            if end - start >= 8:
                out.append(enc[start:end])
    return out


def redact(text: str, values: Iterable[str]) -> str:
    for v in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(v, "<redacted>")
        for n in needles(v)[1:]:
            text = text.replace(n.decode(), "<redacted>")
    return text


def _holds(data: bytes | str, value: str) -> bool:
    b = data.encode() if isinstance(data, str) else data
    return any(n in b for n in needles(value))


# ---- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Leak:
    secret: str
    where: str  # "history #3 created_by", "config.Env NPM_TOKEN", "layer 2 /app/.npmrc"


@dataclass(frozen=True)
class Lost:
    call: str     # "#4 npm run build" (secret values redacted), "runtime"
    secret: str
    channel: str  # "env NPM_TOKEN", "file /root/.npmrc", "argv", "stdin", "config.Env", "deployers"


@dataclass
class ProofResult:
    case: str
    leaks: list[Leak] = field(default_factory=list)
    lost: list[Lost] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    unprovable: str = ""
    calls: int = 0
    seconds: float = 0.0

    @property
    def equivalent(self) -> bool:
        return not (self.leaks or self.lost or self.differences or self.unprovable)

    def summary(self) -> str:
        if self.unprovable:
            return f"{self.case}: unprovable here: {self.unprovable}"
        if self.equivalent:
            return f"{self.case}: equivalent ({self.calls} calls)"
        lines = [f"{self.case}: NOT equivalent"]
        lines += [f"  leak: {x.secret} at {x.where}" for x in self.leaks]
        lines += [f"  lost: {x.secret} by {x.call} ({x.channel})" for x in self.lost]
        lines += [f"  difference: {d}" for d in self.differences]
        return "\n".join(lines)


@dataclass(frozen=True)
class Case:
    """What :func:`prove` builds: the repository tree before and after the migration."""

    name: str
    before: Path
    after: Path
    dockerfile: str = "Dockerfile"
    target: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    after_dockerfile: str | None = None  # when the migration renamed it (never today)


# ---- building -----------------------------------------------------------------------------------

@dataclass
class _Build:
    ok: bool
    tag: str
    record: Path
    stderr: str
    seconds: float


class Prover:
    """Builds and compares cases in one buildah store; thread-safe (cases may be proved in parallel)."""

    def __init__(self, store: buildah_util.BuildahStore, workdir: Path, programs: Iterable[str] = ()) -> None:
        self.store = store
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.programs = set(STUB_PROGRAMS) | set(programs)
        self._lock = threading.Lock()
        self._bases: dict[str, str] = {}
        self._n = 0
        #: with ``share_before``, identical *before* builds (same Dockerfile, context, arguments) are built
        #: once and kept for the Prover's life (the self-tests prove several afters against one before)
        self.share_before = False
        self._shared: dict[str, _Build] = {}
        self._shared_locks: dict[str, threading.Lock] = {}

    # the stub base image: one per set of stubbed programs (``programs`` given up front share one)
    def base(self, programs: Iterable[str] = ()) -> str:
        stubs = sorted(self.programs | set(programs))
        applets = busybox_applets()
        # an applet keeps its busybox link unless a stub stands for it (wget, dpkg, rpm, ...)
        stubs = [p for p in stubs if p not in applets or p in STUB_PROGRAMS]
        script, awk, tsv = stub_script(), (STUB_DIR / "emulate.awk").read_text(), emulations_tsv()
        key = hashlib.sha256("\0".join([*stubs, script, awk, tsv]).encode()).hexdigest()[:16]
        with self._lock:
            if key in self._bases:
                return self._bases[key]
            tag = f"localhost/buildproof/base:{key}"
            ctx = self.workdir / f"base-{key}"
            _stub_rootfs(ctx / "rootfs", stubs, script, awk, tsv)
            (ctx / "Containerfile").write_text("FROM scratch\nCOPY rootfs/ /\n", encoding="utf-8")
            proc = self.store.bud(ctx / "Containerfile", tag, ctx)
            if proc.returncode != 0:
                raise RuntimeError(f"stub base image build failed:\n{proc.stderr[-2000:]}")
            self._bases[key] = tag
            return tag

    def _slot(self, name: str) -> Path:
        with self._lock:
            self._n += 1
            d = self.workdir / f"{self._n:04d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
        d.mkdir(parents=True)
        return d

    def _before(self, name: str, text: str, context: Path, *, build_args: Mapping[str, str],
                target: str | None, values: Iterable[str], tags: list[str]) -> _Build:
        """A before build (no secret mounts), shared between proofs when :attr:`share_before`."""
        if not self.share_before:
            b = self._build(name, text, context, build_args=build_args, secrets={}, target=target, values=values)
            tags.append(b.tag)
            return b
        h = hashlib.sha256("\0".join([text, target or "", *sorted(f"{k}={v}" for k, v in build_args.items())])
                           .encode())
        for p in sorted(context.rglob("*")):
            if p.is_file():
                h.update(f"\0{p.relative_to(context)}\0".encode() + p.read_bytes())
        key = h.hexdigest()
        with self._lock:
            lock = self._shared_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._shared:
                self._shared[key] = self._build(name, text, context, build_args=build_args, secrets={},
                                                target=target, values=values)
            return self._shared[key]

    def _build(self, name: str, text: str, context: Path, *, build_args: Mapping[str, str],
               secrets: Mapping[str, str], target: str | None, values: Iterable[str]) -> _Build:
        slot = self._slot(name)
        record = slot / "record"
        record.mkdir()
        record.chmod(0o1777)  # a RUN after `USER node` records too (chroot isolation keeps the uid)
        df = slot / "Dockerfile"
        df.write_text(text, encoding="utf-8")
        extra = ["--volume", f"{record}:{RECORD_MOUNT}"]
        if target:
            extra += ["--target", target]
        for k, v in build_args.items():
            extra += ["--build-arg", f"{k}={v}"]
        sdir = slot / "secrets"
        sdir.mkdir(mode=0o700)
        for sid, v in secrets.items():
            src = sdir / sid
            src.write_text(v, encoding="utf-8")
            extra += ["--secret", f"id={sid},src={src}"]
        tag = f"localhost/buildproof/{slot.name.lower()}:latest"
        t0 = time.monotonic()
        proc = self.store.bud(df, tag, context, *extra)
        shutil.rmtree(sdir)
        stderr = redact(proc.stderr, values)
        return _Build(proc.returncode == 0, tag, record, stderr, time.monotonic() - t0)

    def _rmi(self, *tags: str) -> None:
        subprocess.run(self.store.cmd("rmi", "-f", *tags), capture_output=True, stdin=subprocess.DEVNULL)

    def _config(self, tag: str) -> dict[str, object]:
        out = self.store.run("inspect", "--type", "image", tag).stdout
        data = json.loads(out)
        cfg = (data.get("Docker") or {}).get("config") or (data.get("OCIv1") or {}).get("config") or {}
        return dict(cfg)

    # ---- the proof ----
    def prove(self, case: Case) -> ProofResult:
        t0 = time.monotonic()
        result = ProofResult(case.name)
        secrets = dict(case.secrets)
        values = [v for v in secrets.values() if v]
        before_text = (case.before / case.dockerfile).read_text(encoding="utf-8")
        after_text = (case.after / (case.after_dockerfile or case.dockerfile)).read_text(encoding="utf-8")
        reasons = [f"before: {r}" for r in unprovable_reasons(before_text)]
        reasons += [f"after: {r}" for r in unprovable_reasons(after_text)]
        ids, unknown = secret_names(after_text, secrets)
        if unknown:
            reasons.append(f"after: secret mount id {', '.join(sorted(set(unknown)))} names no secret of the case")
        if reasons:
            result.unprovable = "; ".join(reasons)
            return result
        programs = command_words(before_text) | command_words(after_text)
        for tree in (case.before, case.after):
            for script in tree.rglob("*.sh"):
                programs |= command_words(script.read_text(encoding="utf-8", errors="replace"), script=True)
        base = self.base(programs)
        after_args = {k: v for k, v in secrets.items() if k in declared_args(after_text)}
        after_secrets = {sid: secrets[name] for sid, name in ids.items()}
        tags: list[str] = []
        try:
            before = self._before(f"{case.name}-before", rewrite_from(before_text, base), case.before,
                                  build_args=secrets, target=case.target, values=values, tags=tags)
            if not before.ok:
                result.unprovable = f"the before build fails here: {_tail(before.stderr)}"
                return result
            after = self._build(f"{case.name}-after", rewrite_from(after_text, base), case.after,
                                build_args=after_args, secrets=after_secrets, target=case.target, values=values)
            tags.append(after.tag)
            if not after.ok:
                result.differences.append(f"the after build fails: {_tail(after.stderr)}")
                return result
            b_calls, a_calls = load_calls(before.record), load_calls(after.record)
            _compare_calls(result, "", b_calls, a_calls, secrets)
            result.calls = len(b_calls)
            self._scan_after(result, after.tag, secrets, "")
            self._runtime(result, case, before.tag, after.tag, secrets)
            if re.search(r"^[ \t]*ONBUILD[ \t]", before_text + "\n" + after_text, re.I | re.M):
                self._children(result, case, before.tag, after.tag, secrets, after_args, after_secrets, tags)
        finally:
            self._rmi(*tags)
            result.seconds = time.monotonic() - t0
        return result

    def _children(self, result: ProofResult, case: Case, before_tag: str, after_tag: str,
                  secrets: Mapping[str, str], after_args: Mapping[str, str], after_secrets: Mapping[str, str],
                  tags: list[str]) -> None:
        values = list(secrets.values())
        cb = self._before(f"{case.name}-child-before", f"FROM {before_tag}\n", case.before, build_args=secrets,
                          target=None, values=values, tags=tags)
        ca = self._build(f"{case.name}-child-after", f"FROM {after_tag}\n", case.after, build_args=after_args,
                         secrets=after_secrets, target=None, values=values)
        tags.append(ca.tag)
        if not cb.ok:
            result.unprovable = f"the before child build (ONBUILD) fails here: {_tail(cb.stderr)}"
            return
        if not ca.ok:
            result.differences.append(f"the after child build (ONBUILD) fails: {_tail(ca.stderr)}")
        else:
            b_calls, a_calls = load_calls(cb.record), load_calls(ca.record)
            _compare_calls(result, "child ", b_calls, a_calls, secrets)
            result.calls += len(b_calls)
            self._scan_after(result, ca.tag, secrets, "child ")
        # a child built without the secret (ONBUILD consumers are optional) builds after as before
        na = self._build(f"{case.name}-child-after-nosecret", f"FROM {after_tag}\n", case.after, build_args={},
                         secrets={}, target=None, values=values)
        tags.append(na.tag)
        if na.ok:
            return
        nb = self._before(f"{case.name}-child-before-nosecret", f"FROM {before_tag}\n", case.before,
                          build_args={}, target=None, values=values, tags=tags)
        if nb.ok:
            result.differences.append(
                f"a child image built without the secret fails after (it built before): {_tail(na.stderr)}")

    def _scan_after(self, result: ProofResult, tag: str, secrets: Mapping[str, str], prefix: str) -> None:
        archive = self.workdir / f"{tag.split('/')[-1].split(':')[0]}.tar"
        self.store.push(tag, "docker-archive", archive)
        try:
            image = load_image(archive)
            found: list[Leak] = []
            raw = image.raw_config
            for top, value in raw.items():
                if top == "history":
                    for i, h in enumerate(value or []):
                        for k, v in (h or {}).items():
                            for name, sv in secrets.items():
                                if isinstance(v, str) and _holds(v, sv):
                                    found.append(Leak(name, f"{prefix}history #{i} {k}"))
                elif isinstance(value, dict):
                    for k, v in value.items():
                        if k == "Env" and isinstance(v, list):
                            for item in v:
                                for name, sv in secrets.items():
                                    if _holds(str(item), sv):
                                        found.append(Leak(name, f"{prefix}{top}.Env {str(item).split('=')[0]}"))
                            continue
                        blob = json.dumps(v)
                        for name, sv in secrets.items():
                            if _holds(blob, sv) or _holds(str(v), sv):
                                found.append(Leak(name, f"{prefix}{top}.{k}"))
                else:
                    blob = json.dumps(value)
                    for name, sv in secrets.items():
                        if _holds(blob, sv):
                            found.append(Leak(name, f"{prefix}{top}"))
            for layer in image.layers:
                for path, data in layer.files():
                    if data is None:
                        continue
                    for name, sv in secrets.items():
                        if _holds(data, sv):
                            found.append(Leak(name, f"{prefix}layer {layer.index} {path}"))
            for leak in found:
                if leak not in result.leaks:
                    result.leaks.append(leak)
        finally:
            archive.unlink(missing_ok=True)

    def _runtime(self, result: ProofResult, case: Case, before_tag: str, after_tag: str,
                 secrets: Mapping[str, str]) -> None:
        """(d): a secret the before image's config Env carried leaves the config and is listed for deployers."""
        before_env = _env_list(self._config(before_tag).get("Env"))
        after_env = _env_list(self._config(after_tag).get("Env"))
        listed = deployer_keys(case.after)
        for var, val in before_env.items():
            names = [n for n, v in secrets.items() if v and v in val]
            if not names:
                continue
            if var in after_env and any(secrets[n] in after_env[var] for n in names):
                continue  # still baked: reported as a config leak by the scan
            if var in after_env:
                result.differences.append(f"runtime: config Env still sets {var} (to another value)")
            if var not in listed:
                result.lost.append(Lost("runtime", var, "not listed for deployers (.env.example, compose environment)"))


def _env_list(env: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env or []:  # type: ignore[attr-defined]
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def deployer_keys(tree: Path) -> set[str]:
    """Variables a deployer is told to supply: keys of ``*.env.example`` files and compose ``environment:``."""
    keys: set[str] = set()
    for p in tree.rglob("*"):
        if not p.is_file():
            continue
        name = p.name.lower()
        if name.endswith(".example") and ".env" in name:
            for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
                m = re.match(r"^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=", line)
                if m:
                    keys.add(m[1])
        elif re.fullmatch(r"(docker-)?compose[\w.-]*\.ya?ml", name):
            from ruamel.yaml import YAML

            try:
                doc = YAML(typ="safe").load(p.read_text(encoding="utf-8"))
            except Exception:  # noqa: BLE001 - a broken compose file lists nothing
                continue
            for svc in ((doc or {}).get("services") or {}).values():
                env = (svc or {}).get("environment") or {}
                if isinstance(env, dict):
                    keys.update(str(k) for k in env)
                else:
                    keys.update(str(e).split("=", 1)[0] for e in env)
    return keys


def _tail(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-3:])[-400:]


def _inert(call: Call) -> bool:
    for progs, words in INERT_CALLS:
        if call.prog in progs.split() and all(any(a in call.argv for a in w.split("|")) for w in words):
            return True
    return False


def _seen(call: Call, value: str) -> set[str]:
    """The channels through which a call sees a value."""
    ch: set[str] = set()
    if not _inert(call):
        ch |= {f"env {k}" for k, v in call.env.items() if _holds(v, value)}
    if any(_holds(a, value) for a in call.argv):
        ch.add("argv")
    if _holds(call.stdin, value):
        ch.add("stdin")
    ch |= {f"file {p}" for p, data in call.files.items() if _holds(data, value)}
    return ch


def _key(call: Call, values: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """A call without its secret values (a lost value shows as a lost secret, not another call)."""
    argv = []
    for a in call.argv:
        for v in values:
            a = a.replace(v, "")
        argv.append(a)
    return call.prog, tuple(argv)


def _undo_only(call: Call) -> bool:
    return bool(call.emulated) and all(EMULATIONS[i - 1].undo for i in call.emulated if 0 < i <= len(EMULATIONS))


def _compare_calls(result: ProofResult, prefix: str, before: list[Call], after: list[Call],
                   secrets: Mapping[str, str]) -> None:
    values = sorted((v for v in secrets.values() if v), key=len, reverse=True)
    bk = [_key(c, values) for c in before]
    ak = [_key(c, values) for c in after]
    pairs: list[tuple[Call, Call]] = []
    sm = difflib.SequenceMatcher(a=bk, b=ak, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            pairs += zip(before[i1:i2], after[j1:j2], strict=True)
            continue
        bs, as_ = before[i1:i2], after[j1:j2]
        # the same programs in the same order with other arguments: pair them, report the argv
        if len(bs) == len(as_) and all(b.prog == a.prog for b, a in zip(bs, as_, strict=True)):
            for b, a in zip(bs, as_, strict=True):
                result.differences.append(f"{prefix}argv differs: before {b.label(values)} / after {a.label(values)}")
                pairs.append((b, a))
            continue
        for b in bs:
            result.differences.append(f"{prefix}call missing after: {b.label(values)}")
            for name, v in secrets.items():
                for ch in sorted(_seen(b, v)):
                    result.lost.append(Lost(prefix + b.label(values), name, ch))
        for a in as_:
            if not _undo_only(a):
                result.differences.append(f"{prefix}call added after: {a.label(values)}")
    for b, a in pairs:
        for name, v in secrets.items():
            sb, sa = _seen(b, v), _seen(a, v)
            for ch in sorted(sb - sa):
                result.lost.append(Lost(prefix + b.label(values), name, ch))
            for ch in sorted(sa - sb):
                result.differences.append(f"{prefix}{a.label(values)} sees {name} after but not before ({ch})")


_BASH = """#!/bin/sh
# dash standing in for bash (SHELL ["/bin/bash", "-o", "pipefail", "-c"]): dash has no pipefail
n=$#
while [ "$n" -gt 0 ]; do
    a=$1; shift; n=$((n - 1))
    case "$a" in
        -o|-eo|-oe)
            if [ "$n" -gt 0 ] && [ "$1" = pipefail ]; then
                shift; n=$((n - 1)); [ "$a" = -o ] && continue; a=-e
            fi ;;
    esac
    set -- "$@" "$a"
done
exec /bin/sh "$@"
"""


def _stub_rootfs(root: Path, stubs: Sequence[str], script: str, awk: str, tsv: str) -> None:
    """The stub base image's file tree: busybox applets, dash as /bin/sh, one stub per program."""
    if root.exists():
        shutil.rmtree(root)
    for d in ("bin", "usr/bin", "usr/local/bin", "usr/sbin", "sbin", "tmp", "root", "etc", "home", "var/tmp",
              STUB_LIB.lstrip("/"), "proc", "dev", "run"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    busybox = buildah_util.static_busybox()
    assert busybox is not None
    shutil.copy2(busybox, root / "bin/busybox")
    for applet in sorted(busybox_applets()):
        if applet in ("busybox", "sh", "ash") or "/" in applet or applet in stubs:
            continue
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    dash = shutil.which("dash")
    if dash:
        # dash and the libraries it links, at the same paths
        shutil.copy2(dash, root / "bin/sh")
        ldd = subprocess.run(["ldd", dash], capture_output=True, text=True).stdout
        for lib in re.findall(r"(/\S+\.so[.\d]*)", ldd):
            dst = root / lib.lstrip("/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(lib), dst)
    else:  # busybox ash runs its own applets before $PATH: applet-named stubs (wget) are not reached
        (root / "bin/sh").symlink_to("busybox")
    (root / "bin/ash").symlink_to("busybox")
    # bash for SHELL ["/bin/bash", "-o", "pipefail", "-c"]: dash without the pipefail it does not have
    (root / "bin/bash").write_text(_BASH, encoding="utf-8")
    (root / "bin/bash").chmod(0o755)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n"
                                     "www-data:x:33:33::/var/www:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n",
                                     encoding="utf-8")
    (root / "etc/group").write_text("root:x:0:\nnode:x:1000:\nwww-data:x:33:\nnogroup:x:65534:\n", encoding="utf-8")
    (root / "home/node").mkdir()
    lib = root / STUB_LIB.lstrip("/")
    (lib / "stub").write_text(script, encoding="utf-8")
    (lib / "stub").chmod(0o755)
    (lib / "emulate.awk").write_text(awk, encoding="utf-8")
    (lib / "emulations.tsv").write_text(tsv, encoding="utf-8")
    for prog in stubs:
        (root / "usr/local/bin" / prog).symlink_to(f"{STUB_LIB}/stub")


# ---- module-level conveniences ------------------------------------------------------------------

def prove(case: Case, prover: Prover | None = None) -> ProofResult:
    """Prove one case (a :class:`Prover` in a temporary store when none is given)."""
    if prover is not None:
        return prover.prove(case)
    with tempfile.TemporaryDirectory(prefix="buildproof-") as tmp:
        store = buildah_util.BuildahStore(Path(tmp) / "store")
        return Prover(store, Path(tmp) / "work").prove(case)



_SESSION: dict[str, Prover] = {}
#: Lines for the end of a pytest run (tests/conftest.py prints them): the corpus table and summary.
REPORT: list[str] = []


def session_prover(tmp_path_factory: object, programs: Iterable[str] = ()) -> Prover:
    """The pytest session's :class:`Prover` (in :func:`buildah_util.session_store`'s store); skips
    the test when buildah or busybox-static is missing."""
    store = buildah_util.session_store(tmp_path_factory)
    if "prover" not in _SESSION:
        work = Path(tmp_path_factory.mktemp("buildproof"))  # type: ignore[attr-defined]
        _SESSION["prover"] = Prover(store, work, programs)
    prover = _SESSION["prover"]
    prover.programs |= set(programs)
    return prover


# ---- the corpus (fixtures/corpus/README.md) -----------------------------------------------------

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
ROOT = Path(__file__).resolve().parents[1]

#: Cases the tool gets wrong today (their proof fails): the ONE list the corpus test marks
#: ``xfail(strict=True)``. Remove an entry when the core fixes it (the test then insists it passes).
KNOWN_WRONG: dict[str, str] = {}


@dataclass(frozen=True)
class CorpusCase:
    name: str
    root: Path
    description: str
    dockerfile: str
    target: str | None
    secrets: Mapping[str, str] = field(repr=False)
    expect: str
    options: tuple[str, ...] = ()

    @property
    def input(self) -> Path:
        return self.root / "input"


def load_case(root: Path) -> CorpusCase:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    data = tomllib.loads((root / "case.toml").read_text(encoding="utf-8"))
    expect = data.get("expect", "migrated")
    if expect not in ("migrated", "human"):
        raise ValueError(f"{root / 'case.toml'}: expect must be 'migrated' or 'human', not {expect!r}")
    secrets = {str(k): str(v) for k, v in (data.get("secrets") or {}).items()}
    if not secrets:
        raise ValueError(f"{root / 'case.toml'}: [secrets] names no secret")
    dockerfile = str(data.get("dockerfile", "Dockerfile"))
    if not (root / "input" / dockerfile).is_file():
        raise ValueError(f"{root / 'case.toml'}: no input/{dockerfile}")
    return CorpusCase(root.name, root, str(data.get("description", "")), dockerfile, data.get("target"),
                      secrets, expect, tuple(str(o) for o in data.get("options", ())))


def load_corpus(corpus: Path = CORPUS) -> list[CorpusCase]:
    return [load_case(d) for d in sorted(corpus.iterdir()) if (d / "case.toml").is_file()]


@dataclass
class CaseOutcome:
    case: CorpusCase
    exit_code: int
    changed: bool
    proof: ProofResult
    tool_seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.problems:
            return "FAIL"
        return "unprovable" if self.proof.unprovable else "ok"


def run_tool(case: CorpusCase, work: Path) -> tuple[Path, int, float]:
    """Copy the case's input to ``work`` and run ``migrate-secrets --apply`` there (this checkout's code)."""
    import sys

    after = work / case.name
    shutil.copytree(case.input, after, symlinks=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env["XDG_STATE_HOME"] = str(work / f".state-{case.name}")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "codemod", "--apply", "--no-backup", *case.options, "."],
                          cwd=after, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    return after, proc.returncode, time.monotonic() - t0


def check_case(case: CorpusCase, prover: Prover, work: Path) -> CaseOutcome:
    """Run the tool on one case, prove the result, and judge it against the case's ``expect``."""
    after, rc, tool_s = run_tool(case, work)
    before_text = (case.input / case.dockerfile).read_text(encoding="utf-8")
    after_text = (after / case.dockerfile).read_text(encoding="utf-8")
    changed = before_text != after_text
    proof = prover.prove(Case(case.name, case.input, after, case.dockerfile, case.target, case.secrets))
    out = CaseOutcome(case, rc, changed, proof, tool_s)
    if case.expect == "migrated":
        if rc != 0:
            out.problems.append(f"the tool exited {rc}, expected 0 (migrated)")
        if not changed:
            out.problems.append("the tool left the Dockerfile unchanged")
        if not proof.unprovable and not proof.equivalent:
            out.problems.append("the proof fails")
    else:
        if rc != 1:
            out.problems.append(f"the tool exited {rc}, expected 1 (reported for a human)")
        kept = set(after_text.splitlines())
        for name in case.secrets:
            for line in before_text.splitlines():
                if re.search(rf"\b{re.escape(name)}\b", line) and line not in kept:
                    out.problems.append(f"a line naming {name} changed (left for a human, it must stay)")
                    break
        if proof.lost or proof.differences:
            out.problems.append("the proof shows a consumer losing its secret")
    return out


def prove_corpus(cases: Sequence[CorpusCase], prover: Prover, work: Path, jobs: int = 2) -> list[CaseOutcome]:
    from concurrent.futures import ThreadPoolExecutor

    for case in cases:  # one stub base for the whole corpus
        prover.programs |= command_words((case.input / case.dockerfile).read_text(encoding="utf-8"))
        for script in case.input.rglob("*.sh"):
            prover.programs |= command_words(script.read_text(encoding="utf-8", errors="replace"), script=True)
    prover.base()
    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda c: check_case(c, prover, work), cases))


def _served(o: CaseOutcome) -> bool:
    """Migrated: the proof passes. Left for a human: no consumer lost anything (the leak is expected)."""
    if o.case.expect == "human":
        return not (o.proof.lost or o.proof.differences)
    return o.proof.equivalent


def summary_line(outcomes: Sequence[CaseOutcome]) -> str:
    provable = [o for o in outcomes if not o.proof.unprovable]
    equivalent = sum(1 for o in provable if _served(o))
    leaks = sum(len(o.proof.leaks) for o in provable if o.case.expect == "migrated")
    reasons: dict[str, int] = {}
    for o in outcomes:
        if o.proof.unprovable:
            for r in o.proof.unprovable.split("; "):
                r = re.sub(r"^(before|after): ", "", r)
                reasons[r] = reasons.get(r, 0) + 1
    why = ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items()))
    unprovable = sum(1 for o in outcomes if o.proof.unprovable)
    return (f"equivalent {equivalent} of {len(provable)}, leaks {leaks}, unprovable {unprovable}"
            + (f" ({why})" if why else ""))


def table(outcomes: Sequence[CaseOutcome]) -> str:
    rows = [("case", "expect", "exit", "result", "tool s", "build s", "")]
    for o in outcomes:
        p = o.proof
        if p.unprovable:
            res = "unprovable"
        elif p.equivalent or (o.case.expect == "human" and _served(o)):
            res = f"equivalent ({p.calls} calls)" + (f", {len(p.leaks)} leaks kept" if p.leaks else "")
        else:
            res = f"lost {len(p.lost)}, leaks {len(p.leaks)}, differences {len(p.differences)}"
        note = "known wrong" if o.case.name in KNOWN_WRONG else ""
        if o.problems:
            note = (note + "; " if note else "") + "; ".join(o.problems)
        rows.append((o.case.name, o.case.expect, str(o.exit_code), res, f"{o.tool_seconds:.1f}",
                     f"{p.seconds:.1f}", note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] for r in rows)
