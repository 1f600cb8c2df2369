"""Git side of ``--branch`` and ``--pr``: preflight, one commit on a branch, push.

The run's flow (:mod:`codemod.session`) is::

    preflight(root, files_to_edit, branch, force)        # raises VcsError, writes nothing
    ... write the files ...
    sha = commit_on_branch(root, changed, branch, msg, force)
    push_branch(root, branch, remote)                      # only for --pr (pr.py does it)

The commit is built in a temporary index from HEAD's tree plus exactly the
changed files, so nothing the user had staged or modified elsewhere goes in,
and the user's index keeps its other entries. Backups (``*.backup-*``) are
never committed. gitpython is imported inside the functions (start-up time).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import git

DEFAULT_BRANCH = "migrate-secrets/buildkit-secrets"
FALLBACK_NAME = "migrate-secrets"
FALLBACK_EMAIL = "migrate-secrets@localhost"
BACKUP_GLOB = "*.backup-*"

StrPath = str | os.PathLike[str]

_CRED_IN_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


class VcsError(Exception):
    """A git step refused or failed. The message is written for the user."""


def redact_urls(text: str) -> str:
    """Hide ``user:token@`` in URLs (git prints remote URLs in its errors)."""
    return _CRED_IN_URL.sub(r"\g<scheme>***@", text)


def is_backup(path: str) -> bool:
    return fnmatch.fnmatch(os.path.basename(path), BACKUP_GLOB)


# --------------------------------------------------------------------------- helpers


@contextmanager
def _open(repo_root: StrPath) -> Iterator[git.Repo]:
    import git

    try:
        repo = git.Repo(os.fspath(repo_root), search_parent_directories=True)
    except git.NoSuchPathError as exc:
        raise VcsError(f"{repo_root}: no such directory") from exc
    except git.InvalidGitRepositoryError as exc:
        raise VcsError(f"{repo_root}: not inside a git work tree (--branch and --pr need git)") from exc
    try:
        if repo.bare or repo.working_tree_dir is None:
            raise VcsError(f"{repo_root}: a bare repository has no work tree to commit from")
        # Paths are file names, never globs; and never write the index from a read.
        repo.git.update_environment(GIT_LITERAL_PATHSPECS="1")
        yield repo
    finally:
        repo.close()


def _top(repo: git.Repo) -> Path:
    assert repo.working_tree_dir is not None
    return Path(repo.working_tree_dir).resolve()


def _rel_paths(repo: git.Repo, repo_root: StrPath, files: Iterable[StrPath]) -> list[str]:
    """Repository-relative POSIX paths; relative inputs are taken from *repo_root*.

    Symlinks are resolved (the write goes through to the target, so the target
    is what changed); a path that ends up outside the work tree is refused.
    """
    top = _top(repo)
    base = Path(repo_root).resolve()
    out: list[str] = []
    for f in files:
        p = Path(f)
        if not p.is_absolute():
            p = base / p
        real = p.resolve()
        try:
            rel = real.relative_to(top)
        except ValueError:
            raise VcsError(f"{f}: outside the repository {top}") from None
        if not rel.parts:
            raise VcsError(f"{f}: is the repository itself, not a file")
        if rel.parts[0] == ".git":
            raise VcsError(f"{f}: inside .git")
        posix = rel.as_posix()
        if posix not in out:
            out.append(posix)
    return sorted(out)


def _ref_sha(repo: git.Repo, ref: str) -> str | None:
    import git

    try:
        out = repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except git.GitCommandError:
        return None
    return str(out).strip() or None


def _head_sha(repo: git.Repo) -> str:
    import git

    try:
        return str(repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")).strip()
    except git.GitCommandError:
        raise VcsError(
            "the repository has no commit yet: make a first commit, then run --branch again"
        ) from None


def _check_state(repo: git.Repo) -> None:
    """Refuse when a merge, rebase, cherry-pick, revert or bisect is in progress."""
    gd = Path(repo.git_dir)
    common = Path(repo.common_dir)
    markers = {
        "MERGE_HEAD": "a merge",
        "CHERRY_PICK_HEAD": "a cherry-pick",
        "REVERT_HEAD": "a revert",
        "rebase-merge": "a rebase",
        "rebase-apply": "a rebase or git am",
    }
    for name, what in markers.items():
        if (gd / name).exists():
            raise VcsError(f"{what} is in progress in {_top(repo)}: finish or abort it first")
    if (gd / "BISECT_LOG").exists() or (common / "BISECT_LOG").exists():
        raise VcsError(f"a bisect is in progress in {_top(repo)}: run `git bisect reset` first")


def _check_branch_name(repo: git.Repo, name: str) -> None:
    import git

    bad = not name or name.startswith("-") or name == "HEAD" or name.startswith("refs/")
    if not bad:
        try:
            repo.git.check_ref_format(f"refs/heads/{name}")
        except git.GitCommandError:
            bad = True
    if bad:
        raise VcsError(f"{name!r} is not a valid branch name (see `git check-ref-format`)")


def _ref_conflicts(repo: git.Repo, name: str) -> list[str]:
    """Existing branches that make ``refs/heads/<name>`` impossible (a/b vs a)."""
    out = str(repo.git.for_each_ref("--format=%(refname)", "refs/heads/"))
    mine = f"refs/heads/{name}"
    hits = []
    for ref in out.splitlines():
        if ref == mine:
            continue
        if ref.startswith(mine + "/") or mine.startswith(ref + "/"):
            hits.append(ref[len("refs/heads/") :])
    return hits


def _other_worktree_with(repo: git.Repo, name: str) -> str | None:
    out = str(repo.git.worktree("list", "--porcelain"))
    top = _top(repo)
    path: str | None = None
    for line in out.splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree ") :]
        elif line == f"branch refs/heads/{name}" and path is not None:
            if Path(path).resolve() != top:
                return path
    return None


def _dirty(repo: git.Repo, paths: Sequence[str]) -> list[str]:
    """``path (reason)`` for each path with uncommitted changes (staged, unstaged, untracked)."""
    if not paths:
        return []
    out = str(
        repo.git.status(
            "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths, env={"GIT_OPTIONAL_LOCKS": "0"}
        )
    )
    wanted = set(paths)
    reasons: dict[str, list[str]] = {}
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        xy, path = entry[:2], entry[3:]
        other = None
        if xy[0] in "RC":  # rename/copy: the source follows
            other = fields[i] if i < len(fields) else None
            i += 1
        why: list[str] = []
        if xy == "??":
            why.append("untracked, never committed")
        else:
            if xy[0] not in " ?":
                why.append("staged changes")
            if xy[1] == "D":
                why.append("deleted, not committed")
            elif xy[1] != " ":
                why.append("modified, not committed")
        for p in (path, other):
            if p is not None and p in wanted:
                reasons.setdefault(p, []).extend(why)
    return [f"{p} ({', '.join(dict.fromkeys(reasons[p]))})" for p in paths if p in reasons]


def _ignored(repo: git.Repo, paths: Sequence[str]) -> list[str]:
    """Untracked paths that .gitignore / info/exclude would keep out of a commit."""
    ignored = []
    for p in paths:  # one by one: check-ignore's output quotes odd names, -z needs --stdin
        status, _out, err = repo.git.check_ignore(
            "-q",
            "--",
            p,
            env={"GIT_LITERAL_PATHSPECS": "0"},  # check-ignore takes paths and refuses pathspec magic
            with_extended_output=True,
            with_exceptions=False,
        )
        if status == 0:
            ignored.append(p)
        elif status != 1:
            raise VcsError(f"git check-ignore {p} failed: {str(err).strip()}")
    return ignored


def _identity(repo: git.Repo, role: str) -> git.Actor:
    """Author/committer as git would pick it, else ``migrate-secrets <migrate-secrets@localhost>``."""
    import git

    def config(key: str) -> str:
        try:
            return str(repo.git.config("--get", key)).strip()
        except git.GitCommandError:
            return ""

    upper = role.upper()
    name = os.environ.get(f"GIT_{upper}_NAME", "") or config(f"{role}.name") or config("user.name")
    email = os.environ.get(f"GIT_{upper}_EMAIL", "") or config(f"{role}.email") or config("user.email")
    if not name.strip() or not email.strip():
        return git.Actor(FALLBACK_NAME, FALLBACK_EMAIL)
    return git.Actor(name, email)


# --------------------------------------------------------------------------- public API


def find_repo_root(path: StrPath) -> Path | None:
    """The top of the git work tree holding *path*, or None outside git."""
    import git

    p = Path(path)
    start = p if p.is_dir() else p.parent
    try:
        repo = git.Repo(os.fspath(start), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    try:
        if repo.bare or repo.working_tree_dir is None:
            return None
        return Path(repo.working_tree_dir)
    finally:
        repo.close()


def preflight(
    repo_root: StrPath,
    files_to_edit: Iterable[StrPath],
    branch_name: str = DEFAULT_BRANCH,
    force_branch: bool = False,
) -> None:
    """Check, before anything is written, that ``--branch`` can run; raise :class:`VcsError` if not.

    Refuses: not a work tree; no commit yet; a merge/rebase/... in progress; an
    invalid branch name; an existing branch (unless *force_branch*; even then
    not one checked out in another worktree); and any file to edit that has
    staged or unstaged changes, is untracked, or is ignored. Relative paths
    are taken from *repo_root*. Reads only (``GIT_OPTIONAL_LOCKS=0``).
    """
    with _open(repo_root) as repo:
        _head_sha(repo)
        _check_state(repo)
        _check_branch_name(repo, branch_name)
        problems: list[str] = []
        existing = _ref_sha(repo, f"refs/heads/{branch_name}")
        if existing and not force_branch:
            problems.append(
                f"branch {branch_name!r} already exists (at {existing[:12]}): pass --force-branch to "
                "reset it to HEAD, or choose another --branch-name"
            )
        elif existing:
            where = _other_worktree_with(repo, branch_name)
            if where:
                problems.append(f"branch {branch_name!r} is checked out in another worktree: {where}")
        conflicts = _ref_conflicts(repo, branch_name)
        if conflicts:
            problems.append(
                f"branch {branch_name!r} cannot be created next to existing branch(es) "
                f"{', '.join(repr(c) for c in conflicts)}: choose another --branch-name"
            )
        paths = [p for p in _rel_paths(repo, repo_root, files_to_edit) if not is_backup(p)]
        dirty = _dirty(repo, paths)
        if dirty:
            problems.append(
                "files it would edit have uncommitted changes (commit or stash them first, "
                "so the migration commit holds only its own edits):\n" + "\n".join(f"    {d}" for d in dirty)
            )
        ignored = _ignored(repo, paths)
        if ignored:
            problems.append(
                "files it would write are ignored by git and could not be committed "
                "(un-ignore them, e.g. `!.env.example` in .gitignore):\n"
                + "\n".join(f"    {p}" for p in ignored)
            )
        if problems:
            raise VcsError(
                "--branch refused, nothing was written:\n" + "\n".join(f"  - {p}" for p in problems)
            )


def commit_on_branch(
    repo_root: StrPath,
    changed_files: Iterable[StrPath],
    branch_name: str = DEFAULT_BRANCH,
    message: str = "Move secrets out of the Docker build",
    force_branch: bool = False,
) -> str:
    """Commit exactly *changed_files* on a new branch made at HEAD; check it out; return the sha.

    The branch is created (or, with *force_branch*, reset) at the current HEAD,
    which may be detached. The commit's tree is HEAD's tree plus the current
    content of *changed_files* (deleted files are removed); backups
    (``*.backup-*``) are dropped from the list. HEAD then points at the branch;
    the work tree is not touched, and the index entries of the committed paths
    are updated while every other staged change stays staged and uncommitted.
    Hooks do not run. Author and committer come from git (environment, then
    config), else ``migrate-secrets <migrate-secrets@localhost>``.

    On failure the branch and HEAD are put back as they were and
    :class:`VcsError` is raised; the written files stay (backups exist).
    """
    import git

    with _open(repo_root) as repo:
        _check_state(repo)
        _check_branch_name(repo, branch_name)
        head = _head_sha(repo)
        ref = f"refs/heads/{branch_name}"
        old = _ref_sha(repo, ref)
        if old and not force_branch:
            raise VcsError(f"branch {branch_name!r} already exists: pass --force-branch to reset it")
        if old:
            where = _other_worktree_with(repo, branch_name)
            if where:
                raise VcsError(f"branch {branch_name!r} is checked out in another worktree: {where}")
        paths = [p for p in _rel_paths(repo, repo_root, changed_files) if not is_backup(p)]
        if not paths:
            raise VcsError("no changed files to commit")
        ignored = _ignored(repo, paths)
        if ignored:
            raise VcsError("refusing to commit files ignored by git: " + ", ".join(ignored))
        tree = _tree_with(repo, head, paths)
        if not message.endswith("\n"):
            message += "\n"
        commit = git.Commit.create_from_tree(
            repo,
            tree,
            message,
            parent_commits=[repo.commit(head)],
            head=False,
            author=_identity(repo, "author"),
            committer=_identity(repo, "committer"),
        )
        _check_out(repo, branch_name, commit.hexsha, head, old, paths)
        return commit.hexsha


def _tree_with(repo: git.Repo, head: str, paths: list[str]) -> str:
    """HEAD's tree plus the current content of ``paths``, built in a temporary index."""
    import git

    top = _top(repo)
    head_tree = str(repo.git.rev_parse(f"{head}^{{tree}}")).strip()
    tmpdir = tempfile.mkdtemp(prefix="migrate-secrets-", dir=repo.git_dir)
    try:
        env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
        repo.git.read_tree(head, env=env)
        tracked = set(str(repo.git.ls_files("-z", "--", *paths, env=env)).split("\0")) - {""}
        to_add = [p for p in paths if os.path.lexists(top / p) or p in tracked]
        if to_add:
            repo.git.add("-A", "--", *to_add, env=env)
        tree = str(repo.git.write_tree(env=env)).strip()
    except git.GitCommandError as exc:
        why = redact_urls(str(exc.stderr)).strip()
        raise VcsError(f"could not stage the changed files: {why}") from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if tree == head_tree:
        raise VcsError("the changed files are identical to HEAD: nothing to commit")
    return tree


