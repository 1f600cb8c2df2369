from __future__ import annotations

import base64
import json
import random
import string
import time
from pathlib import Path

import pytest

from codemod.analysis.names import NameClass, classify_name
from codemod.analysis.values import (
    ValueKind,
    classify_value,
    embedded_credentials,
    embedded_references,
    embedded_secret_parts,
    fallback,
    is_public_by_design,
    is_secret_value,
    known_format,
    looks_high_entropy,
    url_credential,
)

REAL_WORLD = Path(__file__).resolve().parents[2] / "shared" / "real-world"

# Fake tokens are assembled at runtime (fixed seed) so no scanner flags this file.
_RNG = random.Random(20240611)
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
UPPER32 = string.ascii_uppercase + "234567"
HEXU = "0123456789ABCDEF"
HEXL = "0123456789abcdef"


def rnd(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def jwt(payload: dict[str, object]) -> str:
    return ".".join([b64url({"alg": "HS256", "typ": "JWT"}), b64url(payload), rnd(43, URLSAFE)])


ANON_JWT = jwt({"iss": "supabase", "ref": "abcdefgh", "role": "anon", "iat": 1700000000})
SERVICE_JWT = jwt({"iss": "supabase", "ref": "abcdefgh", "role": "service_role", "iat": 1700000000})
GITHUB_PAT = "gh" + "p_" + rnd(36)

KNOWN = [
    ("aws-access-key-id", "AK" + "IA" + rnd(16, UPPER32)),
    ("aws-access-key-id", "AS" + "IA" + rnd(16, UPPER32)),
    ("github-token", GITHUB_PAT),
    ("github-token", "gh" + "o_" + rnd(36)),
    ("github-token", "gh" + "s_" + rnd(36)),
    ("github-token", "gh" + "u_" + rnd(36)),
    ("github-token", "gh" + "r_" + rnd(36)),
    ("github-fine-grained-pat", "github" + "_pat_" + rnd(22) + "_" + rnd(59)),
    ("gitlab-token", "gl" + "pat-" + rnd(20, URLSAFE)),
    ("slack-token", "xo" + "xb-" + rnd(11, string.digits) + "-" + rnd(24)),
    ("slack-token", "xo" + "xp-" + rnd(11, string.digits) + "-" + rnd(24)),
    ("slack-webhook", "https://hooks." + "slack.com/services/T" + rnd(8) + "/B" + rnd(8) + "/" + rnd(24)),
    (
        "discord-webhook",
        "https://discord." + "com/api/webhooks/" + rnd(18, string.digits) + "/" + rnd(68, URLSAFE),
    ),
    ("stripe-secret-key", "sk" + "_live_" + rnd(24)),
    ("stripe-secret-key", "rk" + "_live_" + rnd(24)),
    ("stripe-secret-key", "sk" + "_test_" + rnd(24)),
    ("openai-api-key", "sk" + "-proj-" + rnd(48, URLSAFE)),
    ("openai-api-key", "sk" + "-" + rnd(48)),
    ("anthropic-api-key", "sk" + "-ant-api03-" + rnd(93, URLSAFE)),
    ("npm-token", "np" + "m_" + rnd(36)),
    ("pypi-token", "py" + "pi-AgEIcHlwaS5vcmc" + rnd(60, URLSAFE)),
    ("docker-pat", "dckr" + "_pat_" + rnd(27, URLSAFE)),
    ("google-api-key", "AI" + "za" + rnd(35, URLSAFE)),
    ("sendgrid-api-key", "SG" + "." + rnd(22, URLSAFE) + "." + rnd(43, URLSAFE)),
    ("twilio-api-key", "S" + "K" + rnd(32, HEXL)),
    ("private-key", "-----BEGIN " + "RSA PRIVATE KEY-----\\nMIIE..."),
    ("private-key", "-----BEGIN " + "OPENSSH PRIVATE KEY-----"),
    ("private-key", "-----BEGIN " + "PGP PRIVATE KEY BLOCK-----"),
    ("jwt", SERVICE_JWT),
]


@pytest.mark.parametrize(("fmt", "value"), KNOWN, ids=[f"{f}-{i}" for i, (f, _) in enumerate(KNOWN)])
def test_known_format(fmt: str, value: str) -> None:
    assert known_format(value) == fmt
    assert classify_value(value) is ValueKind.REAL


@pytest.mark.parametrize(
    "value",
    [
        ANON_JWT,
        "gh" + "p_" + "x" * 36,
        "AK" + "IA" + "IOSFODNN7" + "EXAMPLE",
        "sk" + "_live_" + "your_key_here_0000",
        "pk" + "_live_" + rnd(24),
        "replace-with-service-role-key",
        "postgres",
        "ghp_",
        "",
        "A035C8C19219BA821ECEA86B64E628F8D684696D",
    ],
)
def test_not_a_known_format(value: str) -> None:
    assert known_format(value) is None


def test_known_format_found_inside_a_larger_value() -> None:
    assert known_format("//registry.npmjs.org/:_authToken=" + "np" + "m_" + rnd(36)) == "npm-token"
    assert known_format("Authorization: token " + GITHUB_PAT) == "github-token"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("", ValueKind.EMPTY),
        ("   ", ValueKind.EMPTY),
        ("null", ValueKind.EMPTY),
        ("NULL", ValueKind.EMPTY),
        ("None", ValueKind.EMPTY),
        ("nil", ValueKind.EMPTY),
        ('""', ValueKind.EMPTY),
        ("$X", ValueKind.REFERENCE),
        ("${X}", ValueKind.REFERENCE),
        ("${SUPABASE_SERVICE_ROLE_KEY_DEFAULT}", ValueKind.REFERENCE),
        ("${X:-default}", ValueKind.REFERENCE),
        ("${X:-${Y}}", ValueKind.REFERENCE),
        ('"${X}"', ValueKind.REFERENCE),
        ("true", ValueKind.NOT_SECRET),
        ("False", ValueKind.NOT_SECRET),
        ("yes", ValueKind.NOT_SECRET),
        ("no", ValueKind.NOT_SECRET),
        ("on", ValueKind.NOT_SECRET),
        ("OFF", ValueKind.NOT_SECRET),
        ("15m", ValueKind.NOT_SECRET),
        ("1h", ValueKind.NOT_SECRET),
        ("30s", ValueKind.NOT_SECRET),
        ("1h30m", ValueKind.NOT_SECRET),
        ("5432", ValueKind.NOT_SECRET),
        ("0", ValueKind.NOT_SECRET),
        ("3.14", ValueKind.NOT_SECRET),
        ("/certs", ValueKind.NOT_SECRET),
        ("/app/config/mcp/credentials.json", ValueKind.NOT_SECRET),
        ("/run/secrets/npm_token", ValueKind.NOT_SECRET),
        ("C:\\Windows\\System32", ValueKind.NOT_SECRET),
        ("C:/ProgramData/app", ValueKind.NOT_SECRET),
        ("http://archon-mcp:8051", ValueKind.NOT_SECRET),
        ("https://your-project.supabase.co", ValueKind.NOT_SECRET),
        ("https://user@example.org/path?page=2", ValueKind.NOT_SECRET),
        ("replace-with-service-role-key", ValueKind.PLACEHOLDER),
        ("replace-with-anon-key", ValueKind.PLACEHOLDER),
        ("replace-with-mcp-secret", ValueKind.PLACEHOLDER),
        ("changeme", ValueKind.PLACEHOLDER),
        ("change-me", ValueKind.PLACEHOLDER),
        ("CHANGE_ME", ValueKind.PLACEHOLDER),
        ("replace_me", ValueKind.PLACEHOLDER),
        ("your-api-key", ValueKind.PLACEHOLDER),
        ("your_token_here", ValueKind.PLACEHOLDER),
        ("your-super-secret-jwt-token-with-at-least-32-characters-long", ValueKind.PLACEHOLDER),
        ("dummy", ValueKind.PLACEHOLDER),
        ("xxx", ValueKind.PLACEHOLDER),
        ("XXXXXXXXXXXX", ValueKind.PLACEHOLDER),
        ("<your token>", ValueKind.PLACEHOLDER),
        ("<SECRET>", ValueKind.PLACEHOLDER),
        ("example", ValueKind.PLACEHOLDER),
        ("placeholder", ValueKind.PLACEHOLDER),
        ("TODO", ValueKind.PLACEHOLDER),
        ("secret", ValueKind.PLACEHOLDER),
        ("secret123", ValueKind.PLACEHOLDER),
        ("password", ValueKind.PLACEHOLDER),
        ("test", ValueKind.PLACEHOLDER),
        ("testpassword", ValueKind.PLACEHOLDER),
        ("postgres", ValueKind.PLAIN),
        ("archon", ValueKind.PLAIN),
        ("archon-postgres", ValueKind.PLAIN),
        ("oidc", ValueKind.PLAIN),
        ("main", ValueKind.PLAIN),
        ("com.acme.service", ValueKind.PLAIN),
        ("keyserver.ubuntu.com", ValueKind.PLAIN),
        ("1.2.3", ValueKind.PLAIN),
        (rnd(40), ValueKind.REAL),
        (rnd(64, HEXL), ValueKind.REAL),
        ("django-insecure-" + rnd(50, ALNUM + "!@#%^&*(-_=+)"), ValueKind.REAL),
        (SERVICE_JWT, ValueKind.REAL),
        (GITHUB_PAT, ValueKind.REAL),
        (ANON_JWT, ValueKind.NOT_SECRET),
        ("pk" + "_live_" + rnd(24), ValueKind.NOT_SECRET),
    ],
)
def test_classify_value(value: str, kind: ValueKind) -> None:
    assert classify_value(value) is kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("1234", ValueKind.REAL),
        ("000000", ValueKind.REAL),
        ("123", ValueKind.NOT_SECRET),
        ("1.5", ValueKind.NOT_SECRET),
        ("true", ValueKind.NOT_SECRET),
        ("postgres", ValueKind.PLAIN),
    ],
)
def test_numbers_under_password_names(value: str, kind: ValueKind) -> None:
    assert classify_value(value, name_is_password_like=True) is kind


