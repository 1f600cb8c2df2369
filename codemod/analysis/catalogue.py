"""What build tools do with secrets, as data: one place, each entry with an example its test runs.

- :data:`READERS`: tools known to read a variable from the environment by themselves (design.md
  section 3, consumers (b)). A RUN that runs one reads the variable without naming it.
- :data:`INERT`: commands that consume nothing they do not name. A RUN made of these alone reads only
  the variables it names; any other command runs code the tool cannot see into and may read any
  variable in scope (consumers (c)).
- :data:`WRITERS`: commands that write a credential into a file of the layer, with the undo that
  really removes it where one exists (checked against the real tools: docs/tool-behaviour.md).

Matching is on a simple command's words (:mod:`codemod.analysis.shell`), after wrappers such as
``sudo``, ``env``, ``exec`` and reserved words (``then``, ``do``) are stripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: words that run the command after them (their own options skipped)
WRAPPERS = frozenset({"sudo", "env", "exec", "nohup", "time", "command", "gosu", "su-exec", "chroot", "nice",
                      "ionice", "stdbuf", "timeout", "xvfb-run", "tini", "dumb-init", "runuser"})
#: shell reserved words that may start a simple command without being the program
RESERVED = frozenset({"then", "do", "else", "elif", "!", "{", "}", "if", "while", "until", "case", "esac", "fi",
                      "done", "in"})
#: constructs whose first word is not a program at all
CONSTRUCTS = frozenset({"for", "select", "function"})


@dataclass(frozen=True)
class Reader:
    """A tool that reads variables from the environment without a ``$`` in the command.

    ``program`` matches the program word (and ``args`` the rest, when given); ``variables`` matches the
    names it reads by itself. ``via`` is ``"self"`` when the tool reads them from the environment
    directly, or the kind of configuration file that must name them (``"npmrc"``: ``${X}`` in an
    ``.npmrc``/``.yarnrc.yml`` of the build context; ``"maven"``: ``${env.X}`` in a Maven settings file).
    """

    name: str
    program: re.Pattern[str]
    variables: re.Pattern[str]
    example: str
    example_var: str
    via: str = "self"
    args: re.Pattern[str] | None = None


def _r(name: str, program: str, variables: str, example: str, example_var: str, *, via: str = "self",
       args: str | None = None) -> Reader:
    return Reader(name, re.compile(program), re.compile(variables), example, example_var, via,
                  re.compile(args) if args else None)


READERS: tuple[Reader, ...] = (
    # pnpm 10.34+ no longer expands ${X} in a project .npmrc (docs/tool-behaviour.md): it may read it only
    _r("npm", r"^(?:npm|npx|yarn|yarnpkg|corepack)$", r"^[A-Za-z_][A-Za-z0-9_]*$",
       "npm ci", "NPM_TOKEN", via="npmrc"),
    _r("npm config from the environment", r"^(?:npm|npx|pnpm)$", r"^(?i:npm_config_\w+)$",
       "npm ci", "NPM_CONFIG__AUTH"),
    _r("pip", r"^(?:pip|pip3|pip3\.\d+)$", r"^PIP_\w+$", "pip install -r requirements.txt", "PIP_INDEX_URL"),
    _r("pip (python -m)", r"^python(?:3(?:\.\d+)?)?$", r"^PIP_\w+$", "python -m pip install -r r.txt",
       "PIP_EXTRA_INDEX_URL", args=r"^-m pip\b"),
    _r("uv", r"^(?:uv|uvx)$", r"^UV_\w+$", "uv sync --frozen", "UV_INDEX_PRIVATE_PASSWORD"),
    _r("poetry", r"^poetry$", r"^POETRY_\w+$", "poetry install --no-root", "POETRY_HTTP_BASIC_PRIVATE_PASSWORD"),
    _r("pipenv", r"^pipenv$", r"^(?:PIPENV_\w+|PIP_\w+)$", "pipenv install --deploy", "PIP_INDEX_URL"),
    _r("twine", r"^twine$", r"^TWINE_\w+$", "twine upload dist/*", "TWINE_PASSWORD"),
    # bundler reads the upper-case spelling only (docs/tool-behaviour.md)
    _r("bundler", r"^(?:bundle|bundler)$", r"^BUNDLE_[A-Z0-9_]+$", "bundle install --jobs 4",
       "BUNDLE_GEMS__CONTRIBSYS__COM"),
    _r("rubygems", r"^gem$", r"^GEM_HOST_API_KEY$", "gem push pkg.gem", "GEM_HOST_API_KEY"),
    _r("rails", r"^(?:rails|rake|bin/rails|\./bin/rails|bin/rake|\./bin/rake)$",
       r"^(?:SECRET_KEY_BASE|RAILS_MASTER_KEY|RAILS_\w+|DATABASE_URL)$",
       "bundle exec rails assets:precompile", "SECRET_KEY_BASE"),
    _r("composer", r"^composer(?:\.phar)?$", r"^COMPOSER_\w+$", "composer install --no-dev", "COMPOSER_AUTH"),
    _r("cargo", r"^cargo$", r"^CARGO_\w+$", "cargo build --release", "CARGO_REGISTRIES_PRIVATE_TOKEN"),
    _r("gradle", r"^(?:gradle|\./gradlew|gradlew)$", r"^(?:ORG_GRADLE_PROJECT_\w+|GRADLE_\w+)$",
       "./gradlew build", "ORG_GRADLE_PROJECT_repoPassword"),
    _r("maven", r"^(?:mvn|\./mvnw|mvnw)$", r"^[A-Za-z_][A-Za-z0-9_]*$", "mvn -B package", "MAVEN_REPO_TOKEN",
       via="maven"),
    _r("go", r"^go$", r"^(?:GOPROXY|GOPRIVATE|GONOSUMDB|GONOPROXY|GOFLAGS|GOAUTH|GOSUMDB)$",
       "go mod download", "GOPROXY"),
    _r("sentry-cli", r"^(?:sentry-cli|@sentry/cli)$", r"^SENTRY_\w+$", "sentry-cli sourcemaps upload dist",
       "SENTRY_AUTH_TOKEN"),
    _r("gh", r"^gh$", r"^(?:GH_TOKEN|GITHUB_TOKEN|GH_ENTERPRISE_TOKEN|GITHUB_ENTERPRISE_TOKEN)$",
       "gh release download v1", "GH_TOKEN"),
    _r("aws", r"^aws$", r"^AWS_\w+$", "aws s3 cp s3://b/k .", "AWS_SECRET_ACCESS_KEY"),
    _r("huggingface", r"^(?:huggingface-cli|hf)$", r"^(?:HF_\w+|HUGGING_FACE_HUB_TOKEN)$",
       "huggingface-cli download org/model", "HF_TOKEN"),
    _r("terraform", r"^(?:terraform|tofu)$", r"^(?:TF_VAR_\w+|TF_TOKEN_\w+)$", "terraform init",
       "TF_TOKEN_app_terraform_io"),
    _r("vault", r"^vault$", r"^VAULT_\w+$", "vault kv get secret/app", "VAULT_TOKEN"),
    _r("nuget", r"^(?:dotnet|nuget)$", r"^(?:NUGET_\w+|VSS_NUGET_\w+)$", "dotnet restore", "VSS_NUGET_ACCESSTOKEN"),
)

#: programs that consume nothing they do not name (design.md section 3): package installs from public
#: repositories, file operations, shell builtins, fetches without credentials. The value is a condition
#: on the arguments (None: always inert).
INERT: dict[str, re.Pattern[str] | None] = {
    **dict.fromkeys(
        ("apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper", "dpkg", "rpm", "apt-key", "apt-mark",
         "add-apt-repository", "update-ca-certificates", "locale-gen", "update-locale", "localedef", "ldconfig",
         "update-alternatives", "dpkg-reconfigure", "mkdir", "cp", "mv", "ln", "rm", "rmdir", "chmod", "chown",
         "chgrp", "useradd", "adduser", "groupadd", "addgroup", "usermod", "userdel", "groupdel", "passwd",
         "echo", "printf", "cd", "pwd", "tar", "unzip", "gzip", "gunzip", "bzip2", "xz", "zip", "zstd", "true",
         "false", "test", "[", "[[", "ls", "cat", "touch", "sed", "grep", "egrep", "fgrep", "awk", "tee", "sort",
         "uniq", "head", "tail", "wc", "cut", "tr", "install", "export", "set", "unset", "umask", "exit",
         "return", "shift", "readonly", "local", "sleep", "date", "id", "whoami", "sha256sum", "sha512sum",
         "sha1sum", "md5sum", "gpg", "gpgv", "dirmngr", "gpgconf", "basename", "dirname", "realpath",
         "readlink", "stat", "file", "which", "type", "hash", "ulimit", "mktemp", "diff", "cmp", "du", "df",
         "strip", "patch", "rsync", "wait", "trap", "getent", "hostname", "uname", "nproc", "tput", "clear",
         "yes", "seq", "xxd", "base64", "ssh-keyscan", "setcap", "chsh", "mknod", "mkfifo", "sync", "fc-cache",
         "curl", "wget", "git", "openssl", "keytool", "jq", "yq", "envsubst", "dos2unix", "iconv", ":", "printenv"),
        None,
    ),
    # pip installs packages by name or from a requirements file (design.md); a local path, an
    # editable install or a VCS URL runs the project's own build code
    "pip": re.compile(r"^(?!.*(?:^|\s)(?:\.|\.\/\S*|/\S+|-e|--editable|git\+\S+|\S+\.(?:tar\.gz|zip))(?:\s|$))"),
    "find": re.compile(r"^(?!.*\s-(?:exec|execdir|ok|okdir)\b)"),
    "corepack": re.compile(r"^(?:enable|disable|prepare)\b"),
}
INERT["pip3"] = INERT["pip"]
#: programs that are shells: ``sh -c '...'`` is read as the commands in its string; a script file or
#: standard input (``curl ... | sh``) runs code the tool cannot see
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "/bin/sh", "/bin/bash", "/bin/ash", "/usr/bin/env"})


@dataclass(frozen=True)
class Writer:
    """A command that writes a credential into a file that stays in the layer.

    ``undo`` builds the shell command that really removes what was written (from the match), or is
    None when no undo is known to remove every copy (then a human decides).
    """

    name: str
    pattern: re.Pattern[str]
    what: str
    undo: str | None
    example: str
    #: a later command of the same RUN that already undoes the write (a regex; ``{group}`` placeholders are
    #: filled with the escaped groups of the match); default: the undo itself
    undone_by: str | None = None


WRITERS: tuple[Writer, ...] = (
    # npm also logs the command line, token included, to ~/.npm/_logs: `config delete` leaves that copy
    Writer("npm config set", re.compile(r"^(?:npm|pnpm)\s+config\s+set\b"), "npm config set (~/.npmrc and npm's log)",
           None, "npm config set //registry.npmjs.org/:_authToken $NPM_TOKEN"),
    Writer("yarn config set", re.compile(r"^yarn\s+config\s+set\s+(?P<key>\S+)"), "yarn config set {key}", None,
           "yarn config set npmAuthToken $NPM_TOKEN"),
    Writer("pip config set",
           re.compile(r"^pip3?\s+config\s+(?P<flags>(?:--(?:user|global|site)\s+)?)set\s+(?P<key>\S+)"),
           "pip config set {key} (pip.conf)", "pip config {flags}unset {key}",
           "pip config set global.index-url $PIP_INDEX_URL"),
    Writer("bundle config",
           re.compile(r"^bundle\s+config\s+(?:set\s+)?(?!unset\b|get\b|list\b)(?:--(?:global|local)\s+)?"
                      r"(?P<key>[^\s-]\S*)\s+\S"),
           "bundle config {key} (.bundle/config)", "bundle config unset {key}",
           "bundle config set --global gems.contribsys.com $BUNDLE_GEMS__CONTRIBSYS__COM"),
    Writer("composer config",
           re.compile(r"^composer\s+config\s+(?P<scope>(?:-g\s+|--global\s+)?)"
                      r"(?P<key>(?:http-basic|github-oauth|gitlab-oauth|gitlab-token|bearer|bitbucket-oauth)\.\S+)"),
           "composer config {key} (auth.json)", "composer config {scope}--unset {key}",
           "composer config -g http-basic.repo.example.com user $COMPOSER_TOKEN"),
    Writer("poetry config", re.compile(r"^poetry\s+config\s+(?P<key>(?:http-basic|pypi-token)\.\S+)"),
           "poetry config {key} (auth.toml)", "poetry config --unset {key}",
           "poetry config http-basic.private user $POETRY_PASSWORD"),
    Writer("git config insteadOf",
           re.compile(r"^git\s+config\s+(?P<scope>(?:--(?:global|system|file\s+\S+)\s+)?)(?:--add\s+)?"
                      r"(?P<section>url\.\S*?)\.insteadOf\b", re.I),
           "git config insteadOf (.gitconfig)", "git config {scope}--remove-section {section}",
           'git config --global url."https://x:${GITHUB_TOKEN}@github.com/".insteadOf "https://github.com/"',
           # git 2.39: unsetting the last key removes the whole section (docs/tool-behaviour.md)
           r"^git\s+config\s+(?:--(?:global|system|file\s+\S+)\s+)?"
           r"(?:--unset(?:-all)?\s+{section}\.insteadOf|--remove-section\s+{section})(?:\s|$)"
           # or the whole user configuration removed
           r"|^rm\s+(?:-\S+\s+)*(?:~|/root|\$HOME|\$\{{HOME\}})/\.gitconfig(?:\s|$)"),
    Writer("git config credential", re.compile(r"^git\s+config\s+.*\b(?:credential\.|http\.\S*extraheader)", re.I),
           "git config credential (.gitconfig)", None,
           'git config --global http.https://github.com/.extraheader "AUTHORIZATION: basic $AUTH"'),
    Writer("git clone with credentials",
           re.compile(r"^git\s+(?:clone|remote\s+(?:add|set-url)|submodule\s+add)\b.*://[^/\s]*@"),
           "git clone with credentials in the URL (.git/config)", None,
           "git clone https://x-access-token:${GITHUB_TOKEN}@github.com/acme/lib.git /src/lib"),
    Writer("git credential store", re.compile(r"^git\s+credential(?:-store)?\s+(?:approve|store)\b"),
           "git credential store (.git-credentials)", None,
           "printf 'protocol=https\\nhost=github.com\\nusername=x\\npassword=%s\\n' \"$GITHUB_TOKEN\" "
           "| git credential approve"),
    Writer("huggingface login", re.compile(r"^(?:huggingface-cli\s+login|hf\s+auth\s+login)\b"),
           "huggingface login (token file)", None, "huggingface-cli login --token $HF_TOKEN"),
    Writer("docker login", re.compile(r"^docker\s+login\b(?:.*\s)?(?P<registry>[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)\s*$"),
           "docker login (~/.docker/config.json)", "docker logout {registry}",
           "docker login -u ci -p $REGISTRY_PASSWORD registry.example.com"),
    Writer("docker login (default registry)", re.compile(r"^docker\s+login\b"), "docker login (~/.docker/config.json)",
           None, 'echo "$REGISTRY_PASSWORD" | docker login -u ci --password-stdin'),
    Writer("gh auth login", re.compile(r"^gh\s+auth\s+login\b"), "gh auth login (hosts.yml)", None,
           "gh auth login --with-token"),
    Writer("npm login", re.compile(r"^(?:npm|yarn|pnpm)\s+(?:login|adduser)\b"), "npm login (~/.npmrc)", None,
           'printf "ci\\n%s\\n" "$NPM_PASSWORD" | npm login --registry https://npm.example.com'),
    Writer("cargo login", re.compile(r"^cargo\s+login\b"), "cargo login (credentials.toml)", None,
           "cargo login $CARGO_TOKEN"),
    Writer("aws configure", re.compile(r"^aws\s+configure\s+set\b"), "aws configure set (~/.aws/credentials)", None,
           "aws configure set aws_secret_access_key $AWS_SECRET_ACCESS_KEY"),
    Writer("sentry-cli login", re.compile(r"^sentry-cli\s+login\b"), "sentry-cli login (~/.sentryclirc)", None,
           "sentry-cli login --auth-token $SENTRY_AUTH_TOKEN"),
)

#: credential files build tools read: a RUN that writes one with ``>`` for its own build step may remove it
#: at its end (``rm -f``); any other file a secret is written into may be meant for run time, so a human
#: decides
BUILD_CREDENTIAL_FILE = re.compile(
    r"(?:^|/)(?:\.npmrc|\.yarnrc(?:\.yml)?|\.netrc|_netrc|\.pypirc|pip\.conf|pip\.ini|\.git-credentials|"
    r"\.sentryclirc|settings\.xml|auth\.json|auth\.toml|credentials\.toml|\.docker/config\.json|\.gem/credentials)$"
)
#: programs a secret may pass through on its way into a file unchanged (``echo $T | tee f``)
PASS_THROUGH = frozenset({"tee", "cat", "base64", "xxd", "sed", "awk", "tr", "envsubst", "printf", "echo", "grep",
                          "egrep", "fgrep", "sort", "uniq", "head", "tail", "cut", "paste", "jq", "yq"})