def _check_out(repo: git.Repo, branch_name: str, sha: str, head: str, old: str | None, paths: list[str]) -> None:
    """Point the branch at ``sha`` and HEAD at the branch; the committed paths' index entries follow. On a
    failure the branch and HEAD are put back."""
    import git

    ref = f"refs/heads/{branch_name}"
    symbolic: str | None
    try:
        symbolic = str(repo.git.symbolic_ref("-q", "HEAD")).strip()
    except git.GitCommandError:
        symbolic = None  # detached
    moved_ref = moved_head = False
    try:
        repo.git.update_ref("-m", f"migrate-secrets: commit on {branch_name}", ref, sha, old or "0" * len(head))
        moved_ref = True
        if symbolic != ref:
            repo.git.symbolic_ref("-m", f"migrate-secrets: checkout {branch_name}", "HEAD", ref)
            moved_head = True
        # The real index: committed paths now match the new HEAD; the rest stays as it was.
        repo.git.reset("-q", sha, "--", *paths)
    except git.GitCommandError as exc:
        try:
            if moved_head:
                if symbolic:
                    repo.git.symbolic_ref("HEAD", symbolic)
                else:
                    repo.git.update_ref("--no-deref", "HEAD", head)
            if moved_ref:
                if old:
                    repo.git.update_ref(ref, old)
                else:
                    repo.git.update_ref("-d", ref)
        except git.GitCommandError:
            pass
        why = redact_urls(str(exc.stderr)).strip()
        raise VcsError(f"could not commit on {branch_name!r}: {why}") from exc


