"""Every consumer keeps its secret (issue 14): one test per class of wrong rewrite seen on real repositories.

Each case is a Dockerfile in the shape of the real ones (written here, not copied). Before this change the
tool rewrote each of them wrongly while calling it fixed; now every RUN that read the secret (or may) keeps
it, nothing goes to run time that only a build step reads, and a secret still written into a layer is
never counted as fixed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codemod.app import run
from codemod.config import Config
from codemod.fix.loop import migrate


def _migrate(text: str, context: Path | None = None) -> tuple[str, list, str]:
    res = migrate(text.encode(), "Dockerfile", Config(), context_dir=context)
    new = res.new.decode() if res.new is not None else text
    moved = sorted({k for h in res.hits if h.finding.fixable for k in h.moved})
    return new, res.hits, " ".join(moved)


def _run_line(new: str, needle: str) -> str:
    lines = [ln for ln in new.splitlines() if needle in ln and ln.lstrip().startswith(("RUN", "ONBUILD"))]
    assert len(lines) == 1, new
    return lines[0]


def _human(hits: list) -> list[str]:
    return sorted(f"{h.finding.rule}:{h.finding.variable}" for h in hits if not h.finding.fixable)


# -- 1. deleted as unused, but read ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "needle", "secret", "required"), [
    # the Sentry plugin of the web build reads SENTRY_AUTH_TOKEN from the environment
    ("FROM node:20-alpine AS build\nWORKDIR /app\nCOPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\n"
     "ARG SENTRY_AUTH_TOKEN\nCOPY . .\nRUN yarn build\n", "yarn build", "sentry_auth_token", False),
    # rails reads SECRET_KEY_BASE by itself
    ("FROM ruby:3.3-slim\nWORKDIR /rails\nCOPY Gemfile Gemfile.lock ./\nRUN bundle install\nCOPY . .\n"
     "ARG SECRET_KEY_BASE\nRUN bundle exec rails assets:precompile\n", "assets:precompile", "secret_key_base", True),
    # a `set -u` script fails without the variable it reads
    ("FROM debian:bookworm-slim\nARG DEPLOY_TOKEN\nCOPY scripts/ /scripts/\nRUN set -eu; /scripts/fetch-assets.sh\n",
     "fetch-assets", "deploy_token", False),
    # Django's settings read the database password during migrate
    ("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nARG DB_PASSWORD\n"
     "RUN python manage.py migrate --noinput\n", "manage.py migrate", "db_password", False),
])
def test_an_arg_no_step_names_is_kept_for_the_steps_that_may_read_it(text: str, needle: str, secret: str,
                                                                     required: bool) -> None:
    new, hits, _ = _migrate(text)
    line = _run_line(new, needle)
    assert f"--mount=type=secret,id={secret}" in line
    assert ("required=true" in line) is required
    assert "ARG " not in new.split(needle)[0].split("\n")[-1]
    assert not _human(hits)


def test_an_npmrc_copied_in_under_another_name_is_read_by_npm(tmp_path: Path) -> None:
    (tmp_path / ".npmrc-ci").write_text("@acme:registry=https://npm.pkg.github.com\n"
                                        "//npm.pkg.github.com/:_authToken=${NPM_TOKEN}\n")
    text = "FROM node:20\nWORKDIR /app\nARG NPM_TOKEN\nCOPY .npmrc-ci .npmrc\nCOPY package*.json ./\nRUN npm ci\n"
    new, hits, _ = _migrate(text, tmp_path)
    assert "--mount=type=secret,id=npm_token,required=true" in _run_line(new, "npm ci")
    assert [h.finding.message for h in hits if h.finding.rule == "MS004"] == [
        "RUN reads secret build arg NPM_TOKEN, recorded in the image history; mount it as secret npm_token"]


# -- 2. build-only ENV treated as runtime ------------------------------------------------------------

def test_a_builder_stage_binding_becomes_mounts_only() -> None:
    text = ("FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nARG MAVEN_TOKEN\nENV MAVEN_TOKEN=$MAVEN_TOKEN\n"
            "COPY . .\nRUN mvn -B -s settings.xml package -DskipTests\n\n"
            "FROM eclipse-temurin:21-jre\nCOPY --from=build /src/target/app.jar /app.jar\n"
            'CMD ["java", "-jar", "/app.jar"]\n')
    new, hits, moved = _migrate(text)
    assert "MAVEN_TOKEN" not in moved  # nothing goes to run time: the runtime image never had it
    assert "--mount=type=secret,id=maven_token" in _run_line(new, "mvn -B")
    assert "ENV MAVEN_TOKEN" not in new and "ARG MAVEN_TOKEN" not in new


def test_maven_settings_naming_the_variable_make_the_mount_required(tmp_path: Path) -> None:
    (tmp_path / "settings.xml").write_text("<settings><servers><server><id>acme</id><username>ci</username>"
                                           "<password>${env.MAVEN_TOKEN}</password></server></servers></settings>\n")
    text = "FROM maven:3.9 AS build\nARG MAVEN_TOKEN\nENV MAVEN_TOKEN=$MAVEN_TOKEN\nCOPY . .\nRUN mvn -B package\n" \
           "FROM eclipse-temurin:21-jre\nCOPY --from=build /target/app.jar /app.jar\n"
    new, _, _ = _migrate(text, tmp_path)
    assert "--mount=type=secret,id=maven_token,required=true" in _run_line(new, "mvn -B")


# -- 3. a runtime secret also read at build time --------------------------------------------------------

def test_a_runtime_secret_read_by_a_build_step_goes_to_run_time_and_to_that_step() -> None:
    text = ("FROM ruby:3.3-slim\nWORKDIR /app\nCOPY . .\nRUN bundle install\nARG DATABASE_PASSWORD\n"
            "ENV DATABASE_PASSWORD=$DATABASE_PASSWORD\nRUN bundle exec rake db:migrate\n"
            'CMD ["bin/rails", "server"]\n')
    new, hits, moved = _migrate(text)
    assert moved == "DATABASE_PASSWORD"
    line = _run_line(new, "db:migrate")
    assert "--mount=type=secret,id=database_password" in line
    assert 'export DATABASE_PASSWORD="$(cat /run/secrets/database_password)"' in line
    assert "ENV DATABASE_PASSWORD" not in new


# -- 4. a placeholder a build step needs -------------------------------------------------------------------

def test_a_placeholder_default_stays_the_fallback_of_the_step_that_reads_it() -> None:
    text = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
            "ARG SECRET_KEY=insecure-build-only-key\nRUN python manage.py collectstatic --noinput\n")
    new, hits, _ = _migrate(text)
    line = _run_line(new, "collectstatic")
    assert "printf %s insecure-build-only-key" in line  # without a secret, the step sees the old value
    assert "ARG SECRET_KEY" not in new


def test_a_placeholder_env_goes_inline_on_every_step_that_may_read_it() -> None:
    text = ("FROM python:3.12-slim\nENV DJANGO_SECRET_KEY=changeme\nCOPY . .\n"
            "RUN pip install -r requirements.txt && python manage.py collectstatic --noinput\n")
    new, _, moved = _migrate(text)
    assert _run_line(new, "collectstatic").startswith("RUN export DJANGO_SECRET_KEY=changeme && pip install")
    assert moved == "DJANGO_SECRET_KEY"


# -- 5 and 8. ONBUILD --------------------------------------------------------------------------------------

def test_onbuild_mounts_are_never_required() -> None:
    text = ("FROM node:20-alpine\nWORKDIR /app\nONBUILD ARG NPM_TOKEN\nONBUILD COPY package*.json .npmrc ./\n"
            "ONBUILD RUN npm ci\nONBUILD COPY . .\n")
    new, hits, _ = _migrate(text)
    line = _run_line(new, "npm ci")
    assert line.startswith("ONBUILD RUN --mount=type=secret,id=npm_token if [ -f /run/secrets/npm_token ]")
    assert "required" not in line and "env=" not in line  # a child's frontend may predate env= mounts
    assert "ONBUILD ARG NPM_TOKEN" not in new


def test_a_parent_arg_is_not_read_by_an_onbuild_run() -> None:
    text = "FROM node:20\nARG NPM_TOKEN\nONBUILD RUN npm ci\n"
    new, hits, _ = _migrate(text)
    assert "ONBUILD RUN npm ci" in new  # untouched: the child build never sees the parent's ARG
    assert [h.finding.rule for h in hits] == ["MS013"]


# -- 6. "fixed" but still in a layer -----------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    "git clone https://ci:${GITHUB_TOKEN}@github.com/acme/private-lib.git /opt/lib && pip install /opt/lib",
    "huggingface-cli login --token $GITHUB_TOKEN && huggingface-cli download acme/model",
    "npm config set //npm.pkg.github.com/:_authToken $GITHUB_TOKEN && npm ci",
    'git config --global http.https://github.com/.extraheader "AUTHORIZATION: bearer $GITHUB_TOKEN" && go mod download',
])
def test_a_secret_still_written_into_the_layer_is_never_fixed(command: str) -> None:
    text = f"FROM python:3.12\nARG GITHUB_TOKEN\nRUN {command}\n"
    new, hits, _ = _migrate(text)
    assert new == text  # nothing changes for that secret
    assert "MS015:GITHUB_TOKEN" in _human(hits)
    assert all(not h.finding.fixable for h in hits)


@pytest.mark.parametrize(("command", "undo"), [
    ("bundle config set --global gems.contribsys.com $BUNDLE_TOKEN && bundle install",
     "bundle config unset gems.contribsys.com"),
    ("composer config -g http-basic.repo.acme.io ci $BUNDLE_TOKEN && composer install --no-dev",
     "composer config -g --unset http-basic.repo.acme.io"),
    ("poetry config http-basic.acme ci $BUNDLE_TOKEN && poetry install --no-root",
     "poetry config --unset http-basic.acme"),
])
def test_a_write_with_a_verified_undo_is_undone_in_the_same_run(command: str, undo: str) -> None:
    text = f"FROM ruby:3.3\nARG BUNDLE_TOKEN\nRUN {command}\n"
    new, hits, _ = _migrate(text)
    assert _run_line(new, command.split(" && ")[-1]).endswith(f" && {undo}")
    assert not _human(hits)


# -- 7. written to a file that ships ------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    'echo "SENTRY_AUTH_TOKEN=$SENTRY_AUTH_TOKEN" >> .env && npm run build',
    'printf "[secrets]\\ntoken = \\"%s\\"\\n" "$SENTRY_AUTH_TOKEN" > .secrets.toml && npm run build',
])
def test_a_secret_written_to_a_file_the_image_may_ship_goes_to_a_human(command: str) -> None:
    text = (f"FROM node:20 AS builder\nWORKDIR /app\nCOPY . .\nARG SENTRY_AUTH_TOKEN\nRUN {command}\n"
            "FROM node:20-slim\nCOPY --from=builder /app/.next/standalone ./\n")
    new, hits, _ = _migrate(text)
    assert new == text
    assert "MS015:SENTRY_AUTH_TOKEN" in _human(hits)


def test_a_build_tool_credential_file_written_and_used_is_removed_in_the_same_run() -> None:
    text = ("FROM node:20 AS builder\nWORKDIR /app\nCOPY . .\nARG SENTRY_AUTH_TOKEN\n"
            'RUN printf "[auth]\\ntoken=%s\\n" "$SENTRY_AUTH_TOKEN" > .sentryclirc && npm run build\n'
            "FROM node:20-slim\nCOPY --from=builder /app/dist ./dist\n")
    new, hits, _ = _migrate(text)
    assert _run_line(new, "npm run build").endswith("npm run build && rm -f .sentryclirc")


# -- the summary counts truthfully ------------------------------------------------------------------------

def test_apply_counts_a_persisted_secret_as_needing_a_human(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine/git\nARG GITHUB_TOKEN\n"
                                         "RUN git clone https://x:${GITHUB_TOKEN}@github.com/acme/lib.git /lib\n")
    monkeypatch.chdir(tmp_path)
    result = run(["."], Config())
    assert result.changes == []
    assert {f.rule for f in result.needs_human} == {"MS004", "MS015"}
    from typer.testing import CliRunner

    from codemod.cli import app

    out = CliRunner().invoke(app, ["--apply", "."])
    assert out.exit_code == 1
    assert re.search(r"\b0 fix", out.output) or "fix" not in out.output.split("need")[0]


# -- which stages someone runs -------------------------------------------------------------------------------

def test_a_stage_another_file_targets_reaches_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12 AS base\nARG DB_PASSWORD\nENV DB_PASSWORD=$DB_PASSWORD\n"
        "FROM base AS dev\nRUN pip install -r requirements-dev.txt\n"
        "FROM python:3.12-slim AS prod\nCOPY --from=base /app /app\n")
    monkeypatch.chdir(tmp_path)
    # nobody runs `base` or `dev`: the binding reaches no container, nothing goes to run time
    assert not run(["."], Config()).moved
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    build:\n      context: .\n      target: dev\n")
    # compose runs `dev`, built FROM `base`: the container reads DB_PASSWORD
    assert [k for items in run(["."], Config()).moved.values() for k, _ in items] == ["DB_PASSWORD"]


def test_a_step_run_as_another_user_can_read_its_secret() -> None:
    # BuildKit and buildah mount a secret file 0400 for root: `npm ci` as USER node would read nothing
    text = ("FROM node:20\nWORKDIR /home/node/app\nCOPY --chown=node package*.json .npmrc ./\nUSER node\n"
            "ARG NPM_TOKEN\nRUN npm ci\n")
    new, _, _ = _migrate(text)
    assert "--mount=type=secret,id=npm_token,mode=0444 " in _run_line(new, "npm ci")
    root = text.replace("USER node\n", "")
    assert ",mode=" not in _migrate(root)[0]


def test_compose_keeps_a_runtime_secret_a_build_step_also_reads(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The ARG becomes a build secret for the step and runtime configuration for the container: compose
    passes it both ways (build.secrets and the service's environment)."""
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
        "ARG DJANGO_DB_PASSWORD\nENV DJANGO_DB_PASSWORD=$DJANGO_DB_PASSWORD\n"
        "RUN python manage.py migrate --noinput\nCMD [\"gunicorn\", \"site.wsgi\"]\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    build:\n      context: .\n      args:\n"
        "        DJANGO_DB_PASSWORD: ${DJANGO_DB_PASSWORD}\n    environment:\n      DJANGO_DB_HOST: db\n")
    monkeypatch.chdir(tmp_path)
    result = run(["."], Config())
    compose = next(c.new.decode() for c in result.changes if c.path.name == "compose.yaml")
    assert "secrets:\n        - django_db_password" in compose
    assert "      DJANGO_DB_HOST: db\n      DJANGO_DB_PASSWORD: ${DJANGO_DB_PASSWORD}\n" in compose
