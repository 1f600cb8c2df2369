"""``docs/DOCKER_SECURITY_PATTERNS.md``: the secret-handling rules, written for one repository.

Built from a run's findings: which variables left which Dockerfile, where each
must come from now (the env example that lists it, the compose ``env_file``
that supplies it, the ``--secret id=x,env=X`` flags a build needs), what is
left for a human. It states the facts the migration plan got wrong: there is
no stdin form for ``--secret`` (``src=-`` names a file called ``-``), and
``docker compose config`` prints resolved env_file values unless told not to.

Secret values never reach the page: a secret is listed by name only; moved
settings show their old default (they are not secrets); every text taken from
a finding goes through the :class:`~codemod.output.redact.Redactor`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from codemod import __version__
from codemod.discover import ENVFILE
from codemod.model import Finding, RunResult, secret_id
from codemod.output.redact import Redactor

PAGE_PATH = Path("docs") / "DOCKER_SECURITY_PATTERNS.md"

_REMOVES_ARG = ("arg-default-secret", "secret-arg-unused")
_EXAMPLE_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$")


@dataclass
class _Image:
    dockerfile: str  # relative to the repository root
    services: list[tuple[str, str]] = field(default_factory=list)  # (compose file, service)
    env_files: list[str] = field(default_factory=list)
    example: str = ".env.example"
    secrets: list[str] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)
    build_secrets: list[tuple[str, str]] = field(default_factory=list)  # (id, variable)
    order: list[str] = field(default_factory=list)  # moved names, in the Dockerfile's ENV order
    removed_args: list[str] = field(default_factory=list)


def _rel(path: str | Path, root: Path) -> str:
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, os.path.abspath(root))
    except ValueError:  # another drive (Windows)
        return Path(absolute).as_posix()
    return Path(absolute).as_posix() if rel.startswith("..") else Path(rel).as_posix()


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _images(result: RunResult, root: Path, env_example: str | None) -> list[_Image]:
    from codemod.handoff.example import example_path

    services = result.services  # the run parsed the compose files once
    build_secrets: dict[str, dict[str, str]] = {k: dict(v) for k, v in result.build_secrets.items()}
    for f in result.findings:  # MS004 findings name the ARG; its id follows the migration's rule
        if f.kind == "buildtime-secret-in-run" and f.fixable and not f.suppressed:
            per = build_secrets.setdefault(f.path, {})
            if f.variable not in per.values():
                per.setdefault(secret_id(f.variable), f.variable)
    images: list[_Image] = []
    for path in sorted(set(result.moved) | set(build_secrets)):
        df = Path(path)
        mine = [s for s in services if s.dockerfile == df.resolve()]
        example = Path(env_example) if env_example else example_path(df, mine)
        img = _Image(
            dockerfile=_rel(df, root),
            services=[(_rel(s.compose, root), s.name) for s in mine],
            env_files=list(dict.fromkeys(_rel(e, root) for s in mine for e in s.env_files)),
            example=_rel(example, root),
        )
        mounts = build_secrets.get(path, {})
        build_vars = set(mounts.values())
        img.build_secrets = sorted(mounts.items())
        for name, old in result.moved.get(path, []):
            img.order.append(name)
            if old is None:
                if name not in build_vars:
                    img.secrets.append(name)
            else:
                img.settings.append((name, old))
        images.append(img)
    return images


def _recorded(result: RunResult, root: Path) -> list[tuple[str, list[str], list[tuple[str, str]]]]:
    """The keys of env examples an earlier migration wrote to (for a page written after ``--apply``)."""
    from codemod.analysis.names import is_secret_name
    from codemod.handoff.example import HEADER

    out: list[tuple[str, list[str], list[tuple[str, str]]]] = []
    for f in result.files:
        if f.kind != ENVFILE or not f.path.name.endswith(".example"):
            continue
        try:
            text = f.path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        if HEADER not in text:
            continue
        secrets: list[str] = []
        settings: list[tuple[str, str]] = []
        for line in text.splitlines():
            m = _EXAMPLE_KEY.match(line)
            if not m:
                continue
            name, value = m.group(1), m.group(2).strip().strip('"')
            if value and not is_secret_name(name):
                settings.append((name, value))
            else:
                secrets.append(name)  # a value under a secret name is never printed
        out.append((_rel(f.path, root), secrets, settings))
    return out


_RULES = """\
## The rules

1. **No secret in `ARG` or `ENV`, ever.** An `ARG` default and every build arg a `RUN` sees are recorded in
   the image history (`docker history` shows `ARG NAME=value` and `|1 NAME=value /bin/sh -c ...`); every
   `ENV` value is in the image config (`docker inspect`); the build cache keeps both. Anyone who can pull
   the image can read them. A bare `ARG NAME` is no better: it still accepts `--build-arg NAME=...`.
   Non-sensitive defaults (paths inside the image, ports, feature flags) may stay as `ENV`.
2. **Runtime secrets come from the runtime environment**: the compose `env_file` of the service, `docker
   run --env-file` / `-e`, a Kubernetes Secret. The live env file is never committed; the committed env
   *example* lists the names, with empty values for secrets.
