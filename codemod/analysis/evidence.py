"""Evidence from use: a variable of any name is a credential when the commands that read it treat it as one.

``ARG ID_RSA`` has no secret word, but ``echo "$ID_RSA" > ~/.ssh/id_rsa`` makes it a private key;
``ARG GIT_ACCESS`` is a token once it sits in ``https://oauth2:${GIT_ACCESS}@gitlab.com``. Given the text
of the RUN instructions (heredoc bodies included) in a variable's scope and its name, :func:`evidence`
says why the variable is a credential, with a short reason that never holds a value.

*Strong* evidence (a key file, an auth header, a password flag, a login, the password of a URL) makes the
variable a secret whatever its name and value. *Weak* evidence (used as a package index URL, or as the base
of a ``git config url.<base>.insteadOf``) says where credentials usually go: the variable is a secret when
its value does not show otherwise (no default, or a default that holds a credential).

Pure: text in, reasons out; nothing here reads files or knows the Dockerfile.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["EVIDENCE_WORDS", "Evidence", "evidence", "evidence_in", "references"]

#: trigger words (regexes on lower-cased bytes) of the uses below that no secret word announces: a rule that
#: asks :func:`evidence` must declare them (``Rule.WORDS``) or the fix loop's pre-filter skips the file
EVIDENCE_WORDS: tuple[str, ...] = (
    "pass", "token", "key", "auth", "credential", "secret", "bearer", "private-token", r"\.ssh/", r"\.pem",
    "netrc", "npmrc", "pypirc", r"\.docker/config", "://", "mysql", "mariadb", "redis-cli", "mongo", "login",
    "curl", "wget", "aws configure", "bundle config", "composer config", "poetry config", "insteadof",
    "index-url", "index_url", "-i ", "ssh-add",
)


@dataclass(frozen=True)
class Evidence:
    """Why a variable is used as a credential: ``reason`` names the use (never a value)."""

    reason: str
    strong: bool = True


#: a command boundary (a pipeline stays whole: ``echo "$K" | base64 -d > ~/.ssh/id_rsa`` is one use)
_SEPARATORS = re.compile(r"&&|\|\||;|\n")
_QUOTE = r"""["']?"""
#: a redirect or tee target
_TARGET = r"""(?:>>?|\btee(?:\s+-a)?)\s*["']?(?P<target>[^\s"';&|<>]+)"""
#: what a credential file is called, with the reason a write of the variable into it gives
_KEY_FILES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.ssh/id_[A-Za-z0-9_]+$"), "written to an SSH private key (~/.ssh/id_*)"),
    (re.compile(r"\.(?:pem|key|p12|pfx|jks|keystore)$", re.I), "written to a key file (*.pem, *.key)"),
    (re.compile(r"(?:^|/)(?:gcp|gcloud|google|service[-_]?account|sa)?[^/]*(?:key|credential|secret)s?[^/]*\.json$",
                re.I), "written to a credentials file (*key*.json)"),
)
#: files that hold a credential among other settings: only the whole variable written there is evidence
_CONFIG_FILES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:^|/)\.netrc$"), "written to .netrc"),
    (re.compile(r"(?:^|/)_?netrc$"), "written to .netrc"),
    (re.compile(r"(?:^|/)\.npmrc$"), "written to .npmrc"),
    (re.compile(r"(?:^|/)\.yarnrc\.yml$"), "written to .yarnrc.yml"),
    (re.compile(r"(?:^|/)\.pypirc$"), "written to .pypirc"),
    (re.compile(r"(?:^|/)\.git-credentials$"), "written to .git-credentials"),
    (re.compile(r"(?:^|/)\.docker/config\.json$"), "written to the docker config (auths)"),
    (re.compile(r"(?:^|/)auth\.json$"), "written to composer auth.json"),
    (re.compile(r"(?:^|/)settings\.xml$"), "written to the maven settings.xml"),
)
#: ``{R}`` is the variable's reference; each template gives a reason and whether it is strong
_TEMPLATES: tuple[tuple[str, str, bool], ...] = (
    # auth lines of tool config files
    (r":_(?:authToken|auth|password)\s*[= ]\s*" + _QUOTE + r"{R}", "an .npmrc auth line (_authToken=)", True),
    (r"\b(?:npm|yarn|pnpm)\s+config\s+set\s+\S*(?:_authToken|_auth|_password|npmAuthToken|npmAuthIdent)\S*"
     r"(?:\s+|=)" + _QUOTE + r"{R}", "stored by npm config set ...:_authToken", True),
    # HTTP headers
    (r"\b(?i:authorization|proxy-authorization|private-token|job-token|deploy-token|x-api-key|api-key|apikey|"
     r"x-auth-token|x-access-token|x-vault-token|x-jfrog-art-api)\s*:\s*(?:(?i:bearer|token|basic|apikey)\s+)?"
     + _QUOTE + r"{R}", "sent in an Authorization header", True),
    (r"\b(?i:bearer|token)\s+" + _QUOTE + r"{R}", "sent as a Bearer/token credential", True),
    # URLs: the password of user:password@, or the user when it is the whole userinfo (a token as user)
    (r"://[^\s/@'\"]*?:" + _QUOTE + r"{R}" + _QUOTE + r"@", "the password of a URL (://user:...@)", True),
    (r"://" + _QUOTE + r"{R}" + _QUOTE + r"(?::x-oauth-basic)?@", "the user of a URL (a token as user: ://...@)",
     True),
    # password and token flags
    (r"(?<![\w-])--(?P<flag>password|passwd|passphrase|pass|token|auth-token|access-token|api-key|apikey|"
     r"client-secret|secret-key|requirepass|masterauth|registry-password|docker-password)(?:=|\s+)" + _QUOTE + r"{R}",
     "passed as --{flag}", True),
    (r"(?<![\w-])-(?P<flag>storepass|keypass|srcstorepass|deststorepass|srckeypass|destkeypass|password)\s+"
     + _QUOTE + r"{R}", "passed as -{flag}", True),
    (r"(?<![\w-])-pass(?:in|out)?\s+" + _QUOTE + r"(?:pass|env):" + _QUOTE + r"{R}", "passed as an openssl pass:",
     True),
    (r"(?<![\w-])-D[\w.-]*(?:password|passwd|secret|token)[\w.-]*=" + _QUOTE + r"{R}", "passed as a password property",
     True),
    (r"\b(?:mysql|mysqladmin|mysqldump|mariadb|mariadb-admin|mysqlimport|mysqlshow|mysqlcheck)\b[^\n]*?\s-p"
     + _QUOTE + r"{R}", "passed as mysql -p", True),
    (r"\bsshpass\s+-p\s*" + _QUOTE + r"{R}", "passed as sshpass -p", True),
    (r"\bredis-cli\b[^\n]*?\s-a\s+" + _QUOTE + r"{R}", "passed as redis-cli -a", True),
    (r"\bmongo(?:sh|dump|restore)?\b[^\n]*?\s-p\s+" + _QUOTE + r"{R}", "passed as mongo -p", True),
    (r"\b(?:docker|podman|buildah|skopeo|nerdctl)\s+login\b[^\n]*?\s-p\s+" + _QUOTE + r"{R}",
     "passed as docker login -p", True),
    (r"\b(?:curl|wget|lftp|http)\b[^\n]*?(?<![\w-])(?:-u|--user|--proxy-user|--http-user)(?:=|\s+)"
     + _QUOTE + r"(?:[^\s:\"']*:)?{R}" + _QUOTE + r"(?=[\s;&|)]|$)", "passed as curl -u user:password", True),
    # tools that store the credential
    (r"\baws\s+configure\s+set\s+(?:aws_secret_access_key|aws_session_token|aws_access_key_id)\s+" + _QUOTE + r"{R}",
     "stored by aws configure set", True),
    (r"\bbundle\s+config\s+(?:set\s+)?(?:--\w+\s+)?(?:https?://\S+|[\w-]+(?:\.[\w-]+)+/?)\s+" + _QUOTE + r"{R}",
     "stored by bundle config (a gem source credential)", True),
    (r"\bcomposer\s+config\s+(?:--\w+\s+)*(?:http-basic|github-oauth|gitlab-oauth|gitlab-token|bearer)\.\S+\s+"
     r"(?:\S+\s+)?" + _QUOTE + r"{R}", "stored by composer config (auth)", True),
    (r"\bpoetry\s+config\s+(?:http-basic|pypi-token)\.\S+\s+(?:\S+\s+)?" + _QUOTE + r"{R}",
     "stored by poetry config (auth)", True),
    (r"\bgit\s+config\b[^\n]*?\burl\." + _QUOTE + r"[^\s]*?{R}[^\s]*?" + _QUOTE + r"\.insteadOf\b",
     "the base of a git insteadOf URL", True),
    # where credentials usually go: weak, the value decides
    (r"(?<![\w-])(?:--index-url|--extra-index-url|--find-links|--default-index|--index)(?:=|\s+)" + _QUOTE + r"{R}",
     "used as a package index URL (--index-url)", False),
    (r"\b(?:pip3?|uv\s+pip|python3?\s+-m\s+pip)\s+install\b[^\n]*?\s-i\s+" + _QUOTE + r"{R}",
     "used as a package index URL (pip -i)", False),
    (r"\b(?:PIP_INDEX_URL|PIP_EXTRA_INDEX_URL|UV_INDEX_URL|UV_EXTRA_INDEX_URL|UV_DEFAULT_INDEX)=" + _QUOTE + r"{R}",
     "used as a package index URL (PIP_INDEX_URL)", False),
    (r"\bpip3?\s+config\s+set\s+\S*index-url\s+" + _QUOTE + r"{R}", "used as a package index URL (pip config)",
     False),
)
#: lines of a config file written by a heredoc or a multi-line echo: they span commands
_LINE_TEMPLATES: tuple[tuple[str, str], ...] = (
    (r"\b(?i:machine)\s+\S+.*\b(?i:password)\s+" + _QUOTE + r"{R}", "a .netrc password"),
    (r"(?m:^)\s*(?i:password)\s*[:=]\s*" + _QUOTE + r"{R}", "a password line of a config file"),
)
#: logins that take the credential on stdin or in their arguments, anywhere in the pipeline
_LOGIN = re.compile(
    r"\b(?:(?:docker|podman|buildah|skopeo|nerdctl|oras)\s+login|helm\s+registry\s+login|gh\s+auth\s+login|"
    r"huggingface-cli\s+login|npm\s+login|crane\s+auth\s+login|regctl\s+registry\s+login)\b"
)
_PASSWORD_STDIN = re.compile(r"--password-stdin\b|--with-token\b")
_USERNAME = re.compile(r"(?<![\w-])(?:-u|--username|--user)(?:=|\s+)\S+")
_WHOLE_WRITE = r"""\b(?:echo|printf)\s+(?:-[neE]+\s+)*(?:["']%s(?:\\n)?["']\s+)?["']?{R}["']?\s*(?:\|[^|>\n]*)?"""


