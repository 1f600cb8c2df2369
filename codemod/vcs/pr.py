"""``--pr``: push the migration branch and open the pull (or merge) request.

Providers:

``github``  REST ``POST /repos/{owner}/{repo}/pulls`` with urllib (formats.md §5).
``gh``      ``gh pr create --title --body-file - --base --head``.
``gitlab``  ``git push -o merge_request.create -o merge_request.target=...``.

Without a token or without network the branch stays pushed and the result
carries the compare URL and the ``gh pr create`` command to finish by hand.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemod import __version__
from codemod.discover import git_dir
from codemod.vcs.git import (
    VcsError,
    push_branch,
    redact_urls,
    remote_default_branch,
    remote_url,
)

if TYPE_CHECKING:
    import urllib.request

PROVIDERS = ("github", "gh", "gitlab")
API_VERSION = "2022-11-28"
USER_AGENT = f"migrate-secrets/{__version__}"
BODY_FILE = "MIGRATE_SECRETS_PR_BODY.md"

ACTIONS_HINT = (
    "GitHub Actions may not create pull requests in this repository. Allow it in the repository (or "
    'organization) settings: Settings → Actions → General → Workflow permissions → "Allow GitHub Actions '
    'to create and approve pull requests", and give the job `permissions: pull-requests: write` '
    "(or use a token with pull-request write access in GH_TOKEN)."
)

# Result statuses.
CREATED = "created"  # this run opened it
EXISTS = "exists"  # one was already open for the branch
FALLBACK = "fallback"  # branch pushed, request not opened (no token / no network): finish by hand
FAILED = "failed"  # branch pushed, the server refused (403, 422, ...): see message


class PrError(VcsError):
    """``--pr`` cannot run at all (bad provider, unknown repository, gh missing)."""


@dataclass(frozen=True)
class PrResult:
    """What ``--pr`` did. ``url`` is the pull request when one is open (created or existing)."""

    status: str
    provider: str
    branch: str
    base: str | None
    url: str | None = None
    number: int | None = None
    compare_url: str | None = None
    gh_command: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (CREATED, EXISTS)


@dataclass(frozen=True)
class RemoteRepo:
    host: str
    owner: str
    name: str
    scheme: str = "https"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def web_url(self) -> str:
        return f"{self.scheme}://{self.host}/{self.owner}/{self.name}"


# --------------------------------------------------------------------------- remote URLs

_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/\s]+):(?P<path>[^\s]+)$")
_HOST_ALIASES = {"ssh.github.com": "github.com", "www.github.com": "github.com"}


def parse_remote_url(url: str) -> RemoteRepo | None:
    """Host, owner and name of a remote URL; None for local paths and file:// URLs.

    Accepts ``https://[user[:token]@]host[:port]/owner/repo[.git][/]``,
    ``ssh://[user@]host[:port]/owner/repo[.git]``, ``git://...`` and scp-like
    ``user@host:owner/repo[.git]``. The owner keeps any subgroups
    (``group/sub`` on GitLab).
    """
    url = url.strip()
    scheme = "https"
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("https", "http", "ssh", "git", "git+ssh", "ssh+git"):
            return None
        host = (parts.hostname or "").lower()
        path = parts.path
        if parts.scheme.lower() == "http":
            scheme = "http"
    else:
        m = _SCP.match(url)
        if not m or len(m.group("host")) < 2:  # C:\path is a Windows path, not a host
            return None
        host, path = m.group("host").lower(), m.group("path")
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    segs = [s for s in path.split("/") if s]
    if not host or len(segs) < 2 or any(s in (".", "..") or s.startswith("~") for s in segs):
        return None
    return RemoteRepo(_HOST_ALIASES.get(host, host), "/".join(segs[:-1]), segs[-1], scheme)


def github_api_base(host: str, api_url: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """``--github-api-url``, else ``$GITHUB_API_URL``, else the API of *host*."""
    if api_url:
        return api_url.rstrip("/")
    if env.get("GITHUB_API_URL"):
        return env["GITHUB_API_URL"].rstrip("/")
    if host == "github.com":
        return "https://api.github.com"
    if host.endswith(".ghe.com"):
        return f"https://api.{host}"
    return f"https://{host}/api/v3"


def github_token(host: str, env: Mapping[str, str] = os.environ) -> str | None:
    """``GH_TOKEN``, then ``GITHUB_TOKEN`` (Enterprise Server hosts try the enterprise names first)."""
    names = ["GH_TOKEN", "GITHUB_TOKEN"]
    if host != "github.com" and not host.endswith(".ghe.com"):
        names = ["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", *names]
    for n in names:
        v = env.get(n, "").strip()
        if v:
            return v
    return None


def compare_url(repo: RemoteRepo, branch: str, base: str | None) -> str:
    q = urllib.parse.quote
    span = f"{q(base, safe='/')}...{q(branch, safe='/')}" if base else q(branch, safe="/")
    return f"{repo.web_url}/compare/{span}?expand=1"


def gh_create_args(
    title: str, branch: str, base: str | None, *, repo: str | None = None, body_file: str = "-"
) -> list[str]:
    """argv of ``gh pr create`` (body from *body_file*, ``-`` = stdin)."""
    args = ["gh", "pr", "create"]
    if repo:
        args += ["--repo", repo]
    args += ["--title", title, "--body-file", body_file]
    if base:
        args += ["--base", base]
    args += ["--head", branch]
    return args


def _gh_repo_arg(repo: RemoteRepo) -> str:
    return repo.full_name if repo.host == "github.com" else f"{repo.host}/{repo.full_name}"


# --------------------------------------------------------------------------- HTTP


class _Unreachable(Exception):
    pass


def _same_host_redirects() -> urllib.request.HTTPRedirectHandler:
    """Follow redirects, but never carry the token to another host."""
    import urllib.request

    class SameHostRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(
            self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> urllib.request.Request | None:
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            same = urllib.parse.urlsplit(newurl).netloc == urllib.parse.urlsplit(req.full_url).netloc
            if new is not None and not same:
                new.remove_header("Authorization")
            return new

    return SameHostRedirects()


def _proxies(env: Mapping[str, str], url: str) -> dict[str, str]:
    """Proxies from *env* (not ``os.environ``), honouring ``no_proxy``."""
    import urllib.request

    proxies = {}
    for scheme in ("http", "https"):
        v = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
        if v:
            proxies[scheme] = v
    no = env.get("no_proxy") or env.get("NO_PROXY")
    host = urllib.parse.urlsplit(url).hostname or ""
    if no and proxies:
        proxies["no"] = no
        if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
            return {}
        del proxies["no"]
    return proxies


class _GitHub:
    def __init__(self, base: str, token: str, env: Mapping[str, str], timeout: float) -> None:
        import urllib.request

        self.base = base
        self.token = token
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(_proxies(env, base)), _same_host_redirects()
        )

    def call(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        import urllib.error
        import urllib.request

        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                raw = exc.read()
            except OSError:
                raw = b""
            return exc.code, _json(raw)
        except urllib.error.URLError as exc:
            raise _Unreachable(str(exc.reason)) from exc
        except (TimeoutError, ConnectionError, OSError) as exc:
            raise _Unreachable(str(exc) or type(exc).__name__) from exc


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _api_message(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message", ""))]
    for e in data.get("errors") or []:
        if isinstance(e, dict):
            parts.append(str(e.get("message") or " ".join(f"{k}={v}" for k, v in e.items())))
        else:
            parts.append(str(e))
    return ": ".join(p for p in parts if p)


# --------------------------------------------------------------------------- providers


def open_pull_request(
    repo_root: str | os.PathLike[str],
    branch: str,
    *,
    remote: str = "origin",
    base: str | None = None,
    provider: str = "github",
    api_url: str | None = None,
    title: str,
    body: str,
    env: Mapping[str, str] = os.environ,
    owner_repo: str | None = None,
    force_push: bool = False,
    draft: bool = False,
    timeout: float = 30.0,
) -> PrResult:
    """Push *branch* to *remote* and open the pull request with *provider*.

    *owner_repo* (``owner/repo``) overrides what the remote URL says;
    *force_push* replaces a remote branch of the same name (``--force-branch``).
    Raises :class:`PrError` (a :class:`~codemod.vcs.git.VcsError`) before pushing
    when it cannot run at all, and ``VcsError`` when the push fails. Otherwise
    returns a :class:`PrResult`; ``status`` is ``created``, ``exists``,
    ``fallback`` (no token or no network: ``compare_url``/``gh_command``) or
    ``failed`` (the server refused: ``message`` says why).
    """
    if provider not in PROVIDERS:
        raise PrError(f"unknown --pr-provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    if not title.strip():
        raise PrError("the pull request needs a title")
    url = remote_url(repo_root, remote)
    repo = parse_remote_url(url)
    if owner_repo:
        owner, _, name = owner_repo.strip("/").rpartition("/")
        if not owner or not name:
            raise PrError(f"owner_repo must be OWNER/REPO, not {owner_repo!r}")
        repo = RemoteRepo(repo.host if repo else "github.com", owner, name, repo.scheme if repo else "https")
    ask = _Ask(repo_root, branch, remote, base, title, body, env, api_url, force_push, draft, timeout)
    if provider == "gitlab":
        return _gitlab(ask)
    if repo is None or "/" in repo.owner:
        raise PrError(
            f"cannot tell the GitHub repository from remote {remote!r} ({redact_urls(url)}): "
            "expected https://HOST/OWNER/REPO(.git), ssh://git@HOST/OWNER/REPO or git@HOST:OWNER/REPO"
        )
    if provider == "gh":
        return _gh(ask, repo)
    return _github(ask, repo)


@dataclass(frozen=True)
class _Ask:
    """One pull request to open, as :func:`open_pull_request` was asked for it."""

    repo_root: str | os.PathLike[str]
    branch: str
    remote: str
    base: str | None
    title: str
    body: str
    env: Mapping[str, str]
    api_url: str | None
    force_push: bool
    draft: bool
    timeout: float


def _manual(ask: _Ask, repo: RemoteRepo, base: str | None, status: str, reason: str) -> PrResult:
    """A result telling the user how to open the pull request by hand (branch is pushed)."""
    repo_root, branch, title, body, remote = ask.repo_root, ask.branch, ask.title, ask.body, ask.remote
    cmp = compare_url(repo, branch, base)
    gdir = git_dir(Path(repo_root).resolve())
    body_path = (gdir or Path(repo_root)) / BODY_FILE
    try:
        body_path.write_text(body, encoding="utf-8")
        body_arg = str(body_path)
    except OSError:
        body_arg = BODY_FILE
    cmd = shlex.join(gh_create_args(title, branch, base, repo=_gh_repo_arg(repo), body_file=body_arg))
    message = (
        f"Pushed branch {branch!r} to {remote}, but did not open the pull request: {reason}\n"
        f"Open it in the browser: {cmp}\n"
        f"or with the GitHub CLI: {cmd}"
    )
    return PrResult(status, "github", branch, base, compare_url=cmp, gh_command=cmd, message=message)


def _github(ask: _Ask, repo: RemoteRepo) -> PrResult:
    repo_root, branch, remote, base, env = ask.repo_root, ask.branch, ask.remote, ask.base, ask.env
    push_branch(repo_root, branch, remote, force=ask.force_push)
    api = github_api_base(repo.host, ask.api_url, env)
    token = github_token(repo.host, env)

    def manual(status: str, reason: str) -> PrResult:
        b = base if base is not None else remote_default_branch(repo_root, remote)
        return _manual(ask, repo, b, status, reason)

    if token is None:
        return manual(FALLBACK, "no GH_TOKEN or GITHUB_TOKEN in the environment.")
    gh = _GitHub(api, token, env, ask.timeout)
    prefix = f"/repos/{urllib.parse.quote(repo.owner)}/{urllib.parse.quote(repo.name)}"
    try:
        if base is None:
            status, data = gh.call("GET", prefix)
            if status == 200 and isinstance(data, dict) and isinstance(data.get("default_branch"), str):
                base = data["default_branch"]
            else:
                base = remote_default_branch(repo_root, remote)
            if base is None:
                return manual(FAILED, "could not find the default branch; pass --base.")
        payload: dict[str, Any] = {"title": ask.title, "head": branch, "base": base, "body": ask.body,
                                   "draft": ask.draft}
        status, data = gh.call("POST", prefix + "/pulls", payload)
        if status == 201 and isinstance(data, dict):
            return PrResult(
                CREATED,
                "github",
                branch,
                base,
                url=str(data.get("html_url") or ""),
                number=data.get("number") if isinstance(data.get("number"), int) else None,
                message=f"Opened pull request {data.get('html_url')}",
            )
        text = _api_message(data) or f"HTTP {status}"
        if status == 422 and "already exists" in text:
            st, found = gh.call(
                "GET", prefix + "/pulls", query={"head": f"{repo.owner}:{branch}", "state": "open"}
            )
            if st == 200 and isinstance(found, list) and found:
                pick = next(
                    (p for p in found if isinstance(p, dict) and (p.get("base") or {}).get("ref") == base),
                    found[0],
                )
                url = str(pick.get("html_url") or "")
                num = pick.get("number") if isinstance(pick.get("number"), int) else None
                return PrResult(
                    EXISTS,
                    "github",
                    branch,
                    base,
                    url=url,
                    number=num,
                    message=f"A pull request for {branch!r} is already open: {url} (the push updated it)",
                )
            return manual(FAILED, f"GitHub says a pull request already exists ({text}), but none was found.")
        if status == 403:
            why = text
            if "GitHub Actions" in text or env.get("GITHUB_ACTIONS") == "true":
                why += "\n" + ACTIONS_HINT
            else:
                why += (
                    "\nThe token needs write access to pull requests "
                    "(fine-grained: Pull requests: write; classic: repo)."
                )
            return manual(FAILED, f"GitHub refused (403): {why}")
        if status == 401:
            return manual(FAILED, f"GitHub rejected the token (401): {text}")
        if status == 404:
            return manual(
                FAILED, f"repository {repo.full_name} not found at {api}, or the token cannot see it (404)."
            )
        return manual(FAILED, f"GitHub answered {status}: {text}")
    except _Unreachable as exc:
        return manual(FALLBACK, f"could not reach {api} ({exc}).")


def _gh(ask: _Ask, repo: RemoteRepo) -> PrResult:
    repo_root, branch, base, env = ask.repo_root, ask.branch, ask.base, ask.env
    exe = shutil.which("gh", path=env.get("PATH", os.defpath))
    if exe is None:
        raise PrError(
            "--pr-provider gh needs the GitHub CLI, but `gh` was not found on PATH. Install it "
            "(https://cli.github.com) and run `gh auth login`, or use --pr-provider github with "
            "GH_TOKEN or GITHUB_TOKEN set."
        )
    push_branch(repo_root, branch, ask.remote, force=ask.force_push)
    args = gh_create_args(ask.title, branch, base, repo=_gh_repo_arg(repo))
    args[0] = exe
    if ask.draft:
        args.append("--draft")
    try:
        proc = subprocess.run(
            args,
            input=ask.body,
            text=True,
            capture_output=True,
            cwd=os.fspath(repo_root),
            env={**env, "GH_PROMPT_DISABLED": "1"},
            timeout=ask.timeout * 4,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PrResult(FAILED, "gh", branch, base, message=f"gh pr create failed: {exc}")
    urls = re.findall(r"https?://\S+/pull/\d+", proc.stdout + "\n" + proc.stderr)
    if proc.returncode == 0 and urls:
        return PrResult(CREATED, "gh", branch, base, url=urls[-1], message=f"Opened pull request {urls[-1]}")
    if "already exists" in proc.stderr:
        url = urls[-1] if urls else None
        return PrResult(EXISTS, "gh", branch, base, url=url, message=f"A pull request is already open: {url}")
    err = redact_urls((proc.stderr or proc.stdout).strip())
    message = f"gh pr create failed (exit {proc.returncode}): {err}"
    return PrResult(FAILED, "gh", branch, base, message=message)


# --------------------------------------------------------------------------- GitLab

_GITLAB_DESC_MAX = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str, limit: int = _GITLAB_DESC_MAX) -> str:
    """*text* with all control characters and runs of spaces folded to one space (push options)."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rsplit(" ", 1)[0] + "…"
    return flat


