"""Which files a run looks at, and of which kind, decided by name before reading.

Inside a git work tree the index answers (tracked plus untracked-not-ignored
files), so ignored trees such as ``node_modules`` are never walked. Outside one,
the walk skips VCS and dependency folders. Symlinks that lead outside the root
are not followed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = "dockerfile"
COMPOSE = "compose"
WORKFLOW = "workflow"
MAKEFILE = "makefile"
SCRIPT = "script"
ENVFILE = "envfile"
PYTHON = "python"
#: CI and build configuration that may pass build args (GitLab CI, Jenkinsfile, CircleCI, Cloud Build, Azure
#: Pipelines, Bitbucket, Drone, Travis, docker-bake, Skaffold, devcontainer): the format goes by its name
CI = "ci"

#: Dockerfile names as ``docker build`` and real repositories spell them, any case: ``Dockerfile``,
#: ``dockerfile``, ``Dockerfile.dev``, ``Dockerfile-deploykeys``, ``Dockerfile_rails``, ``api.Dockerfile``,
#: a hidden ``.Dockerfile``, ``Containerfile*``
_DOCKERFILE = re.compile(r"^(?:dockerfile|containerfile)(?:[._-].+)?$|^.*\.(?:dockerfile|containerfile)$", re.I)
#: a Dockerfile-like name that is really something else: code, docs, data, archives, editor and patch
#: leftovers (``dockerfile.go``, ``Dockerfile.md``, ``Dockerfile-lint.sh``, ``dockerfile_test.py``)
_NOT_A_DOCKERFILE = re.compile(
    r"\.(?:py|pyc|pyi|go|js|mjs|cjs|ts|tsx|jsx|rb|java|kt|kts|scala|groovy|rs|c|h|cc|cpp|hpp|cs|php|pl|lua|swift"
    r"|sh|bash|zsh|fish|ps1|psm1|bat|cmd|md|markdown|rst|txt|adoc|asciidoc|html|htm|pdf|png|jpe?g|gif|svg|ico"
    r"|json|ya?ml|toml|ini|xml|csv|lock|sum|mod|orig|rej|bak|swp|swo|tmp|old|log|diff|patch|zip|t?gz|tar|bz2|xz"
    r"|sig|asc|sha256|sha512|md5|in|erb|mustache|hbs|njk|ejs|liquid|snap|golden)$|~$",
    re.I,
)
_COMPOSE = re.compile(r"^(docker-)?compose[^/]*\.ya?ml$")
_BACKUP = re.compile(r"\.backup-\d{8}-\d{6}(-\d+)?$")
_TEMPLATE = re.compile(r"\.(j2|jinja|jinja2|tmpl|tpl|template)$")
_SKIP_DIRS = {".git", "node_modules", ".hg", ".svn", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"}
_ENV = re.compile(r"^(\.env(\..+)?|.+\.env|env\.[^/]+)$")
_CI = re.compile(
    r"^(?:\.gitlab-ci\.ya?ml|(?:[Jj]enkinsfile(?:[.-].+)?|.+\.[Jj]enkinsfile)|cloudbuild[^/]*\.(?:ya?ml|json)"
    r"|azure-pipelines[^/]*\.ya?ml|bitbucket-pipelines\.ya?ml|\.drone\.ya?ml|\.travis\.ya?ml"
    r"|docker-bake(?:\.[^/]+)?\.hcl|skaffold[^/]*\.ya?ml|\.?devcontainer\.json)$")


@dataclass(frozen=True)
class Discovered:
    path: Path  # as the user would write it (relative to cwd when under it)
    kind: str


def kind_of(path: str | Path, *, explicit: bool = False) -> str | None:
    """A file's kind from its path alone (forward or OS separators), or None."""
    rel = path.as_posix() if isinstance(path, Path) else path.replace(os.sep, "/")
    name = rel.rsplit("/", 1)[-1]
    if _BACKUP.search(name):
        return None
    if name.endswith(".dockerignore") or _TEMPLATE.search(name):
        return None
    if _DOCKERFILE.match(name) and not _NOT_A_DOCKERFILE.search(name):
        return DOCKERFILE
    if _COMPOSE.match(name):
        return COMPOSE
    if name.endswith((".yml", ".yaml")) and (rel.startswith(".github/workflows/") or "/.github/workflows/" in rel) \
            and rel.count("/", rel.rfind(".github/workflows/")) == 2:
        return WORKFLOW
    if _CI.match(name) or (name.endswith((".yml", ".yaml")) and rel.rsplit("/", 2)[-2:-1] == [".circleci"]):
        return CI
    if name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
        return MAKEFILE
    if name.endswith((".sh", ".bash")):
        return SCRIPT
    if _ENV.match(name):
        return ENVFILE
    if name.endswith(".py"):
        return PYTHON
    if explicit:
        return DOCKERFILE
    return None


