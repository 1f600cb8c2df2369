"""What build tools do by themselves, re-established by running the real tools (docs/tool-behaviour.md).

Each test runs a real tool with a throwaway HOME and a clean environment against a loopback HTTP
server that records what it is sent, or looks at the files the tool wrote. No network but
127.0.0.1; fake values only. npm, pip and git are on the machine; bundler and composer are
installed by .ci/run (no skip for them); docker, mvn and cargo are on this kind of machine and
skip only where absent.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TOKEN = "tok-FAKE-1234"


class Loopback:
    """An HTTP server on 127.0.0.1 that serves ``files`` (or a directory) and records each request.

    With ``challenge`` a request without ``Authorization`` gets 401 and ``WWW-Authenticate: Basic``.
    Used as a proxy (``http_proxy``) it records the absolute URL as the path.
    """

    def __init__(self, files: dict[str, bytes] | None = None, root: Path | None = None,
                 challenge: bool = False) -> None:
        self.files = files or {}
        self.root = root
        self.challenge = challenge
        self.requests: list[tuple[str, str, str | None]] = []
        lb = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
                pass

            def _reply(self, code: int, body: bytes, extra: tuple[tuple[str, str], ...] = ()) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                auth = self.headers.get("Authorization")
                lb.requests.append((self.command, self.path, auth))
                if lb.challenge and not auth:
                    return self._reply(401, b"{}", (("WWW-Authenticate", 'Basic realm="loopback"'),))
                path = self.path.split("?")[0]
                if path in lb.files:
                    return self._reply(200, lb.files[path])
                if lb.root is not None:
                    f = lb.root / path.lstrip("/")
                    if f.is_file():
                        return self._reply(200, f.read_bytes())
                return self._reply(404, b"{}")

            do_HEAD = do_GET

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def auths(self) -> list[str | None]:
        return [a for _, _, a in self.requests]

    def basic(self) -> list[str]:
        """The decoded ``user:password`` of every request that carried Basic auth."""
        return [base64.b64decode(a.split(None, 1)[1]).decode() for a in self.auths()
                if a and a.lower().startswith("basic ")]

    def clear(self) -> None:
        self.requests.clear()


@pytest.fixture
def serve() -> Iterator[Callable[..., Loopback]]:
    started: list[Loopback] = []

    def start(**kw: object) -> Loopback:
        lb = Loopback(**kw)  # type: ignore[arg-type]
        started.append(lb)
        return lb

    yield start
    for lb in started:
        lb.server.shutdown()
        lb.server.server_close()


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """PATH, a throwaway HOME and nothing else from the caller (no PIP_*, NPM_*, BUNDLE_*, GIT_*...)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