def gitlab_description(body: str) -> str:
    """A one-line merge request description: the body's first paragraph."""
    paras = [
        p for p in re.split(r"\n\s*\n", body) if p.strip() and not p.lstrip().startswith(("#", "|", "<"))
    ]
    first = paras[0] if paras else body
    return one_line(first + " See the commit message for the details.")


def gitlab_push_options(title: str, body: str, base: str | None) -> list[str]:
    opts = ["merge_request.create"]
    if base:
        opts.append(f"merge_request.target={one_line(base)}")
    opts.append(f"merge_request.title={one_line(title, 255)}")
    opts.append(f"merge_request.description={gitlab_description(body)}")
    return opts


def _gitlab(ask: _Ask) -> PrResult:
    repo_root, branch, remote, base = ask.repo_root, ask.branch, ask.remote, ask.base
    if base is None:
        base = remote_default_branch(repo_root, remote)
    opts = gitlab_push_options(ask.title, ask.body, base)
    try:
        err = push_branch(repo_root, branch, remote, push_options=opts, force=ask.force_push)
    except VcsError as exc:
        if "does not support push options" in str(exc):
            raise PrError(
                f"remote {remote!r} does not accept push options: --pr-provider gitlab needs a GitLab server"
            ) from exc
        raise
    mr = re.findall(r"https?://\S+/-/merge_requests/\d+", err)
    if mr:
        return PrResult(CREATED, "gitlab", branch, base, url=mr[-1], message=f"Merge request: {mr[-1]}")
    new = re.findall(r"https?://\S+/-/merge_requests/new\S*", err)
    if new:
        return PrResult(
            FALLBACK,
            "gitlab",
            branch,
            base,
            compare_url=new[-1],
            message=f"Pushed {branch!r}; the server did not open a merge request. Open one at {new[-1]}",
        )
    return PrResult(
        FALLBACK,
        "gitlab",
        branch,
        base,
        message=(
            f"Pushed {branch!r} to {remote} with merge request push options; the server did not report a "
            "merge request (is the remote a GitLab server?)."
        ),
    )


__all__ = [
    "PrError",
    "PrResult",
    "RemoteRepo",
    "compare_url",
    "gh_create_args",
    "github_api_base",
    "github_token",
    "gitlab_push_options",
    "open_pull_request",
    "parse_remote_url",
]