3. **Build-time secrets are secret mounts.** A step that needs a token at build time mounts it for that
   step only, with `required=true` so a missing secret fails the build instead of running with an empty
   value: `RUN --mount=type=secret,id=npm_token,required=true export NPM_TOKEN="$(cat
   /run/secrets/npm_token)" && npm ci`, built with `docker buildx build --secret id=npm_token,env=NPM_TOKEN .`
   A step must not write the token into the image (`.npmrc`, `git config ... insteadOf`) unless it removes
   it again in the same `RUN`.
"""

_PITFALLS = """\
## Pitfalls

- **There is no stdin form for build secrets.** `echo "$NPM_TOKEN" | docker buildx build --secret
  id=npm_token,src=- .` does not work: `src=-` names a file called `-`. Pass the variable:
  `--secret id=npm_token,env=NPM_TOKEN` (or `src=` a file path).
- **`docker compose config` prints secrets.** By default it resolves each service's `env_file` into
  `environment:` and prints the values. Use `docker compose config --no-env-resolution`, or `docker compose
  config -q` to validate only; never paste its default output into a CI log or an issue.
- **A missing optional secret is silent**: without `required=true` the mount is skipped (no file) or, with
  `env=`, the variable is empty.
- **`env=` on a mount needs Dockerfile 1.10+** (`# syntax=docker/dockerfile:1`) and buildah 1.44+; the
  `"$(cat /run/secrets/<id>)"` form works since Dockerfile 1.2 and on older buildah and podman.
- **Compose build secrets**: declare each one at the top level (`secrets: {npm_token: {environment:
  NPM_TOKEN}}`) and keep `target` equal to `source` (or leave it out): `docker buildx bake -f compose.yaml`
  uses `source` as the id.