def holding(root: Path, needle: str) -> list[str]:
    """Files under ``root`` (relative paths) whose bytes contain ``needle``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and needle.encode() in p.read_bytes())


# --- npm --------------------------------------------------------------------------------------------------


def npm_env(home: Path, **extra: str) -> dict[str, str]:
    return clean_env(home, NPM_CONFIG_GLOBALCONFIG=str(home / "global-npmrc"), NPM_CONFIG_UPDATE_NOTIFIER="false",
                     **extra)


def npm_project(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    proj = home / "app"
    proj.mkdir(parents=True)
    (proj / "package.json").write_text('{"name":"app","version":"1.0.0"}\n')
    return home, proj


def packument(lb_url: str) -> dict[str, bytes]:
    doc = {"name": "somepkg", "dist-tags": {"latest": "1.0.0"},
           "versions": {"1.0.0": {"name": "somepkg", "version": "1.0.0",
                                  "dist": {"tarball": f"{lb_url}/somepkg/-/somepkg-1.0.0.tgz", "shasum": "0"}}}}
    return {"/somepkg": json.dumps(doc).encode()}


def test_npm_config_set_and_delete_use_the_user_npmrc(tmp_path: Path) -> None:
    home, proj = npm_project(tmp_path)
    env = npm_env(home)
    assert run(["npm", "config", "set", "//reg.example/:_authToken", TOKEN], proj, env).returncode == 0
    assert (home / ".npmrc").read_text() == f"//reg.example/:_authToken={TOKEN}\n"
    assert not (proj / ".npmrc").exists()
    # npm's debug log (~/.npm/_logs, kept for the last 10 runs) records the argv: the token too
    logs = [f for f in holding(home, TOKEN) if f != ".npmrc"]
    assert len(logs) == 1 and logs[0].startswith(".npm/_logs/")
    assert run(["npm", "config", "delete", "//reg.example/:_authToken"], proj, env).returncode == 0
    assert holding(home, TOKEN) == logs  # the emptied ~/.npmrc is deleted; the log stays
    shutil.rmtree(home / ".npm" / "_logs")
    assert run(["npm", "config", "set", "--logs-max=0", "//reg.example/:_authToken", TOKEN], proj, env).returncode == 0
    assert holding(home, TOKEN) == [".npmrc"]  # --logs-max=0 writes no log


def test_npm_config_delete_misses_a_project_npmrc_unless_location_project(tmp_path: Path) -> None:
    home, proj = npm_project(tmp_path)
    env = npm_env(home)
    npmrc = proj / ".npmrc"
    text = f"# private registry\nregistry=https://reg.example/\n//reg.example/:_authToken={TOKEN}\n"
    npmrc.write_text(text)
    done = run(["npm", "config", "delete", "//reg.example/:_authToken"], proj, env)
    assert done.returncode == 0  # says nothing ...
    assert npmrc.read_text() == text  # ... and leaves the key where it was
    done = run(["npm", "config", "delete", "--location=project", "//reg.example/:_authToken"], proj, env)
    assert done.returncode == 0
    assert holding(home, TOKEN) == []
    # npm rewrites the file: other keys stay, comments are dropped
    assert npmrc.read_text() == "registry=https://reg.example/\n"


def test_npm_expands_env_in_npmrc_and_sends_it(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    home, proj = npm_project(tmp_path)
    lb = serve()
    lb.files.update(packument(lb.url))
    (proj / ".npmrc").write_text(f"//127.0.0.1:{lb.port}/:_authToken=${{NPM_TOKEN}}\n")
    view = ["npm", "view", "somepkg", "version", "--registry", lb.url + "/"]
    done = run(view, proj, npm_env(home, NPM_TOKEN=TOKEN))
    assert done.stdout.strip() == "1.0.0", done.stderr
    assert set(lb.auths()) == {f"Bearer {TOKEN}"}
    lb.clear()
    run(view, proj, npm_env(home))  # NPM_TOKEN unset: the placeholder is sent as it stands
    assert set(lb.auths()) == {"Bearer ${NPM_TOKEN}"}


def test_npm_reads_no_token_variable_by_itself_but_npm_config_ones(tmp_path: Path,
                                                                    serve: Callable[..., Loopback]) -> None:
    home, proj = npm_project(tmp_path)
    lb = serve()
    lb.files.update(packument(lb.url))
    view = ["npm", "view", "somepkg", "version", "--registry", lb.url + "/"]
    done = run(view, proj, npm_env(home, NODE_AUTH_TOKEN=TOKEN, NPM_TOKEN=TOKEN))
    assert done.stdout.strip() == "1.0.0", done.stderr
    assert lb.auths() and set(lb.auths()) == {None}
    lb.clear()
    run(view, proj, npm_env(home, **{f"npm_config_//127.0.0.1:{lb.port}/:_authToken": TOKEN}))
    assert set(lb.auths()) == {f"Bearer {TOKEN}"}


# --- pip --------------------------------------------------------------------------------------------------


def pip_env(home: Path, **extra: str) -> dict[str, str]:
    return clean_env(home, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
                     PIP_RETRIES="0", **extra)


PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", "dl", "somepkg==1.0"]


def test_pip_sends_credentials_from_index_url_variables(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = serve(challenge=True)
    pub, priv = f"{lb.url}/pub", f"http://u:{TOKEN}@127.0.0.1:{lb.port}/priv"
    run(PIP_DOWNLOAD, tmp_path, pip_env(tmp_path, PIP_INDEX_URL=pub, PIP_EXTRA_INDEX_URL=priv))
    assert [p for _, p, a in lb.requests if a] == ["/priv/somepkg/"]
    assert lb.basic() == [f"u:{TOKEN}"]
    lb.clear()
    run(PIP_DOWNLOAD, tmp_path, pip_env(tmp_path, PIP_INDEX_URL=priv.replace("/priv", "/simple")))
    assert lb.basic() == [f"u:{TOKEN}"]


def test_pip_reads_netrc_for_the_index_host(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = serve(challenge=True)
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin nu\npassword {TOKEN}\n")
    netrc.chmod(0o600)
    run(PIP_DOWNLOAD, tmp_path, pip_env(tmp_path, PIP_INDEX_URL=f"{lb.url}/simple"))
    assert f"nu:{TOKEN}" in lb.basic()


def test_pip_config_set_writes_the_user_file_and_unset_removes_the_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, PIP_DISABLE_PIP_VERSION_CHECK="1")
    user = tmp_path / ".config" / "pip" / "pip.conf"
    site = Path(sys.prefix) / "pip.conf"
    target = site if site.exists() else user  # pip's own rule: site when the interpreter has one
    url = f"https://u:{TOKEN}@pypi.example/simple"
    pip = [sys.executable, "-m", "pip", "config"]
    done = run([*pip, "set", "global.index-url", url], tmp_path, env)
    assert f"Writing to {target}" in done.stdout + done.stderr
    if target != user:
        pytest.skip("this interpreter has a site pip.conf; not touching it")
    assert user.read_text() == f"[global]\nindex-url = {url}\n\n"
    assert run([*pip, "unset", "global.index-url"], tmp_path, env).returncode == 0
    assert user.read_text() == ""  # the section goes too; the empty file stays
    assert run([*pip, "unset", "global.index-url"], tmp_path, env).returncode == 1  # a second unset fails


# --- git --------------------------------------------------------------------------------------------------


def git_env(home: Path) -> dict[str, str]:
    return clean_env(home, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME="t",
                     GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")


def dumb_http_repo(tmp_path: Path, serve: Callable[..., Loopback]) -> Loopback:
    """A bare repository with one commit and a tag, served over git's dumb HTTP, credentials required."""
    env = git_env(tmp_path)
    src, root = tmp_path / "src", tmp_path / "srv"
    root.mkdir()
    for argv, cwd in ((["git", "init", "-q", "-b", "main", str(src)], tmp_path),
                      (["git", "commit", "-q", "--allow-empty", "-m", "init"], src),
                      (["git", "tag", "v1"], src),
                      (["git", "clone", "-q", "--bare", str(src), str(root / "r.git")], tmp_path),
                      (["git", "update-server-info"], root / "r.git")):
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return serve(root=root, challenge=True)


