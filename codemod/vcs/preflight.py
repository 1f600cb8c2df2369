"""``--pr`` before anything is written: every check that can fail without a push (design.md section 5).

A ``--pr`` that cannot succeed must write nothing and leave the checkout where it was, so the run calls
:func:`check_pull_request` (after :func:`codemod.vcs.git.preflight`) before the first file is written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from codemod.vcs.git import redact_urls, remote_heads, remote_url
from codemod.vcs.pr import PROVIDERS, PrError, github_token, parse_remote_url


def check_pull_request(
    repo_root: str | os.PathLike[str],
    branch: str,
    *,
    remote: str = "origin",
    provider: str = "github",
    api_url: str | None = None,
    force_branch: bool = False,
    env: Mapping[str, str] = os.environ,
    timeout: float = 30.0,
) -> None:
    """Everything about ``--pr`` that can be checked before a file is written; raise :class:`PrError`.

    The provider is known; the remote exists, is reachable (``git ls-remote``) and names a host the
    provider serves (github.com or ``*.ghe.com``, another host only with ``--github-api-url`` or
    ``GITHUB_API_URL`` for GitHub Enterprise Server); the GitHub provider has a token, the ``gh`` one
    its CLI; the remote has no branch of that name unless ``force_branch``.
    """
    if provider not in PROVIDERS:
        raise PrError(f"unknown --pr-provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    url = remote_url(repo_root, remote)
    repo = parse_remote_url(url)
    shown = redact_urls(url)
    if repo is None:
        raise PrError(f"remote {remote!r} ({shown}) names no hosted repository: --pr needs a remote such as "
                      "https://HOST/OWNER/REPO(.git) or git@HOST:OWNER/REPO")
    if provider != "gitlab":
        enterprise = api_url or env.get("GITHUB_API_URL")
        if repo.host != "github.com" and not repo.host.endswith(".ghe.com") and not enterprise:
            raise PrError(f"remote {remote!r} is on {repo.host}, not a GitHub host: pass --github-api-url for "
                          "GitHub Enterprise Server, or --pr-provider gitlab for a GitLab server")
        if "/" in repo.owner:
            raise PrError(f"remote {remote!r} ({shown}) is not an OWNER/REPO GitHub repository")
    if provider == "github" and github_token(repo.host, env) is None:
        raise PrError("--pr needs a token to open the pull request: set GH_TOKEN (or GITHUB_TOKEN) to a token "
                      "with pull-request write access, or use --pr-provider gh after `gh auth login`, or "
                      "--branch and open the pull request by hand")
    if provider == "gh" and shutil.which("gh", path=env.get("PATH", os.defpath)) is None:
        raise PrError("--pr-provider gh needs the GitHub CLI, but `gh` was not found on PATH")
    heads = remote_heads(repo_root, remote, branch, timeout=timeout)
    if heads and not force_branch:
        raise PrError(f"remote {remote!r} already has a branch {branch!r}: pass --force-branch to replace it, "
                      "or choose another --branch-name")