def git_root(start: Path) -> Path | None:
    """The top of the git work tree holding ``start``."""
    d = start.resolve()
    if d.is_file():
        d = d.parent
    for cand in (d, *d.parents):
        if (cand / ".git").exists():
            return cand
    return None


#: absolute path -> its real path, for this run (see :func:`real_path`)
_REAL: dict[str, str] = {}


def real_path(p: Path) -> Path:
    """``p.resolve()``, with each directory's answer remembered for the run (``forget_real_paths``): a
    compose file's services resolve paths under the same few directories, one lstat per new part."""
    if ".." in p.parts:
        return Path(os.path.realpath(p))  # ".." after a symlink leads from the link's target: the full walk
    return Path(_real(os.path.abspath(p)))


def _real(s: str) -> str:
    hit = _REAL.get(s)
    if hit is not None:
        return hit
    parent, name = os.path.split(s)
    if not name or parent == s:
        return s
    cand = os.path.join(_real(parent), name)
    out = os.path.realpath(cand) if os.path.islink(cand) else cand
    _REAL[s] = out
    return out


def forget_real_paths() -> None:
    _REAL.clear()


def git_dir(start: Path) -> Path | None:
    """The repository directory of the work tree holding ``start`` (a worktree's or submodule's own)."""
    for d in (start, *start.parents):
        g = d / ".git"
        if g.is_dir():
            return g
        if g.is_file():  # worktree / submodule: "gitdir: <path>"
            text = g.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                p = Path(text.split(":", 1)[1].strip())
                return p if p.is_absolute() else (d / p).resolve()
    return None


