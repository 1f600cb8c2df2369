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
        ("AUTH", True),
        ("REQUIRE_MFA_AUTH", True),
        ("SSL_CERT_KEY", True),
        ("REPO_KEY", True),
        ("CACHE_KEY", True),
        ("PRIVATE", True),
        # a qualifier before `key` makes it strong (issue 15)
        ("SUPABASE_SERVICE_ROLE_KEY_DEFAULT", False),
        ("SSH_PRIVATE_KEY", False),
        ("ENCRYPTION_KEYS", False),
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


# --- issue 15: names the anchors find and we missed, and the settings beside them -------------------------

#: a qualifier before `key` makes it strong: these hold a credential with or without a value to judge
QUALIFIED_KEYS = [
    "RAILS_MASTER_KEY", "MEILI_MASTER_KEY", "SSH_PRIVATE_KEY", "PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY",
    "JWT_SIGNING_KEY", "SIGNING_KEY", "N8N_ENCRYPTION_KEY", "ENCRYPTION_KEY", "ENCRYPTION_KEY_ARG",
    "SUPABASE_SERVICE_ROLE_KEY", "SERVICE_KEY", "APP_KEY", "NEW_RELIC_LICENSE_KEY", "DEPLOY_KEY",
    "DEPLOY_KEY_LINKORB", "CLIENT_KEY", "SESSION_KEY", "AUTH_KEY", "SECURE_AUTH_KEY", "NONCE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY", "HMAC_KEY", "OPENAI_KEY", "ADMIN_KEY", "WEBHOOK_SIGNING_KEY", "FCM_SERVER_KEY",
    "ACCESS_KEY", "MINIO_ACCESS_KEY", "sshPrivateKey", "ssh-deploy-key",
]
#: `key` with no qualifier that names a credential stays weak: a value must show the secret
WEAK_KEYS = ["SUPABASE_ANON_KEY", "REPO_KEY", "CACHE_KEY", "PARTITION_KEY", "ROUTING_KEY", "SORT_KEY", "S3_KEY",
             "KEY", "IDEMPOTENCY_KEY", "LOOKUP_KEY", "SSL_CERT_KEY"]
#: words with no `password`/`token`/`key` in them that hold one all the same
NEW_SECRET_WORDS = ["JWT", "jwt", "GITHUB_PAT", "GH_PAT", "github_pat", "DB_PW", "ADMIN_PW", "DB_ROOT_PW",
                    "DEVICE_PASSCODE", "SSL_PRIVKEY"]
CONVENTION_NAMES = [
    "BUNDLE_GEMS__CONTRIBSYS__COM", "bundle_gems__contribsys__com", "BUNDLE_ENTERPRISE__CONTRIBSYS__COM",
    "BUNDLE_RUBYGEMS__PKG__GITHUB__COM", "BUNDLE_GITHUB__COM", "BUNDLE_GEMS___MY___CORP__IO",
    "COMPOSER_AUTH", "DOCKER_AUTH_CONFIG", "NPM_CONFIG__AUTH", "npm_config__authToken",
]
SETTING_NAMES_15 = [
    # what the jwt is configured with, not the jwt
    "JWT_ALGORITHM", "JWT_ALG", "JWT_EXPIRY", "JWT_EXPIRES_IN", "JWT_EXPIRATION_DELTA", "JWT_ISSUER",
    "JWT_AUDIENCE", "JWT_PUBLIC_KEY", "JWT_LEEWAY", "JWT_HEADER_PREFIX", "JWT_AUTH_HEADER_PREFIX",
    "ACCESS_TOKEN_EXPIRE_MINUTES", "REFRESH_TOKEN_LIFETIME_DAYS", "SESSION_COOKIE_AGE",
    # where a secret is kept, not the secret
    "JELLYFIN_BRANDING_KEY_COLUMN", "PASSWORD_FIELD", "TOKEN_TABLE", "SECRET_ATTR", "API_KEY_PARAM",
    "TOKEN_ENV_VAR", "SSH_AUTH_SOCK", "AWS_SECRETS_MANAGER_REGION", "TOKEN_ENDPOINT", "OAUTH_TOKEN_SCOPES",
    "SSH_KEY_PATH", "MASTER_KEY_FILE", "DEPLOY_KEY_ID", "SIGNING_KEY_ID", "PUBLIC_KEY_PATH", "GPG_KEY",
    "KEY_NAME", "PRIVATE_KEY_PATH", "APP_KEY_NAME",
    # counts of tokens (LLM settings)
    "MAX_TOKENS", "MAX_NEW_TOKENS", "NUM_TOKENS", "MIN_TOKENS", "max_tokens",
    # bundler settings beside bundler credentials
    "BUNDLE_PATH", "BUNDLE_WITHOUT", "BUNDLE_DEPLOYMENT", "BUNDLE_JOBS", "BUNDLE_APP_CONFIG", "BUNDLE_FROZEN",
    "BUNDLE_GEMFILE", "BUNDLE_SILENCE_ROOT_WARNING", "BUNDLE_MIRROR__RUBYGEMS__ORG", "BUNDLE_BUILD__NOKOGIRI",
    "BUNDLE_LOCAL__RACK", "bundle_path",
    # whole tokens only
    "PATH", "PATTERN", "MONKEY_PATCH", "PWA_ENABLED", "JWTS_DIR",
]


@pytest.mark.parametrize("name", QUALIFIED_KEYS + NEW_SECRET_WORDS + CONVENTION_NAMES)
def test_strong_secret_names_of_issue_15(name: str) -> None:
    result = classify_name(name)
    assert result.secret and not result.weak, result.reason


@pytest.mark.parametrize("name", WEAK_KEYS)
def test_unqualified_keys_stay_weak(name: str) -> None:
    result = classify_name(name)
    assert result.secret and result.weak, result.reason


@pytest.mark.parametrize("name", SETTING_NAMES_15)
def test_settings_of_issue_15(name: str) -> None:
    result = classify_name(name)
    assert not result.secret, result.reason


def test_reasons_of_issue_15() -> None:
    assert classify_name("RAILS_MASTER_KEY").reason == "'master' key"
    assert classify_name("SSH_PRIVATE_KEY").reason == "'ssh' key"
    assert classify_name("JELLYFIN_BRANDING_KEY_COLUMN").reason == "setting word 'column' after 'key'"
    assert classify_name("JWT_ALGORITHM").reason == "setting word 'algorithm' after 'jwt'"
    assert "BUNDLE_<HOST>" in classify_name("BUNDLE_GEMS__CONTRIBSYS__COM").reason
    assert "count" in classify_name("MAX_TOKENS").reason
    assert classify_name("DB_PW").password_like and classify_name("DEVICE_PASSCODE").password_like


def test_key_qualifiers_extend_by_config() -> None:
    assert classify_name("RELEASE_KEY").weak
    result = classify_name("RELEASE_KEY", extra_key_qualifiers=frozenset({"Release"}))
    assert result.secret and not result.weak