def test_value_kind_strings_match_report_value_class() -> None:
    assert ValueKind.REAL.value == "real-looking"
    assert isinstance(ValueKind.REAL, str)
    assert ValueKind.PLACEHOLDER.value == "placeholder"
    assert {k.value for k in ValueKind} == {
        "empty", "reference", "not-secret", "real-looking", "placeholder", "plain", "build-arg",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "public"),
    [
        ("pk" + "_live_" + rnd(24), True),
        ("pk" + "_test_" + rnd(24), True),
        (ANON_JWT, True),
        ("6L" + rnd(38, URLSAFE), True),
        ("A035C8C19219BA821ECEA86B64E628F8D684696D", True),
        ("0xBA5473A2B0587B07FB27CF2D216094DFD0CB81EF", True),
        (rnd(40, HEXU) + " " + rnd(40, HEXU) + " \t" + rnd(40, HEXU), True),
        ("B42F 6819 007F 00F8 8E36  4FD4 036A 9C25 BF35 7DD4".replace("  ", " "), True),
        (SERVICE_JWT, False),
        ("sk" + "_live_" + rnd(24), False),
        (rnd(40, HEXL), False),  # bare lower-case 40-hex is also a SHA-1 or an old GitHub token
        ("postgres", False),
        ("", False),
    ],
)
def test_is_public_by_design(value: str, public: bool) -> None:
    assert is_public_by_design(value) is public