def _git_files(root: Path, sub: Path) -> list[str] | None:
    """Paths relative to ``root`` (forward slashes) that git tracks or would track under ``sub``."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
             str(sub.resolve().relative_to(root))],
            capture_output=True, check=True, timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return sorted({os.fsdecode(p) for p in out.split(b"\0") if p})


def _walk(top: Path, root: Path) -> Iterable[str]:
    """Files under ``top`` as paths relative to ``root`` with forward slashes."""
    base = str(root)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel_dir = os.path.relpath(dirpath, base).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for f in sorted(filenames):
            yield prefix + f


def _display(p: Path, cwd: Path) -> Path:
    try:
        return p.relative_to(cwd)
    except ValueError:
        return Path(os.path.relpath(p, cwd))


def _lexical_root(absolute: Path) -> Path:
    """The git work tree holding ``absolute`` without following symlinks, else the current directory."""
    for cand in absolute.parents:
        if (cand / ".git").exists():
            return cand
    return Path(os.path.abspath(Path.cwd()))


def _leads_outside(arg: Path) -> bool:
    """A PATH that is, or passes through, a symlink whose target lies outside the repository."""
    absolute = Path(os.path.abspath(arg))
    try:
        real = Path(os.path.realpath(absolute))
    except (OSError, RuntimeError):
        return False  # a loop: reported by the reader
    if real == absolute:
        return False
    root = Path(os.path.realpath(_lexical_root(absolute)))
    return not real.is_relative_to(root)


# --- Dockerfiles named by the files that build them -----------------------------------------------------

#: ``docker build``, ``docker buildx build``, ``podman build``, ``buildah bud``, ``$(DOCKER) build``: the rest
#: of the command (up to a command separator) holds its flags
_BUILD_COMMAND = re.compile(
    r"(?:^|[\s;&|(`])(?:[^\s;&|(`]*/)?(?:docker|podman|buildah|nerdctl|\$\(DOCKER\)|\$\{DOCKER\}|\$DOCKER)"
    r"\s+(?:buildx\s+|image\s+)?(?:build|bud)(?=\s)(?P<rest>[^\n;&|]*)",
    re.I,
)
_FILE_FLAG = re.compile(r"(?:^|\s)(?:-f|--file)(?:=|\s+)(?P<path>\"[^\"]*\"|'[^']*'|[^\s\"']+)")
_CONTINUATION = re.compile(r"\\\r?\n")


def build_file_flags(text: str) -> list[str]:
    """The paths the ``-f``/``--file`` flags of the ``docker build`` commands in a shell text name, as
    written (paths with a ``$``, an expression or ``-`` for stdin are left out: they name nothing here)."""
    if "build" not in text and "bud" not in text:
        return []
    out: list[str] = []
    for m in _BUILD_COMMAND.finditer(_CONTINUATION.sub(" ", text)):
        for f in _FILE_FLAG.finditer(m.group("rest")):
            path = f.group("path")
            if path[:1] in "\"'":
                path = path[1:-1]
            if path and path != "-" and "$" not in path and "{{" not in path:
                out.append(path)
    return list(dict.fromkeys(out))


def discover(paths: list[str], *, kinds: set[str] | None = None, include: tuple[str, ...] = (),
             exclude: tuple[str, ...] = (), log: list[str] | None = None) -> list[Discovered]:
    """Files under ``paths`` by kind, sorted and without duplicates (the Dockerfiles that build files name
    under other names are added by :func:`codemod.invocations.named.with_named_dockerfiles`)."""
    cwd = Path.cwd()
    found: dict[Path, Discovered] = {}
    for raw in paths or ["."]:
        arg = Path(raw)
        if _leads_outside(arg):
            found.setdefault(arg.absolute(), Discovered(arg, "outside"))
            continue
        if arg.is_file() or (arg.is_symlink() and not arg.exists()):
            kind = kind_of(arg, explicit=True)
            if kind and (kinds is None or kind in kinds):
                found.setdefault(arg.absolute(), Discovered(arg, kind))
            elif log is not None:
                log.append(f"skip {arg}: not a file kind migrate-secrets reads")
            continue
        if not arg.exists():
            found.setdefault(arg.absolute(), Discovered(arg, "missing"))
            continue
        if arg.is_dir() and kind_of(arg) == DOCKERFILE and raw.rstrip("/") == raw:
            # a directory named like a Dockerfile, named explicitly: the reader reports it
            found.setdefault(arg.absolute(), Discovered(arg, DOCKERFILE))
            continue
        root = git_root(arg) or arg.resolve()
        files = _git_files(root, arg) if (root / ".git").exists() else None
        if files is None:
            root = arg.absolute()
            files = list(_walk(root, root))
        real_root = root.resolve()
        # strings, not Path objects, on this path: it runs once per file of the tree
        root_str = str(root.absolute())
        shown_root = os.path.relpath(root_str, cwd)
        shown_prefix = "" if shown_root == "." else shown_root.replace(os.sep, "/") + "/"
        for posix in files:
            kind = kind_of(posix)
            if kind is None:
                if log is not None and _BACKUP.search(posix):
                    log.append(f"skip {posix}: a migrate-secrets backup")
                continue
            if kinds is not None and kind not in kinds:
                continue
            if include and not any(fnmatch.fnmatch(posix, g) for g in include):
                continue
            if exclude and any(fnmatch.fnmatch(posix, g) for g in exclude):
                continue
            full = os.path.join(root_str, posix)
            shown = Path(shown_prefix + posix)
            if os.path.islink(full):
                try:
                    target = Path(full).resolve(strict=True)
                except (OSError, RuntimeError):
                    if log is not None:
                        log.append(f"skip {full}: broken symlink or symlink loop")
                    found.setdefault(Path(full), Discovered(shown, "symlink-error"))
                    continue
                if not target.is_relative_to(real_root):
                    if log is not None:
                        log.append(f"skip {full}: symlink leads outside {root}")
                    continue
            found.setdefault(Path(full), Discovered(shown, kind))
    return [found[k] for k in sorted(found)]
