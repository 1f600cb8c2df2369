from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemod.analysis.names import (
    SECRET_WORDS,
    SETTING_WORDS,
    NameClass,
    classify_name,
    is_secret_name,
    tokenize,
)

REAL_WORLD = Path(__file__).resolve().parents[2] / "shared" / "real-world"


def _not_secret_variables() -> list[str]:
    expected = REAL_WORLD / "expected.json"
    if not expected.is_file():
        return []
    data = json.loads(expected.read_text(encoding="utf-8"))
    return [entry["variable"] for entry in data["not_secrets"]]


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("POSTGRES_PASSWORD", ["postgres", "password"]),
        ("PGPASSWORD", ["pgpassword"]),
        ("camelCase", ["camel", "case"]),
        ("dbPassword", ["db", "password"]),
        ("openaiApiKey", ["openai", "api", "key"]),
        ("HTTPServerToken", ["http", "server", "token"]),
        ("S3_BUCKET", ["s3", "bucket"]),
        ("S3Bucket", ["s3", "bucket"]),
        ("OAUTH2_TOKEN", ["oauth2", "token"]),
        ("base64Key", ["base64", "key"]),
        ("x-api-key", ["x", "api", "key"]),
        ("spring.datasource.password", ["spring", "datasource", "password"]),
        ("API_KEY_1", ["api", "key", "1"]),
        ("X509_CERT", ["x509", "cert"]),
        ("__double__under__", ["double", "under"]),
        ("", []),
    ],
)
def test_tokenize(name: str, tokens: list[str]) -> None:
    assert tokenize(name) == tokens


SECRET_NAMES = [
    "DB_USER_PASSWORD",
    "NPM_TOKEN",
    "GITHUB_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "MCP_CLIENT_SECRET",
    "POSTGRES_PASSWORD",
    "SUPABASE_ANON_KEY",
    "DJANGO_SECRET_KEY",
    "VAULT_SECRET_ID",
    "JENKINS_PSW",
    "PGPASSWORD",
    "DBPASSWORD",
    "HTPASSWD",
    "MYSQL_PWD",
    "DB_PASSWORD2",
    "GPG_PASSPHRASE",
    "GPG_PRIVATE_KEY",
    "PGP_SECRET_KEY",
    "OPENAI_API_KEY",
    "OPENAI_APIKEY",
    "openaiApiKey",
    "SESSION_COOKIE",
    "PASSWORD_SALT",
    "SIM_PIN",
    "GIT_AUTH_TOKEN",
    "REGISTRY_CREDENTIALS",
    "DOCKER_CREDS",
    "BASIC_AUTH",
    "SSH_PRIVATE_KEY",
    "SECRETS",
    "USER_PASS",
    "PWORD",
    "APP_SECRET_DEFAULT",
    # Archon (the seed plan)
    "SUPABASE_SERVICE_ROLE_KEY_DEFAULT",
    "SUPABASE_ANON_KEY_DEFAULT",
    "POSTGRES_PASSWORD_DEFAULT",
    "MCP_CLIENT_SECRET_DEFAULT",
]