@pytest.mark.parametrize(
    ("value", "high"),
    [
        (rnd(40), True),
        (rnd(24, URLSAFE), True),
        (rnd(64, HEXL), True),
        (rnd(32, HEXL), True),
        ("replace-with-service-role-key", False),
        ("your-super-secret-jwt-token-with-at-least-32-characters-long", False),
        ("com.example.MyApplicationService", False),
        ("short" + rnd(5), False),
        ("a" * 40, False),
        ("deadbeef" * 5, False),
        ("abcdefghijklmnopqrstuvwxyz", False),
        ("two words " + rnd(30), False),
    ],
)
def test_looks_high_entropy(value: str, high: bool) -> None:
    assert looks_high_entropy(value) is high


PW = "s3cr" + "etP4" + "ss"


@pytest.mark.parametrize(
    ("value", "descriptions", "references"),
    [
        (f"postgres://app:{PW}@db:5432/app", ["password in postgres URL"], []),
        (
            "amqp://guest:${RABBIT_PW}@rabbit:5672/",
            ["password in amqp URL (reference to $RABBIT_PW)"],
            ["RABBIT_PW"],
        ),
        (
            "redis://:$REDIS_PASSWORD@cache:6379/0",
            ["password in redis URL (reference to $REDIS_PASSWORD)"],
            ["REDIS_PASSWORD"],
        ),
        ("amqp://${USER:-guest}:${PW:-guest}@h/", ["password in amqp URL (reference to $PW)"], ["PW"]),
        ("https://user@example.org/", [], []),
        ("http://archon-mcp:8051", [], []),
        (f"https://api.example.org/v1?token={PW}&page=2", ["'token' query parameter in URL"], []),
        (f"https://x.blob.core.windows.net/c?sv=2022&sig={PW}", ["'sig' query parameter in URL"], []),
        (
            "https://api.example.org/?access_token=${TOKEN}",
            ["'access_token' query parameter in URL (reference to $TOKEN)"],
            ["TOKEN"],
        ),
        ("https://api.example.org/?key=", [], []),
        (f"Server=db;Database=app;User Id=sa;Password={PW};", ["'Password=' in connection string"], []),
        (
            f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={PW}==;EndpointSuffix=core.windows.net",
            ["'AccountKey=' in connection string"],
            [],
        ),
        (
            f"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={PW}",
            ["'SharedAccessKey=' in connection string"],
            [],
        ),
        ("Bearer " + rnd(30, URLSAFE), ["Bearer credential in header value"], []),
        (
            "Authorization: Basic " + base64.b64encode(b"u:" + PW.encode()).decode(),
            ["Basic credential in header value"],
            [],
        ),
        (
            "Bearer ${API_TOKEN}",
            ["Bearer credential in header value (reference to $API_TOKEN)"],
            ["API_TOKEN"],
        ),
        ("https://hooks." + "slack.com/services/T0/B0/" + rnd(24), ["Slack webhook URL"], []),
        ("https://discord." + "com/api/webhooks/123/" + rnd(60, URLSAFE), ["Discord webhook URL"], []),
        ("postgres", [], []),
        ("", [], []),
    ],
)
def test_embedded_credentials(value: str, descriptions: list[str], references: list[str]) -> None:
    found = embedded_credentials(value)
    assert found == descriptions
    assert embedded_references(value) == references
    for text in found:
        assert PW not in text