@functools.lru_cache(maxsize=4096)
def references(name: str) -> re.Pattern[str]:
    """``$NAME``, ``${NAME}``, ``${NAME:-...}`` and friends (not ``$NAMEX``)."""
    n = re.escape(name)
    return re.compile(r"\$(?:\{" + n + r"(?:[:#%/?+=-][^}]*)?\}|" + n + r"(?![A-Za-z0-9_]))")


@functools.lru_cache(maxsize=1024)
def _patterns(name: str) -> tuple[tuple[re.Pattern[str], str, bool], ...]:
    ref = references(name).pattern
    return tuple((re.compile(t.replace("{R}", "(?:" + ref + ")")), reason, strong) for t, reason, strong in _TEMPLATES)


@functools.lru_cache(maxsize=1024)
def _line_patterns(name: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    ref = references(name).pattern
    return tuple((re.compile(t.replace("{R}", "(?:" + ref + ")")), reason) for t, reason in _LINE_TEMPLATES)


@functools.lru_cache(maxsize=1024)
def _whole_write(name: str) -> re.Pattern[str]:
    return re.compile(_WHOLE_WRITE.replace("{R}", "(?:" + references(name).pattern + ")") + _TARGET)


def evidence_in(text: str, name: str) -> list[Evidence]:
    """Every use of ``$name`` in one shell text that treats it as a credential, strong ones first."""
    ref = references(name)
    if not ref.search(text):
        return []
    found: list[Evidence] = []
    for command in _SEPARATORS.split(_join_continuations(text)):
        if not ref.search(command):
            continue
        found.extend(_in_command(command, name))
    # lines of a config file (a heredoc .netrc / .pypirc whose password line names the variable)
    for pattern, reason in _line_patterns(name):
        if pattern.search(text):
            found.append(Evidence(reason))
    out = list(dict.fromkeys(found))
    return sorted(out, key=lambda e: not e.strong)


def _in_command(command: str, name: str) -> list[Evidence]:
    found: list[Evidence] = []
    ref = references(name)
    for m in re.finditer(_TARGET, command):
        before = command[: m.start()]
        if not ref.search(before):
            continue
        target = m.group("target")
        for pattern, reason in _KEY_FILES:
            if pattern.search(target):
                found.append(Evidence(reason))
    for m in _whole_write(name).finditer(command):
        for pattern, reason in _CONFIG_FILES:
            if pattern.search(m.group("target")):
                found.append(Evidence(reason))
    for pattern, reason, strong in _patterns(name):
        hit = pattern.search(command)
        if hit is not None:
            flag = hit.groupdict().get("flag")
            found.append(Evidence(reason.format(flag=flag) if flag else reason, strong))
    # the user name of a login is no credential: look for the variable elsewhere in the command
    rest = _USERNAME.sub(" ", command)
    if ref.search(rest):
        login = _LOGIN.search(rest)
        if login is not None:
            found.append(Evidence(f"passed to {' '.join(login.group().split())}"))
        elif _PASSWORD_STDIN.search(rest):
            found.append(Evidence("piped to a --password-stdin login"))
    if _ssh_add(name).search(command):
        found.append(Evidence("loaded into ssh-agent (ssh-add)"))
    return found


@functools.lru_cache(maxsize=1024)
def _ssh_add(name: str) -> re.Pattern[str]:
    """``echo "$K" | ssh-add -`` or ``ssh-add <(echo "$K")``: the variable is the key."""
    ref = "(?:" + references(name).pattern + ")"
    return re.compile(ref + r"[^|\n]*\|[^|\n]*\bssh-add\s+-(?:\s|$)|\bssh-add\s+<\([^)]*" + ref)


def _join_continuations(text: str) -> str:
    return re.sub(r"\\\r?\n", " ", text)


def evidence(texts: Iterable[str], name: str) -> Evidence | None:
    """The best evidence, in the texts of the RUN instructions (heredoc bodies included) that see the variable,
    that ``name`` holds a credential: strong before weak, else None."""
    best: Evidence | None = None
    for text in texts:
        for e in evidence_in(text, name):
            if e.strong:
                return e
            if best is None:
                best = e
    return best