def remote_url(repo_root: StrPath, remote: str = "origin") -> str:
    """The URL configured for *remote* as written (before ``insteadOf`` rewriting)."""
    import git

    with _open(repo_root) as repo:
        try:
            return str(repo.git.config("--get", f"remote.{remote}.url")).strip()
        except git.GitCommandError:
            pass
        try:
            return str(repo.git.remote("get-url", remote)).strip()
        except git.GitCommandError:
            raise VcsError(f"no git remote named {remote!r}: add one or pass --remote") from None


def _push_env() -> dict[str, str]:
    # Never hang on a credential prompt when nobody can answer it.
    return {} if sys.stdin is not None and sys.stdin.isatty() else {"GIT_TERMINAL_PROMPT": "0"}


def remote_heads(repo_root: StrPath, remote: str, branch: str, timeout: float = 30.0) -> list[str]:
    """The remote's ``refs/heads/<branch>`` (empty when it has none); :class:`VcsError` when the remote cannot
    be reached: before anything is written, so a ``--pr`` that cannot push writes nothing."""
    import git

    with _open(repo_root) as repo:
        try:
            out = str(repo.git.ls_remote("--heads", remote, f"refs/heads/{branch}", env=_push_env(),
                                         kill_after_timeout=timeout))
        except git.GitCommandError as exc:
            why = redact_urls(str(exc.stderr)).strip() or f"exit {exc.status}"
            raise VcsError(f"cannot reach git remote {remote!r}: {why}") from None
        return [line.split("\t", 1)[-1] for line in out.splitlines() if line.strip()]