def test_git_clone_keeps_url_credentials_in_git_config_only(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = dumb_http_repo(tmp_path, serve)
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home)
    url = f"http://u:{TOKEN}@127.0.0.1:{lb.port}/r.git"
    assert run(["git", "clone", "-q", url, "d"], home, env).returncode == 0
    assert f"u:{TOKEN}" in lb.basic()
    assert holding(home, TOKEN) == ["d/.git/config"]
    # the reflog names the URL without its credentials
    assert f"clone: from http://127.0.0.1:{lb.port}/r.git" in (home / "d/.git/logs/HEAD").read_text()
    run(["git", "-C", "d", "fetch", "-q"], home, env)  # FETCH_HEAD is written anonymised too
    assert holding(home, TOKEN) == ["d/.git/config"]
    run(["git", "-C", "d", "remote", "set-url", "origin", f"{lb.url}/r.git"], home, env)
    assert holding(home, TOKEN) == []


def test_git_insteadof_undo(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = dumb_http_repo(tmp_path, serve)
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home)
    host = f"127.0.0.1:{lb.port}"
    section = f"url.http://x:{TOKEN}@{host}/"
    run(["git", "config", "--global", f"{section}.insteadOf", f"http://{host}/"], home, env)
    assert run(["git", "clone", "-q", f"http://{host}/r.git", "d"], home, env).returncode == 0
    assert f"x:{TOKEN}" in lb.basic()
    assert holding(home, TOKEN) == [".gitconfig"]  # the clone records the URL as written
    assert run(["git", "config", "--global", "--remove-section", section], home, env).returncode == 0
    assert holding(home, TOKEN) == []
    assert run(["git", "config", "--global", "--remove-section", section], home, env).returncode != 0
    # two insteadOf values: a plain --unset fails and leaves both; --unset-all removes the section
    run(["git", "config", "--global", f"{section}.insteadOf", f"http://{host}/"], home, env)
    run(["git", "config", "--global", "--add", f"{section}.insteadOf", f"git@{host}:"], home, env)
    assert run(["git", "config", "--global", "--unset", f"{section}.insteadOf"], home, env).returncode == 5
    assert holding(home, TOKEN) == [".gitconfig"]
    assert run(["git", "config", "--global", "--unset-all", f"{section}.insteadOf"], home, env).returncode == 0
    assert holding(home, TOKEN) == []