"""


def _image_section(img: _Image) -> list[str]:
    out = [f"### {_code(img.dockerfile)}\n"]
    if img.services:
        built = ", ".join(f"service {_code(name)} ({_code(compose)})" for compose, name in img.services)
        out.append(f"Built by compose {built}.\n")
    moved = [(name, None) for name in img.secrets] + [(name, value) for name, value in img.settings]
    if moved:
        out.append(f"Left the image for runtime configuration; every name is listed in {_code(img.example)}:\n")
        out.append("| Variable | What | Old default |\n|---|---|---|")
        for name, value in sorted(moved, key=lambda kv: img.order.index(kv[0])):
            if value is None:
                out.append(f"| {_code(name)} | secret | none: fill in at deploy time |")
            else:
                out.append(f"| {_code(name)} | setting | {_cell(_code(value))} |")
        out.append("")
        where = (f"the service's `env_file` ({', '.join(_code(e) for e in img.env_files)})" if img.env_files
                 else "`docker run --env-file` / `-e`, or a Kubernetes Secret")
        out.append(f"At runtime they come from {where}.\n")
    if img.build_secrets:
        out.append("Build-time secrets (secret mounts; the variable must be set where the image is built):\n")
        out.append("| Secret id | Read from | Build flag |\n|---|---|---|")
        out += [f"| {_code(sid)} | {_code(var)} | {_code(f'--secret id={sid},env={var}')} |"
                for sid, var in img.build_secrets]
        out.append("")
        flags = " ".join(f"--secret id={sid},env={var}" for sid, var in img.build_secrets)
        out.append("```sh\n" f"docker buildx build {flags} -f {img.dockerfile} .\n```\n")
    return out


def _supply_section(images: list[_Image]) -> list[str]:
    runtime = [img for img in images if img.secrets or img.settings]
    if not runtime:
        return []
    out = ["## Supplying the runtime values\n"]
    for img in runtime:
        names = ", ".join(_code(n) for n in img.secrets) or "no secrets"
        if img.services and img.env_files:
            live = img.env_files[-1]
            svc = img.services[0][1]
            out.append(
                f"- {_code(img.dockerfile)} (compose service {_code(svc)}): copy {_code(img.example)} to "
                f"{_code(live)} (the last `env_file` of the service; later files win), fill in {names}, and keep "
                f"{_code(live)} out of git. `docker compose up` passes it in."
            )
        else:
            out.append(
                f"- {_code(img.dockerfile)}: copy {_code(img.example)} to an ignored `.env`, fill in {names}, "
                f"and run the image with `docker run --env-file .env IMAGE`, or list the file under the "
                f"service's `env_file:` in compose."
            )
    out.append("- Kubernetes: `kubectl create secret generic APP --from-env-file=.env` and `envFrom: "
               "[{secretRef: {name: APP}}]` in the pod spec; settings can go to a ConfigMap the same way.\n")
    return out


def _build_section(images: list[_Image]) -> list[str]:
    mounts = sorted({pair for img in images for pair in img.build_secrets})
    out = ["## Build-time secrets\n"]
    if not mounts:
        out.append(
            "No build step of this repository reads a secret today. When one needs a token, mount it for that "
            "step and pass it from the environment:\n"
        )
        mounts = [("npm_token", "NPM_TOKEN")]
    else:
        out.append("Every build of these images needs the variables set and passed as secrets:\n")
    secret_lines = "".join(f"  {sid}:\n    environment: {var}\n" for sid, var in mounts)
    build_list = "".join(f"        - {sid}\n" for sid, _ in mounts)
    flags = " ".join(f"--secret id={sid},env={var}" for sid, var in mounts)
    envs = "\n".join(f"      {sid}={var}" for sid, var in mounts)
    out.append(f"```sh\ndocker buildx build {flags} .\n```\n")
    out.append("Compose (`docker compose build`):\n")
    out.append(f"```yaml\nservices:\n  app:\n    build:\n      context: .\n      secrets:\n{build_list}"
               f"secrets:\n{secret_lines}```\n")
    out.append("GitHub Actions (`docker/build-push-action`, the variable set in the step's `env:`):\n")
    out.append(f"```yaml\n  with:\n    secret-envs: |\n{envs}\n```\n")
    return out


def _human_section(findings: list[Finding], redactor: Redactor, root: Path) -> list[str]:
    left = [f for f in findings if not f.fixable and not f.suppressed]
    if not left:
        return []
    out = ["## Left for a human\n", "These findings have no automatic fix; each needs a decision:\n"]
    for f in left:
        loc = f"{_rel(f.path, root)}:{f.line}"
        fix = f" Suggested: {redactor.text(f.fix)}." if f.fix else ""
        out.append(f"- {_code(loc)} {f.rule}: {redactor.text(f.message)}.{fix}")
    out.append("")
    return out


def _verify_section(images: list[_Image]) -> list[str]:
    # names followed by "=": a secret mount's RUN may name its variable, never assign it a value in history
    names = sorted({n for img in images for n in (*img.secrets, *img.removed_args)})
    history = (f"docker history --no-trunc IMAGE | grep -E '\\b({'|'.join(names)})='   # expect no output"
               if names else "docker history --no-trunc IMAGE   # no secret value in any step")
    return [
        "## Checking an image\n",
        "`migrate-secrets verify` builds the image (or reads an image archive) and fails when a secret-named "
        "variable carries a value in the image config or history, or a known secret value is in a layer. By "
        "hand, none of these may print a secret:\n",
        "```sh\n"
        f"{history}\n"
        "docker inspect --format '{{json .Config.Env}}' IMAGE   # no secret names\n"
        "docker compose config --no-env-resolution              # never plain `config`\n"
        "```\n",
    ]


def security_patterns_page(result: RunResult, *, repo_name: str, root: Path | None = None,
                           env_example: str | None = None) -> str:
    """The repository's ``docs/DOCKER_SECURITY_PATTERNS.md`` (markdown), from a run's findings.

    ``root`` is the repository top level (paths on the page are relative to it; default: the current
    directory); ``env_example`` is the configured env example path, when one is configured.
    """
    root = root if root is not None else Path.cwd()
    redactor = Redactor(result)
    images = _images(result, root, env_example)
    out = [
        f"# Docker security patterns for {repo_name}\n",
        f"<!-- generated by migrate-secrets {__version__} (`migrate-secrets docs`); re-run it after a migration -->\n",
        "How this repository keeps secrets out of its container images: the rules, what moved out of each "
        "image and where it comes from now, and how to check an image.\n",
        _RULES,
        "## What left the images\n",
    ]
    if images:
        for img in images:
            out += _image_section(img)
    else:
        recorded = _recorded(result, root)
        if recorded:
            out.append("No secret is in an `ARG` or `ENV` of the Dockerfiles now. An earlier migration listed these "
                       "runtime variables:\n")
            for example, secrets, settings in recorded:
                if secrets:
                    out.append(f"- in {_code(example)}, secrets (fill in at deploy time): "
                               + ", ".join(_code(n) for n in secrets))
                if settings:
                    out.append(f"- in {_code(example)}, settings with defaults: "
                               + ", ".join(f"{_code(n)}={_code(v)}" for n, v in settings))
            out.append("")
        else:
            out.append("No secret is in an `ARG` or `ENV` of the Dockerfiles this run read.\n")
    removed = sorted({f.variable for f in result.findings if f.fixable and not f.suppressed and f.kind in _REMOVES_ARG})
    for img in images:
        img.removed_args = sorted({f.variable for f in result.findings if f.fixable and not f.suppressed
                                   and f.kind in _REMOVES_ARG and _rel(f.path, root) == img.dockerfile})
    runtime_names = sorted({n for img in images for n in img.secrets}
                           | {v for img in images for _, v in img.build_secrets})
    if removed or runtime_names:
        out.append("Do not add `ARG` defaults or `ENV` values back for: "
                   + ", ".join(_code(n) for n in sorted(set(removed) | set(runtime_names))) + ".\n")
    out += _supply_section(images)
    out += _build_section(images)
    out += _human_section(sorted(result.findings, key=Finding.sort_key), redactor, root)
    out.append(_PITFALLS)
    out += _verify_section(images)
    return "\n".join(out).rstrip("\n") + "\n"
