"""--pr against real git remotes and a loopback server speaking GitHub's documented pulls API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from codemod.vcs.git import DEFAULT_BRANCH, VcsError, commit_on_branch
from codemod.vcs.pr import (
    ACTIONS_HINT,
    BODY_FILE,
    PrError,
    RemoteRepo,
    compare_url,
    gh_create_args,
    github_api_base,
    github_token,
    gitlab_push_options,
    one_line,
    open_pull_request,
    parse_remote_url,
)

from conftest import git_out as git

TOKEN = "t0k3n-for-tests"
BRANCH = DEFAULT_BRANCH
TITLE = "Move 2 secrets out of the Docker build"
BODY = "This pull request moves 2 secrets out of the Docker build.\n\n## What changed\n\n| a | b |\n"
GH_URL = "https://github.com/owner/repo.git"


# --------------------------------------------------------------------------- URL parsing


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/owner/repo.git", ("github.com", "owner", "repo", "https")),
        ("https://github.com/owner/repo", ("github.com", "owner", "repo", "https")),
        ("https://github.com/owner/repo/", ("github.com", "owner", "repo", "https")),
        ("https://x-access-token:abc@github.com/owner/repo.git", ("github.com", "owner", "repo", "https")),
        ("http://ghe.local:8080/owner/repo.git", ("ghe.local", "owner", "repo", "http")),
        ("ssh://git@github.com/owner/repo.git", ("github.com", "owner", "repo", "https")),
        ("ssh://git@ssh.github.com:443/owner/repo.git", ("github.com", "owner", "repo", "https")),
        ("ssh://git@ghe.example.com:2222/owner/repo", ("ghe.example.com", "owner", "repo", "https")),
        ("git@github.com:owner/repo.git", ("github.com", "owner", "repo", "https")),
        ("git@github.com:owner/repo", ("github.com", "owner", "repo", "https")),
        ("github.com:owner/my.repo.git", ("github.com", "owner", "my.repo", "https")),
        ("git@ghe.example.com:Org-Name/Repo_1.git", ("ghe.example.com", "Org-Name", "Repo_1", "https")),
        ("git://github.com/owner/repo.git", ("github.com", "owner", "repo", "https")),
        ("https://gitlab.com/group/sub/project.git", ("gitlab.com", "group/sub", "project", "https")),
    ],
)
def test_parse_remote_url(url: str, expected: tuple[str, str, str, str]) -> None:
    r = parse_remote_url(url)
    assert r is not None
    assert (r.host, r.owner, r.name, r.scheme) == expected


@pytest.mark.parametrize(
    "url",
    [
        "/srv/git/repo.git",
        "../remote.git",
        "file:///srv/repo.git",
        "C:\\repos\\x",
        "https://github.com/owner",
        "",
    ],
)
def test_parse_remote_url_rejects_local_and_incomplete(url: str) -> None:
    assert parse_remote_url(url) is None


def test_api_base_and_token_precedence() -> None:
    assert github_api_base("github.com", None, {}) == "https://api.github.com"
    assert github_api_base("ghe.example.com", None, {}) == "https://ghe.example.com/api/v3"
    assert github_api_base("octo.ghe.com", None, {}) == "https://api.octo.ghe.com"
    assert github_api_base("github.com", None, {"GITHUB_API_URL": "https://env/api/"}) == "https://env/api"
    assert (
        github_api_base("github.com", "http://127.0.0.1:1/", {"GITHUB_API_URL": "x"}) == "http://127.0.0.1:1"
    )
    assert github_token("github.com", {"GITHUB_TOKEN": "b", "GH_TOKEN": "a"}) == "a"
    assert github_token("github.com", {"GITHUB_TOKEN": "b"}) == "b"
    assert github_token("github.com", {"GH_ENTERPRISE_TOKEN": "e"}) is None
    assert github_token("ghe.example.com", {"GH_ENTERPRISE_TOKEN": "e", "GH_TOKEN": "a"}) == "e"
    assert github_token("github.com", {"GH_TOKEN": "  "}) is None


def test_compare_url_and_gh_args() -> None:
    r = RemoteRepo("github.com", "owner", "repo")
    assert compare_url(r, BRANCH, "main") == (
        "https://github.com/owner/repo/compare/main...migrate-secrets/buildkit-secrets?expand=1"
    )
    assert (
        compare_url(r, BRANCH, None)
        == "https://github.com/owner/repo/compare/migrate-secrets/buildkit-secrets?expand=1"
    )
    assert gh_create_args("T", BRANCH, "main") == [
        "gh",
        "pr",
        "create",
        "--title",
        "T",
        "--body-file",
        "-",
        "--base",
        "main",
        "--head",
        BRANCH,
    ]
    assert gh_create_args("T", BRANCH, None, repo="o/r")[3:5] == ["--repo", "o/r"]


# --------------------------------------------------------------------------- repositories


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def make_repo(tmp_path: Path, *, github_url: bool = True, default: str = "main") -> tuple[Path, Path, str]:
    """Work tree + bare remote; the migration branch committed locally (not pushed).

    With *github_url*, ``origin`` is ``https://github.com/owner/repo.git`` and a
    ``url.<bare>.insteadOf`` rule sends git to the local bare repository, so the
    URL is parsed exactly as a user's would be while nothing leaves the machine.
    """
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", default, str(bare))
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", default)
    (repo / "Dockerfile").write_text("FROM alpine\nARG NPM_TOKEN=changeme\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    if github_url:
        git(repo, "remote", "add", "origin", GH_URL)
        git(repo, "config", f"url.{bare}.insteadOf", GH_URL)
    else:
        git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", default)
    (repo / "Dockerfile").write_text("FROM alpine\n")
    sha = commit_on_branch(repo, ["Dockerfile"], BRANCH, TITLE, False)
    return repo, bare, sha


def remote_sha(bare: Path, branch: str = BRANCH) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=bare,
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or None


# --------------------------------------------------------------------------- loopback GitHub

ALLOWED_FIELDS = {"title", "head", "head_repo", "base", "body", "maintainer_can_modify", "draft", "issue"}


class FakeGitHub:
    """Answers like api.github.com does, after checking each request as the REST docs describe it."""

    def __init__(self, mode: str, default_branch: str | None = "main") -> None:
        self.mode = mode
        self.default_branch = default_branch
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.redirect_repo_to: str | None = None

    def check(self, req: dict[str, Any]) -> list[str]:
        h = req["headers"]  # names lower-cased: HTTP header names are case-insensitive (RFC 9110)
        bad = []
        if h.get("authorization") != f"Bearer {TOKEN}":
            bad.append(f"Authorization is {h.get('authorization')!r}")
        if h.get("accept") != "application/vnd.github+json":
            bad.append(f"Accept is {h.get('accept')!r}")
        if h.get("x-github-api-version") != "2022-11-28":
            bad.append(f"X-GitHub-Api-Version is {h.get('x-github-api-version')!r}")
        if not (h.get("user-agent") or "").startswith("migrate-secrets/"):
            bad.append(f"User-Agent is {h.get('user-agent')!r}")
        if req["method"] == "POST":
            if not (h.get("content-type") or "").startswith("application/json"):
                bad.append(f"Content-Type is {h.get('content-type')!r}")
            js = req["json"]
            if not isinstance(js, dict):
                return [*bad, "body is not a JSON object"]
            for field in ("title", "head", "base", "body"):
                if not isinstance(js.get(field), str) or not js[field]:
                    bad.append(f"{field} missing or not a non-empty string: {js.get(field)!r}")
            if "draft" in js and not isinstance(js["draft"], bool):
                bad.append("draft is not a boolean")
            if set(js) - ALLOWED_FIELDS:
                bad.append(f"undocumented fields {sorted(set(js) - ALLOWED_FIELDS)}")
        return bad

    def answer(self, req: dict[str, Any]) -> tuple[int, Any]:
        path, method, query = req["path"], req["method"], req["query"]
        if method == "GET" and path == "/repos/owner/repo":
            if self.redirect_repo_to:
                return 301, {"message": "Moved Permanently", "url": self.redirect_repo_to + path}
            if self.default_branch is None:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            return 200, {"full_name": "owner/repo", "default_branch": self.default_branch}
        if method == "POST" and path == "/repos/owner/repo/pulls":
            if self.mode == "create":
                return 201, {
                    "html_url": "https://github.com/owner/repo/pull/42",
                    "number": 42,
                    "state": "open",
                }
            if self.mode == "exists":
                return 422, {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for owner:{BRANCH}.",
                        }
                    ],
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                }
            if self.mode == "no-commits":
                return 422, {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"No commits between main and {BRANCH}",
                        }
                    ],
                }
            if self.mode == "forbidden":
                return 403, {
                    "message": "GitHub Actions is not permitted to create or approve pull requests.",
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                }
        if method == "GET" and path == "/repos/owner/repo/pulls":
            if query != {"head": [f"owner:{BRANCH}"], "state": ["open"]}:
                self.problems.append(f"list query is {query}")
            return 200, [
                {
                    "html_url": "https://github.com/owner/repo/pull/7",
                    "number": 7,
                    "head": {"ref": BRANCH},
                    "base": {"ref": "main"},
                }
            ]
        return 404, {"message": "Not Found"}


@pytest.fixture
def github() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(mode: str, default_branch: str | None = "main") -> tuple[FakeGitHub, str]:
        api = FakeGitHub(mode, default_branch)

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urllib.parse.urlsplit(self.path)
                try:
                    js = json.loads(raw) if raw else None
                except ValueError:
                    js = "<invalid json>"
                req = {
                    "method": self.command,
                    "path": parts.path,
                    "query": urllib.parse.parse_qs(parts.query),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": js,
                }
                api.requests.append(req)
                bad = api.check(req)
                if bad:
                    api.problems += bad
                    status, data = 400, {"message": "; ".join(bad)}
                else:
                    status, data = api.answer(req)
                out = json.dumps(data).encode()
                self.send_response(status)
                if status == 301:
                    self.send_header("Location", data["url"])
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return api, f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def env_with_token(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "GH_TOKEN": TOKEN, **extra}


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


# --------------------------------------------------------------------------- GitHub REST


def test_creates_the_pull_request(tmp_path: Path, github: Any) -> None:
    repo, bare, sha = make_repo(tmp_path)
    api, url = github("create")
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token())
    assert api.problems == []
    assert (res.status, res.url, res.number, res.base) == (
        "created",
        "https://github.com/owner/repo/pull/42",
        42,
        "main",
    )
    assert res.ok
    assert remote_sha(bare) == sha
    assert [(r["method"], r["path"]) for r in api.requests] == [
        ("GET", "/repos/owner/repo"),
        ("POST", "/repos/owner/repo/pulls"),
    ]
    assert api.requests[1]["json"] == {
        "title": TITLE,
        "head": BRANCH,
        "base": "main",
        "body": BODY,
        "draft": False,
    }


def test_explicit_base_skips_the_repository_lookup(tmp_path: Path, github: Any) -> None:
    repo, _, _ = make_repo(tmp_path)
    api, url = github("create")
    res = open_pull_request(
        repo, BRANCH, base="release", api_url=url, title=TITLE, body=BODY, env=env_with_token()
    )
    assert api.problems == [] and res.status == "created" and res.base == "release"
    assert [r["method"] for r in api.requests] == ["POST"]
    assert api.requests[0]["json"]["base"] == "release"


def test_api_url_from_environment(tmp_path: Path, github: Any) -> None:
    repo, _, _ = make_repo(tmp_path)
    api, url = github("create")
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url}
    res = open_pull_request(repo, BRANCH, title=TITLE, body=BODY, env=env)
    assert api.problems == [] and res.status == "created"


def test_redirect_to_another_host_does_not_carry_the_token(tmp_path: Path, github: Any) -> None:
    repo, _, _ = make_repo(tmp_path)
    api, url = github("create")
    other, other_url = github("create")
    api.redirect_repo_to = other_url
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token())
    assert [r["path"] for r in other.requests] == ["/repos/owner/repo"]
    assert "authorization" not in other.requests[0]["headers"]
    assert api.problems == [] and res.status == "created"


def test_default_branch_falls_back_to_the_remote_head(tmp_path: Path, github: Any) -> None:
    repo, _, _ = make_repo(tmp_path, default="develop")
    api, url = github("create", default_branch=None)  # GET /repos/owner/repo -> 404
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token())
    assert api.problems == [] and res.status == "created"
    assert api.requests[-1]["json"]["base"] == "develop"


def test_existing_pull_request_is_reported(tmp_path: Path, github: Any) -> None:
    repo, bare, sha = make_repo(tmp_path)
    api, url = github("exists")
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token())
    assert api.problems == []
    assert (res.status, res.url, res.number) == ("exists", "https://github.com/owner/repo/pull/7", 7)
    assert res.ok and "already open" in res.message
    assert [(r["method"], r["path"]) for r in api.requests][-1] == ("GET", "/repos/owner/repo/pulls")
    assert remote_sha(bare) == sha


def test_forbidden_explains_the_actions_setting(tmp_path: Path, github: Any) -> None:
    repo, bare, sha = make_repo(tmp_path)
    api, url = github("forbidden")
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token())
    assert api.problems == []
    assert res.status == "failed" and not res.ok and res.url is None
    assert "GitHub Actions is not permitted" in res.message
    assert ACTIONS_HINT in res.message
    assert "Settings → Actions → General → Workflow permissions" in res.message
    assert "Allow GitHub Actions to create and approve pull requests" in res.message
    assert (
        res.compare_url
        == "https://github.com/owner/repo/compare/main...migrate-secrets/buildkit-secrets?expand=1"
    )
    assert remote_sha(bare) == sha  # the branch stays pushed


def test_other_validation_errors_are_reported(tmp_path: Path, github: Any) -> None:
    repo, _, _ = make_repo(tmp_path)
    api, url = github("no-commits")
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token())
    assert api.problems == []
    assert res.status == "failed" and "No commits between" in res.message


def test_connection_refused_falls_back_to_compare_url(tmp_path: Path) -> None:
    repo, bare, sha = make_repo(tmp_path)
    res = open_pull_request(
        repo,
        BRANCH,
        api_url=f"http://127.0.0.1:{closed_port()}",
        title=TITLE,
        body=BODY,
        env=env_with_token(),
    )
    assert res.status == "fallback" and not res.ok
    assert (
        res.compare_url
        == "https://github.com/owner/repo/compare/main...migrate-secrets/buildkit-secrets?expand=1"
    )
    assert res.compare_url in res.message and "could not reach" in res.message
    assert res.gh_command is not None and res.gh_command.startswith("gh pr create --repo owner/repo")
    assert f"--base main --head {BRANCH}" in res.gh_command
    body_file = repo / ".git" / BODY_FILE
    assert body_file.read_text() == BODY and str(body_file) in res.gh_command
    assert remote_sha(bare) == sha


def test_timeout_falls_back(tmp_path: Path) -> None:
    repo, _, _ = make_repo(tmp_path)
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        res = open_pull_request(
            repo,
            BRANCH,
            base="main",
            api_url=f"http://127.0.0.1:{port}",
            title=TITLE,
            body=BODY,
            env=env_with_token(),
            timeout=0.5,
        )
    assert res.status == "fallback" and "timed out" in res.message
    assert res.compare_url is not None


def test_no_token_pushes_and_prints_the_manual_way(tmp_path: Path, github: Any) -> None:
    repo, bare, sha = make_repo(tmp_path)
    api, url = github("create")
    res = open_pull_request(repo, BRANCH, api_url=url, title=TITLE, body=BODY, env={"PATH": os.defpath})
    assert api.requests == []
    assert res.status == "fallback" and "GH_TOKEN" in res.message
    assert (
        res.compare_url
        == "https://github.com/owner/repo/compare/main...migrate-secrets/buildkit-secrets?expand=1"
    )
    assert res.gh_command is not None and "gh pr create" in res.gh_command
    assert remote_sha(bare) == sha


def test_owner_repo_override_with_a_plain_path_remote(tmp_path: Path, github: Any) -> None:
    repo, bare, sha = make_repo(tmp_path, github_url=False)
    api, url = github("create")
    res = open_pull_request(
        repo, BRANCH, api_url=url, title=TITLE, body=BODY, env=env_with_token(), owner_repo="owner/repo"
    )
    assert api.problems == [] and res.status == "created"
    assert remote_sha(bare) == sha


def test_unknown_repository_is_refused_before_pushing(tmp_path: Path) -> None:
    repo, bare, _ = make_repo(tmp_path, github_url=False)
    with pytest.raises(PrError, match="cannot tell the GitHub repository"):
        open_pull_request(repo, BRANCH, title=TITLE, body=BODY, env=env_with_token())
    assert remote_sha(bare) is None


def test_missing_remote_and_unknown_provider(tmp_path: Path) -> None:
    repo, _, _ = make_repo(tmp_path)
    with pytest.raises(VcsError, match="no git remote named 'upstream'"):
        open_pull_request(repo, BRANCH, remote="upstream", title=TITLE, body=BODY, env={})
    with pytest.raises(PrError, match="unknown --pr-provider"):
        open_pull_request(repo, BRANCH, provider="bitbucket", title=TITLE, body=BODY, env={})


# --------------------------------------------------------------------------- gh


def test_gh_provider_without_gh_says_so(tmp_path: Path) -> None:
    repo, bare, _ = make_repo(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(PrError) as exc:
        open_pull_request(repo, BRANCH, provider="gh", title=TITLE, body=BODY, env={"PATH": str(empty)})
    msg = str(exc.value)
    assert "`gh` was not found on PATH" in msg and "https://cli.github.com" in msg
    assert remote_sha(bare) is None  # refused before pushing


def _fake_gh(tmp_path: Path, reply: str, code: int = 0) -> Path:
    """A `gh` on PATH that records its argv, stdin and GH_PROMPT_DISABLED, and answers as gh 2.x does."""
    bindir = tmp_path / "gh-bin"
    bindir.mkdir()
    log = tmp_path / "gh.log"
    gh = bindir / "gh"
    gh.write_text(
        "#!/bin/sh\n"
        f"for a in \"$@\"; do printf '%s\\n' \"$a\" >> {log}; done\n"
        f"echo \"prompt=$GH_PROMPT_DISABLED\" >> {log}\n"
        f"cat > {tmp_path / 'gh.stdin'}\n"
        f"printf '%s\\n' '{reply}' >&{2 if code else 1}\n"
        f"exit {code}\n"
    )
    gh.chmod(0o755)
    return bindir


def test_gh_provider_pushes_and_runs_gh_pr_create(tmp_path: Path) -> None:
    repo, bare, _ = make_repo(tmp_path)
    bindir = _fake_gh(tmp_path, "https://github.com/owner/repo/pull/7")
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}
    res = open_pull_request(repo, BRANCH, provider="gh", base="main", title=TITLE, body=BODY, env=env, draft=True)
    assert (res.status, res.provider, res.url) == ("created", "gh", "https://github.com/owner/repo/pull/7")
    assert remote_sha(bare) is not None  # pushed first
    argv = (tmp_path / "gh.log").read_text().splitlines()
    assert argv == ["pr", "create", "--repo", "owner/repo", "--title", TITLE, "--body-file", "-",
                    "--base", "main", "--head", BRANCH, "--draft", "prompt=1"]
    assert (tmp_path / "gh.stdin").read_text() == BODY


def test_gh_provider_reports_an_open_pull_request_and_a_failure(tmp_path: Path) -> None:
    repo, _, _ = make_repo(tmp_path)
    (tmp_path / "a").mkdir()
    exists = _fake_gh(tmp_path / "a", "a pull request for branch already exists: https://github.com/owner/repo/pull/3",
                      code=1)
    res = open_pull_request(repo, BRANCH, provider="gh", base="main", title=TITLE, body=BODY,
                            env={"PATH": f"{exists}:/usr/bin:/bin"})
    assert (res.status, res.url) == ("exists", "https://github.com/owner/repo/pull/3")
    (tmp_path / "b").mkdir()
    broken = _fake_gh(tmp_path / "b", "HTTP 403: https://x-access-token:s3cr3t@github.com/owner/repo", code=1)
    res = open_pull_request(repo, BRANCH, provider="gh", base="main", title=TITLE, body=BODY,
                            env={"PATH": f"{broken}:/usr/bin:/bin"}, force_push=True)
    assert res.status == "failed" and "exit 1" in res.message and "s3cr3t" not in res.message


# --------------------------------------------------------------------------- GitLab push options

HOOK = """#!/bin/sh
cat >/dev/null
{{
  echo "count=$GIT_PUSH_OPTION_COUNT"
  i=0
  while [ "$i" -lt "${{GIT_PUSH_OPTION_COUNT:-0}}" ]; do
    eval "printf '%s\\n' \\"\\$GIT_PUSH_OPTION_$i\\""
    i=$((i + 1))
  done
}} > "{out}"
"""

POST_RECEIVE = """#!/bin/sh
cat >/dev/null
echo ""
echo "View merge request for {branch}:"
echo "  https://gitlab.example.com/group/project/-/merge_requests/3"
echo ""
"""


def test_gitlab_push_options_arrive(tmp_path: Path) -> None:
    repo, bare, sha = make_repo(tmp_path, github_url=False)
    git(bare, "config", "receive.advertisePushOptions", "true")
    record = tmp_path / "push-options.txt"
    for name, text in (
        ("pre-receive", HOOK.format(out=record)),
        ("post-receive", POST_RECEIVE.format(branch=BRANCH)),
    ):
        hook = bare / "hooks" / name
        hook.write_text(text)
        hook.chmod(0o755)
    body = BODY + "\nline two\r\nwith\ttab and a NUL\0 here\n"
    res = open_pull_request(repo, BRANCH, provider="gitlab", title=TITLE, body=body, env={})

    lines = record.read_text().splitlines()
    assert lines[0] == "count=4"
    opts = lines[1:]
    assert opts[0] == "merge_request.create"
    assert opts[1] == "merge_request.target=main"
    assert opts[2] == f"merge_request.title={TITLE}"
    assert opts[3].startswith("merge_request.description=This pull request moves 2 secrets")
    assert len(opts) == 4  # every value arrived on one line
    assert (res.status, res.url) == ("created", "https://gitlab.example.com/group/project/-/merge_requests/3")
    assert remote_sha(bare) == sha


def test_gitlab_options_are_single_line() -> None:
    opts = gitlab_push_options("A\ntitle", "## Heading\n\nFirst para\ngraph.\n\n| t |\n", "main")
    assert opts == [
        "merge_request.create",
        "merge_request.target=main",
        "merge_request.title=A title",
        "merge_request.description=First para graph. See the commit message for the details.",
    ]
    assert all("\n" not in o and "\0" not in o for o in opts)
    assert len(one_line("word " * 1000)) <= 1000


def test_gitlab_against_a_server_without_push_options(tmp_path: Path) -> None:
    repo, _, _ = make_repo(tmp_path, github_url=False)
    with pytest.raises(PrError, match="does not accept push options"):
        open_pull_request(repo, BRANCH, provider="gitlab", base="main", title=TITLE, body=BODY, env={})