def test_classify_value_of_credential_urls() -> None:
    assert classify_value(f"postgres://app:{PW}@db/app") is ValueKind.REAL
    assert classify_value("postgres://app:changeme@db/app") is ValueKind.PLACEHOLDER
    assert classify_value("postgres://app:${PW}@db/app") is ValueKind.PLAIN
    assert classify_value(f"https://api.example.org/?api_key={PW}") is ValueKind.REAL


STRONG = classify_name("POSTGRES_PASSWORD")
WEAK = classify_name("SUPABASE_ANON_KEY")
SETTING = classify_name("NEXT_PUBLIC_SUPABASE_URL")
PIN = classify_name("SIM_PIN")


@pytest.mark.parametrize(
    ("name_class", "value", "secret", "kind"),
    [
        (STRONG, "postgres", True, ValueKind.PLAIN),
        (STRONG, "changeme", True, ValueKind.PLACEHOLDER),
        (STRONG, rnd(32), True, ValueKind.REAL),
        (STRONG, "", False, ValueKind.EMPTY),
        (STRONG, "null", False, ValueKind.EMPTY),
        (STRONG, "${PW}", False, ValueKind.REFERENCE),
        (STRONG, "${A}${B}", False, ValueKind.REFERENCE),
        (STRONG, "/run/secrets/db_password", False, ValueKind.NOT_SECRET),
        (STRONG, "true", False, ValueKind.NOT_SECRET),
        (STRONG, "5432", True, ValueKind.REAL),  # 4+ digits under a password name
        (PIN, "1234", True, ValueKind.REAL),
        (PIN, "12", False, ValueKind.NOT_SECRET),
        (classify_name("NPM_TOKEN"), "5432", False, ValueKind.NOT_SECRET),
        (WEAK, "replace-with-anon-key", True, ValueKind.PLACEHOLDER),
        (WEAK, rnd(40), True, ValueKind.REAL),
        (WEAK, "oidc", False, ValueKind.PLAIN),
        (WEAK, "com.acme.service", False, ValueKind.PLAIN),
        (WEAK, "auth.internal.example.org", False, ValueKind.PLAIN),
        (WEAK, ANON_JWT, False, ValueKind.NOT_SECRET),
        (WEAK, SERVICE_JWT, True, ValueKind.REAL),
        (classify_name("AUTH_PROVIDER"), "oidc", False, ValueKind.PLAIN),
        (classify_name("SSH_PRIVATE_KEY"), "/root/.ssh/id_ed25519", False, ValueKind.NOT_SECRET),
        (classify_name("STRIPE_KEY"), "pk" + "_live_" + rnd(24), False, ValueKind.NOT_SECRET),
        # a known format is a secret under any name, NEXT_PUBLIC_ included
        (SETTING, GITHUB_PAT, True, ValueKind.REAL),
        (classify_name("NEXT_PUBLIC_STRIPE_KEY"), "sk" + "_live_" + rnd(24), True, ValueKind.REAL),
        (classify_name("HOME"), SERVICE_JWT, True, ValueKind.REAL),
        (SETTING, "https://your-project.supabase.co", False, ValueKind.NOT_SECRET),
        (classify_name("HOME"), "postgres", False, ValueKind.PLAIN),
        # issue 15: a URL with a password is a secret value under any name
        (classify_name("DATABASE_URL"), f"postgres://app:{PW}@db/app", True, ValueKind.REAL),
    ],
)
def test_is_secret_value(name_class: NameClass, value: str, secret: bool, kind: ValueKind) -> None:
    assert is_secret_value(name_class, value) == (secret, kind)