NOT_SECRET_NAMES = [
    "KEYBOARD_LAYOUT",
    "TOKENIZERS_PARALLELISM",
    "GOPRIVATE",
    "PUBLIC_KEY_PATH",
    "SESSION_SECRET_FILE",
    "API_KEY_HEADER",
    "PASSWORD_HASHERS",
    "TOKEN_TTL",
    "AUTH_MODE",
    "AUTH_PROVIDER",
    "KMS_KEY_ALIAS",
    "KEY_NAME",
    "PASSWORD_PROMPT_STRING",
    "POSTGRES_PASSWORD_FILE",
    "VAULT_SECRET_ID_FILE",
    "SECRET_KEY_PATHS",
    "PGPASSFILE",
    "NPM_TOKEN_TYPE",
    "GIT_CREDENTIAL_HELPER",
    "DOCKER_TLS_CERTDIR",
    "PASSENGER_APP_ENV",
    "BYPASS_CACHE",
    "MONKEY_PATCH",
    # public / publishable / site key
    "NEXT_PUBLIC_SUPABASE_ANON_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "PUBLIC_TOKEN",
    "RECAPTCHA_SITE_KEY",
    "SITE_KEY",
    # gpg / pgp key ids, fingerprints and key servers
    "GPG_KEY",
    "GPG_KEYS",
    "JULIA_GPG",
    "OPENSSL_PGP_KEY_IDS",
    "RABBITMQ_PGP_KEY_ID",
    "PGP_KEYSERVER",
    "WORDPRESS_CLI_GPG_KEY",
    "GPG_KEY_FINGERPRINT",
    # Archon settings (same groups as the secrets)
    "SUPABASE_URL_DEFAULT",
    "POSTGRES_HOST_DEFAULT",
    "POSTGRES_DB_DEFAULT",
    "POSTGRES_USER_DEFAULT",
    "POSTGRES_PORT_DEFAULT",
    "MCP_SERVICE_URL_DEFAULT",
    "MCP_CLIENT_ID_DEFAULT",
    "MCP_CREDENTIALS_PATH_DEFAULT",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    result = classify_name(name)
    assert result.secret, result.reason
    assert is_secret_name(name)


@pytest.mark.parametrize("name", NOT_SECRET_NAMES)
def test_not_secret_names(name: str) -> None:
    result = classify_name(name)
    assert not result.secret, result.reason
    assert not result.weak
    assert not is_secret_name(name)


@pytest.mark.parametrize("word", sorted(SECRET_WORDS))
def test_every_secret_word_alone_and_suffixed(word: str) -> None:
    assert classify_name(word.upper()).secret
    assert classify_name(f"APP_{word.upper()}").secret
    assert classify_name(f"app{word.capitalize()}").secret


@pytest.mark.parametrize("setting", sorted(SETTING_WORDS))
def test_every_setting_word_after_the_secret_word(setting: str) -> None:
    assert not classify_name(f"APP_TOKEN_{setting.upper()}").secret
    # before the last secret word it does not count
    assert classify_name(f"APP_{setting.upper()}_TOKEN").secret


@pytest.mark.parametrize(
    ("name", "weak"),
    [
        ("SUPABASE_ANON_KEY", True),
        ("SUPABASE_SERVICE_ROLE_KEY_DEFAULT", True),
        ("AUTH", True),
        ("REQUIRE_MFA_AUTH", True),
        ("SSH_PRIVATE_KEY", True),
        ("SSL_CERT_KEY", True),
        ("ENCRYPTION_KEYS", True),
        ("OPENAI_API_KEY", False),
        ("DJANGO_SECRET_KEY", False),
        ("AUTH_TOKEN", False),
        ("POSTGRES_PASSWORD_DEFAULT", False),
        ("MCP_CLIENT_SECRET_DEFAULT", False),
    ],
)
def test_weak_names(name: str, weak: bool) -> None:
    result = classify_name(name)
    assert result.secret
    assert result.weak is weak


@pytest.mark.parametrize(
    ("name", "password_like"),
    [
        ("POSTGRES_PASSWORD", True),
        ("PGPASSWORD", True),
        ("SIM_PIN", True),
        ("JENKINS_PSW", True),
        ("GPG_PASSPHRASE", True),
        ("NPM_TOKEN", False),
        ("SUPABASE_ANON_KEY", False),
    ],
)
def test_password_like(name: str, password_like: bool) -> None:
    assert classify_name(name).password_like is password_like


def test_reason_names_the_deciding_words() -> None:
    assert "password" in classify_name("POSTGRES_PASSWORD").reason
    assert "public" in classify_name("PUBLIC_KEY_PATH").reason
    assert "path" in classify_name("SSH_KEY_PATH").reason
    assert "ttl" in classify_name("TOKEN_TTL").reason
    assert "gpg" in classify_name("GPG_KEY").reason
    assert classify_name("HOME").reason == "no secret word"


def test_name_class_is_frozen() -> None:
    result = classify_name("NPM_TOKEN")
    assert isinstance(result, NameClass)
    with pytest.raises(AttributeError):
        result.secret = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "kwargs", "secret"),
    [
        ("API_BEARER", {"extra_secret_words": frozenset({"bearer"})}, True),
        ("API_BEARER", {}, False),
        ("SIGNING_KEY_FINGERPRINT", {"extra_allow_words": frozenset({"fingerprint"})}, False),
        ("SIGNING_KEY_FINGERPRINT", {}, True),
        ("ACME_LICENSE", {"extra_secret_names": frozenset({"acme_license"})}, True),
        ("ACME_LICENSE", {}, False),
        ("SSH_AUTH_SOCK", {"extra_setting_words": frozenset({"sock"})}, False),
        ("SSH_SOCK_AUTH", {"extra_setting_words": frozenset({"sock"})}, True),
    ],
)
def test_config_extends_the_lists(name: str, kwargs: dict[str, frozenset[str]], secret: bool) -> None:
    assert classify_name(name, **kwargs).secret is secret


def test_extra_secret_words_are_strong() -> None:
    result = classify_name("API_BEARER", extra_secret_words=frozenset({"BEARER"}))
    assert result.secret and not result.weak


@pytest.mark.skipif(not (REAL_WORLD / "expected.json").is_file(), reason="real-world corpus absent")
@pytest.mark.parametrize("name", _not_secret_variables())
def test_real_world_not_secret_names(name: str) -> None:
    result = classify_name(name)
    assert not result.secret, result.reason