def test_git_credential_store_writes_git_credentials(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = dumb_http_repo(tmp_path, serve)
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home)
    run(["git", "config", "--global", "credential.helper", "store"], home, env)
    assert run(["git", "clone", "-q", f"http://u:{TOKEN}@127.0.0.1:{lb.port}/r.git", "d"], home, env).returncode == 0
    run(["git", "-C", "d", "remote", "set-url", "origin", f"{lb.url}/r.git"], home, env)
    assert holding(home, TOKEN) == [".git-credentials"]  # the URL's credentials were stored on success
    assert (home / ".git-credentials").read_text() == f"http://u:{TOKEN}@127.0.0.1%3a{lb.port}\n"
    run(["git", "credential", "reject"], home, env, stdin=f"protocol=http\nhost=127.0.0.1:{lb.port}\n\n")
    assert holding(home, TOKEN) == []


# --- bundler (apt ruby-bundler, installed by .ci/run) ---------------------------------------------------------


def test_bundle_config_scope_and_unset(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app, bare = home / "app", home / "bare"
    app.mkdir(parents=True)
    bare.mkdir()
    (app / "Gemfile").write_text("source 'https://rubygems.org'\n")
    env = clean_env(home)
    assert run(["bundle", "config", "set", "gems.example.com", f"u:{TOKEN}"], app, env).returncode == 0
    assert holding(home, TOKEN) == ["app/.bundle/config"]  # no flag, inside an app: local
    assert f'BUNDLE_GEMS__EXAMPLE__COM: "u:{TOKEN}"' in (app / ".bundle/config").read_text()
    run(["bundle", "config", "set", "--global", "gems.example.com", f"u:{TOKEN}"], app, env)
    assert holding(home, TOKEN) == [".bundle/config", "app/.bundle/config"]
    assert run(["bundle", "config", "unset", "gems.example.com"], app, env).returncode == 0
    assert holding(home, TOKEN) == []  # no flag: removed from both
    assert run(["bundle", "config", "set", "gems.example.com", f"u:{TOKEN}"], bare, env).returncode == 0
    assert holding(home, TOKEN) == [".bundle/config"]  # no flag, no Gemfile: global
    run(["bundle", "config", "unset", "--local", "gems.example.com"], app, env)
    assert holding(home, TOKEN) == [".bundle/config"]  # --local leaves the global one
    run(["bundle", "config", "unset", "--global", "gems.example.com"], app, env)
    assert holding(home, TOKEN) == []


def test_bundler_reads_the_host_variable_for_a_source(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    proxy = serve()  # the source host is reached through a loopback proxy: nothing leaves the machine
    home = tmp_path / "home"
    app = home / "app"
    app.mkdir(parents=True)
    (app / "Gemfile").write_text("source 'http://my-gems.example.com/'\ngem 'rack'\n")
    seen: dict[str, list[str]] = {}
    for name in ("BUNDLE_MY___GEMS__EXAMPLE__COM", "bundle_my___gems__example__com", "BUNDLE_MY_GEMS_EXAMPLE_COM"):
        proxy.clear()
        run(["bundle", "lock"], app, clean_env(home, http_proxy=proxy.url, BUNDLE_RETRY="0", **{name: f"u:{TOKEN}"}))
        assert proxy.requests and proxy.requests[0][1] == "http://my-gems.example.com/versions"
        seen[name] = proxy.basic()
    assert seen["BUNDLE_MY___GEMS__EXAMPLE__COM"] and set(seen["BUNDLE_MY___GEMS__EXAMPLE__COM"]) == {f"u:{TOKEN}"}
    assert seen["bundle_my___gems__example__com"] == [] and seen["BUNDLE_MY_GEMS_EXAMPLE_COM"] == []


# --- composer (apt composer, installed by .ci/run) -------------------------------------------------------------


def test_composer_config_auth_and_unset(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = home / "app"
    app.mkdir(parents=True)
    (app / "composer.json").write_text("{}\n")
    env = clean_env(home, COMPOSER_HOME=str(home / "ch"), COMPOSER_NO_INTERACTION="1")
    key = "http-basic.repo.example.com"
    assert run(["composer", "config", "-g", key, "u", TOKEN], app, env).returncode == 0
    assert holding(home, TOKEN) == ["ch/auth.json"]
    assert run(["composer", "config", key, "u", TOKEN], app, env).returncode == 0
    assert holding(home, TOKEN) == ["app/auth.json", "ch/auth.json"]  # without -g: auth.json beside composer.json
    assert run(["composer", "config", "-g", "--unset", key], app, env).returncode == 0
    assert run(["composer", "config", "--unset", key], app, env).returncode == 0
    assert holding(home, TOKEN) == []


def test_composer_reads_composer_auth(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = serve(files={"/packages.json": b'{"packages":{}}'})
    home = tmp_path / "home"
    app = home / "app"
    app.mkdir(parents=True)
    (app / "composer.json").write_text(json.dumps({
        "repositories": [{"type": "composer", "url": lb.url}, {"packagist.org": False}],
        "require": {"acme/somepkg": "1.0"}, "config": {"secure-http": False}}))
    seen = {}
    for host in (f"127.0.0.1:{lb.port}", "127.0.0.1"):
        lb.clear()
        auth = json.dumps({"http-basic": {host: {"username": "u", "password": TOKEN}}})
        run(["composer", "update", "--no-install", "--no-plugins"], app,
            clean_env(home, COMPOSER_HOME=str(home / "ch"), COMPOSER_NO_INTERACTION="1", COMPOSER_AUTH=auth))
        assert lb.requests
        seen[host] = lb.basic()
    assert seen == {f"127.0.0.1:{lb.port}": [f"u:{TOKEN}"], "127.0.0.1": []}  # the key names the port
    assert holding(home, TOKEN) == []  # COMPOSER_AUTH is not written anywhere


# --- on this kind of machine, not installed by .ci/run -----------------------------------------------------


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI absent")
def test_docker_login_writes_config_json_and_logout_removes_it(tmp_path: Path,
                                                               serve: Callable[..., Loopback]) -> None:
    lb = serve(files={"/v2/": b"{}"}, challenge=True)
    cfg = tmp_path / "cfg"
    env = clean_env(tmp_path)
    reg = f"127.0.0.1:{lb.port}"
    done = run(["docker", "--config", str(cfg), "login", "-u", "u", "--password-stdin", reg], tmp_path, env,
               stdin=TOKEN + "\n")
    assert done.returncode == 0, done.stderr
    assert f"u:{TOKEN}" in lb.basic()
    b64 = base64.b64encode(f"u:{TOKEN}".encode()).decode()
    assert json.loads((cfg / "config.json").read_text()) == {"auths": {reg: {"auth": b64}}}
    assert run(["docker", "--config", str(cfg), "logout", reg], tmp_path, env).returncode == 0
    assert json.loads((cfg / "config.json").read_text()) == {"auths": {}}
    assert holding(tmp_path, b64) == [] and holding(tmp_path, TOKEN) == []


@pytest.mark.skipif(shutil.which("mvn") is None, reason="maven absent")
def test_maven_interpolates_env_in_settings_server_password(tmp_path: Path, serve: Callable[..., Loopback]) -> None:
    lb = serve(challenge=True)
    (tmp_path / "settings.xml").write_text(
        "<settings><servers><server><id>loop</id><username>u</username>"
        "<password>${env.REPO_TOKEN}</password></server></servers></settings>\n")
    (tmp_path / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<parent><groupId>com.acme</groupId><artifactId>parent</artifactId><version>1.0</version>"
        "<relativePath/></parent><artifactId>p</artifactId><packaging>pom</packaging>"
        f"<repositories><repository><id>loop</id><url>{lb.url}/repo</url></repository></repositories></project>\n")
    env = clean_env(tmp_path, REPO_TOKEN=TOKEN)
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    run(["mvn", "-B", "-q", "-s", "settings.xml", f"-Duser.home={tmp_path}", f"-Dmaven.repo.local={tmp_path}/m2",
         "validate"], tmp_path, env, timeout=120)
    assert [p for _, p, _ in lb.requests][:1] == ["/repo/com/acme/parent/1.0/parent-1.0.pom"]
    assert lb.basic() == [f"u:{TOKEN}"]  # sent after the 401, with the variable's value


def cargo_env(home: Path, **extra: str) -> dict[str, str]:
    rustup = os.environ.get("RUSTUP_HOME") or str(Path.home() / ".rustup")
    return clean_env(home, RUSTUP_HOME=rustup, CARGO_HOME=str(home / "cargo"), CARGO_NET_RETRY="0", **extra)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo absent")
def test_cargo_sends_registry_token_env_only_with_a_credential_provider(tmp_path: Path,
                                                                        serve: Callable[..., Loopback]) -> None:
    lb = serve(challenge=True)
    lb.files["/config.json"] = json.dumps({"dl": f"{lb.url}/dl", "api": lb.url, "auth-required": True}).encode()
    (tmp_path / "src").mkdir()
    (tmp_path / "src/main.rs").write_text("fn main() {}\n")
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "p"\nversion = "0.1.0"\nedition = "2021"\n'
                                         '[dependencies]\nfoo = { version = "1", registry = "loop" }\n')
    base = {"CARGO_REGISTRIES_LOOP_INDEX": f"sparse+{lb.url}/", "CARGO_REGISTRIES_LOOP_TOKEN": TOKEN}
    if run(["cargo", "--version"], tmp_path, cargo_env(tmp_path)).returncode != 0:
        pytest.skip("cargo has no toolchain here")
    done = run(["cargo", "generate-lockfile"], tmp_path, cargo_env(tmp_path, **base))
    assert "require a credential-provider" in done.stderr
    assert set(lb.auths()) == {None}
    lb.clear()
    run(["cargo", "generate-lockfile"], tmp_path,
        cargo_env(tmp_path, CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS="cargo:token", **base))
    assert TOKEN in lb.auths()  # the raw token, no scheme
    assert holding(tmp_path, TOKEN) == []