ARCHON = [
    ("SUPABASE_URL_DEFAULT", "https://your-project.supabase.co", False),
    ("SUPABASE_SERVICE_ROLE_KEY_DEFAULT", "replace-with-service-role-key", True),
    ("SUPABASE_ANON_KEY_DEFAULT", "replace-with-anon-key", True),
    ("POSTGRES_HOST_DEFAULT", "archon-postgres", False),
    ("POSTGRES_DB_DEFAULT", "postgres", False),
    ("POSTGRES_USER_DEFAULT", "postgres", False),
    ("POSTGRES_PASSWORD_DEFAULT", "postgres", True),
    ("POSTGRES_PORT_DEFAULT", "5432", False),
    ("MCP_SERVICE_URL_DEFAULT", "http://archon-mcp:8051", False),
    ("MCP_CLIENT_ID_DEFAULT", "archon", False),
    ("MCP_CLIENT_SECRET_DEFAULT", "replace-with-mcp-secret", True),
    ("MCP_CREDENTIALS_PATH_DEFAULT", "/app/config/mcp/credentials.json", False),
    ("DATABASE_PASSWORD", "secret123", True),
]


@pytest.mark.parametrize(("name", "value", "secret"), ARCHON)
def test_archon_pairs(name: str, value: str, secret: bool) -> None:
    assert is_secret_value(classify_name(name), value)[0] is secret


def _real_world_pairs() -> list[tuple[str, str]]:
    expected = REAL_WORLD / "expected.json"
    if not expected.is_file():
        return []
    data = json.loads(expected.read_text(encoding="utf-8"))
    return [(e["variable"], v) for e in data["not_secrets"] for v in [e["example_value"], *e["values"]]]


@pytest.mark.skipif(not (REAL_WORLD / "expected.json").is_file(), reason="real-world corpus absent")
@pytest.mark.parametrize(("name", "value"), _real_world_pairs())
def test_real_world_values_are_not_secrets(name: str, value: str) -> None:
    secret, kind = is_secret_value(classify_name(name), value)
    assert not secret, kind
    assert known_format(value) is None
    assert embedded_credentials(value) == []
    # even under a weak secret name the values stay clear (public fingerprints, a host, a path)
    assert classify_name("REPO_KEY").weak
    assert not is_secret_value(classify_name("REPO_KEY"), value)[0]


def test_nothing_returned_carries_the_value() -> None:
    secret = rnd(40)
    url = f"postgres://u:{secret}@h/db?token={secret}"
    for text in embedded_credentials(url):
        assert secret not in text
    assert known_format(secret) is None
    name_class = classify_name("DB_PASSWORD")
    assert secret not in name_class.reason
    assert secret not in str(is_secret_value(name_class, secret))


@pytest.mark.parametrize(
    "value",
    [
        "http://" + "${a}" * 40 + ":",
        "http://u:" + "${a}" * 40 + "x",
        "/" + "a" * 5000 + "!",
        "a" * 5000 + "1",
        "aB" * 5000 + "!",
        "x" * 50_000,
        "Bearer " + "a" * 50_000,
        "a;" * 5000 + "password=",
        "eyJ" + "a" * 5000 + ".eyJ" + "b" * 5000,
        "$a" * 5000 + "!",
    ],
    ids=lambda v: f"{v[:12]}...{len(v)}",
)
def test_pathological_values_are_linear(value: str) -> None:
    # Exponential or quadratic backtracking would take minutes on these; linear regexes take milliseconds.
    started = time.perf_counter()
    classify_value(value)
    embedded_credentials(value)
    known_format(value)
    is_public_by_design(value)
    looks_high_entropy(value)
    classify_name(value)
    assert time.perf_counter() - started < 2.0


# --- issue 15: credentials in URLs under any name, references that only look like them, fallbacks ----------

HOME = classify_name("HOME")