def remote_default_branch(repo_root: StrPath, remote: str = "origin", timeout: float = 30.0) -> str | None:
    """The branch the remote's HEAD points at (``git ls-remote --symref``), else ``<remote>/HEAD``."""
    import git

    with _open(repo_root) as repo:
        try:
            out = str(
                repo.git.ls_remote("--symref", remote, "HEAD", env=_push_env(), kill_after_timeout=timeout)
            )
            for line in out.splitlines():
                if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
                    return line[len("ref: refs/heads/") : -len("\tHEAD")]
        except git.GitCommandError:
            pass
        try:
            local = str(repo.git.symbolic_ref("-q", f"refs/remotes/{remote}/HEAD")).strip()
        except git.GitCommandError:
            return None
        prefix = f"refs/remotes/{remote}/"
        return local[len(prefix) :] if local.startswith(prefix) else None


def push_branch(
    repo_root: StrPath,
    branch: str,
    remote: str = "origin",
    *,
    push_options: Sequence[str] = (),
    force: bool = False,
    timeout: float = 300.0,
) -> str:
    """Push ``refs/heads/<branch>`` to *remote* (setting upstream); return git's stderr.

    *push_options* go out as ``-o <option>`` each (no newline or NUL allowed);
    *force* replaces the remote branch (after ``--force-branch``). The stderr
    is returned because servers answer there (GitLab prints the MR URL).
    """
    import git

    for opt in push_options:
        if "\n" in opt or "\0" in opt:
            raise VcsError("push options must not have new line or NUL characters")
    with _open(repo_root) as repo:
        _check_branch_name(repo, branch)
        if not _ref_sha(repo, f"refs/heads/{branch}"):
            raise VcsError(f"no local branch {branch!r} to push")
        try:
            repo.git.remote("get-url", remote)
        except git.GitCommandError:
            raise VcsError(f"no git remote named {remote!r}: add one or pass --remote") from None
        args: list[str] = ["--set-upstream"]
        for opt in push_options:
            args += ["-o", opt]
        spec = f"refs/heads/{branch}:refs/heads/{branch}"
        args += [remote, ("+" + spec) if force else spec]
        status, _out, err = repo.git.push(
            *args,
            env=_push_env(),
            kill_after_timeout=timeout,
            with_extended_output=True,
            with_exceptions=False,
        )
        err = str(err)
        if status != 0:
            hint = ""
            if "non-fast-forward" in err or "fetch first" in err:
                hint = f"\n(the remote already has a different {branch!r}: pass --force-branch to replace it)"
            raise VcsError(
                f"git push {remote} {branch} failed (exit {status}):\n{redact_urls(err).strip()}{hint}"
            )
        return redact_urls(err)