@pytest.mark.parametrize(
    ("value", "described"),
    [
        (f"postgres://app:{PW}@db:5432/app", "password in postgres URL"),
        ("amqp://guest:guest@rabbitmq:5672//", "password in amqp URL"),
        (f"https://ci-reader:{PW}@pypi.corp.example/simple", "password in https URL"),
        ("mysql://root:changeme@db/app", "password in mysql URL"),
        (f'"redis://:{PW}@cache:6379/0"', "password in redis URL"),
        # no literal credential: a reference, no password, an empty one, GitHub's token-as-user form
        ("https://${GH_TOKEN}:x-oauth-basic@github.com/acme/x.git", None),
        ("https://x-access-token:${GITHUB_TOKEN}@github.com/acme/x.git", None),
        ("https://__token__:$PYPI_TOKEN@upload.pypi.org/legacy/", None),
        ("amqp://${USER:-guest}:${PW:-guest}@h/", None),
        ("https://abc123def456@o123.ingest.sentry.io/42", None),
        ("redis://:@cache:6379", None),
        ("postgres://db:5432/app", None),
        (f"https://api.example.org/v1?token={PW}", None),  # a token in the query: MS010, inside the value
        (f"see postgres://app:{PW}@db/app", None),  # not the whole value
    ],
)
def test_url_credential(value: str, described: str | None) -> None:
    assert url_credential(value) == described
    assert is_secret_value(HOME, value)[0] is (described is not None)


def test_a_literal_token_as_the_user_is_the_credential() -> None:
    token = "ghp_" + rnd(36)
    assert url_credential(f"https://{token}:x-oauth-basic@github.com/acme/x.git") == "password in https URL"
    assert embedded_secret_parts(f"git clone https://{token}:x-oauth-basic@github.com/a/b") == [token]
    url = "https://${GH_TOKEN}:x-oauth-basic@github.com/acme/x.git"
    assert embedded_credentials(url) == ["token in https URL (reference to $GH_TOKEN)"]
    assert embedded_references(url) == ["GH_TOKEN"]
    assert embedded_secret_parts(url) == []
    assert classify_value(url) is ValueKind.PLAIN


@pytest.mark.parametrize(
    ("name", "value", "secret", "kind"),
    [
        ("JWT_SIGNING_KEY", "${JWT_SIGNING_KEY:-dev-key}", True, ValueKind.PLAIN),
        ("DB_PASSWORD", "${DB_PASSWORD:-changeme}", True, ValueKind.PLACEHOLDER),
        ("DB_PASSWORD", '"${DB_PASSWORD-postgres}"', True, ValueKind.PLAIN),
        ("SECRET_KEY_BASE", "${SECRET_KEY_BASE:-" + rnd(64, "0123456789abcdef") + "}", True, ValueKind.REAL),
        ("DATABASE_URL", "${DATABASE_URL:-postgres://app:" + PW + "@db/app}", True, ValueKind.REAL),
        ("DB_PASSWORD", "${DB_PASSWORD:-}", False, ValueKind.REFERENCE),
        ("DB_PASSWORD", "${DB_PASSWORD}", False, ValueKind.REFERENCE),
        ("DB_PASSWORD", "${DB_PASSWORD:-$FALLBACK_PW}", False, ValueKind.REFERENCE),
        ("DB_PASSWORD", "${DB_PASSWORD:+set}", False, ValueKind.REFERENCE),
        ("DB_PASSWORD", "${DB_PASSWORD:?required}", False, ValueKind.REFERENCE),
        ("API_URL", "${API_URL:-https://api.example.org}", False, ValueKind.NOT_SECRET),
        ("TOKEN_TTL", "${TOKEN_TTL:-3600}", False, ValueKind.NOT_SECRET),
        ("AUTH_PROVIDER", "${AUTH_PROVIDER:-oidc}", False, ValueKind.PLAIN),
    ],
)
def test_fallbacks_are_judged_as_values(name: str, value: str, secret: bool, kind: ValueKind) -> None:
    assert is_secret_value(classify_name(name), value) == (secret, kind)


def test_fallback() -> None:
    assert fallback("${X:-dev-key}") == "dev-key"
    assert fallback("${X-a b}") == "a b"
    assert fallback("'${X:-q}'") == "q"
    assert fallback("${X:-}") == ""
    assert fallback("${X:-$Y}") is None
    assert fallback("${X}") is None
    assert fallback("${X:+y}") is None
    assert fallback("pre${X:-y}") is None
