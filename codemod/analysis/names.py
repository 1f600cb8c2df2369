"""Is a variable name a secret name? (design.md section 3, "Names.")

A name is split into lower-cased tokens; it is a secret name when a token is a
secret word, unless context words say it is a setting (``PUBLIC_KEY_PATH``,
``TOKEN_TTL``, ``GPG_KEY``). Names that only ``auth``, ``private`` or ``key``
make secret are *weak*: the caller must also see a secret-looking or
placeholder value before calling them secrets. A qualifier before ``key``
(``RAILS_MASTER_KEY``, ``SSH_PRIVATE_KEY``, ``JWT_SIGNING_KEY``) makes it
strong. A few names hold credentials by convention without any secret word:
bundler's ``BUNDLE_<HOST>`` (``BUNDLE_GEMS__CONTRIBSYS__COM``),
``COMPOSER_AUTH``, ``DOCKER_AUTH_CONFIG``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "KEY_QUALIFIERS",
    "NameClass",
    "PASSWORD_WORDS",
    "SECRET_WORDS",
    "SETTING_WORDS",
    "WEAK_SECRET_WORDS",
    "classify_name",
    "convention",
    "is_secret_name",
    "tokenize",
]

#: Words that make a name secret when they are a whole token.
SECRET_WORDS: frozenset[str] = frozenset(
    {
        "password", "passwords", "passwd", "pwd", "pword", "pass", "psw", "pw", "passphrase", "passcode",
        "secret", "secrets", "token", "tokens", "apikey", "apikeys", "key", "keys", "private",
        "credential", "credentials", "cred", "creds", "auth", "cookie", "salt", "pin",
        # a JSON Web Token or its signing secret (``ARG JWT``); a personal access token (``GITHUB_PAT``)
        "jwt", "pat", "privkey",
    }
)  # fmt: skip
#: Secret words too generic to decide alone (``AUTH_PROVIDER=oidc``, ``SSH_KEY=/root/.ssh/id``).
WEAK_SECRET_WORDS: frozenset[str] = frozenset({"auth", "private", "key", "keys"})
#: Secret words that name a password or a PIN (a number of 4+ digits is then a real value).
PASSWORD_WORDS: frozenset[str] = frozenset(
    {"password", "passwords", "passwd", "pwd", "pword", "pass", "psw", "pw", "passphrase", "passcode", "pin"}
)
#: Words that, before ``key``/``keys``, say the key is a credential (``RAILS_MASTER_KEY``, ``SSH_PRIVATE_KEY``,
#: ``JWT_SIGNING_KEY``, ``N8N_ENCRYPTION_KEY``, ``SUPABASE_SERVICE_ROLE_KEY``, ``LARAVEL APP_KEY``,
#: ``NEW_RELIC_LICENSE_KEY``, WordPress ``AUTH_KEY``/``NONCE_KEY``, Azure ``STORAGE_ACCOUNT_KEY``). Measured on
#: public Dockerfiles: the ``*_KEY`` names that are settings are qualified by other words (``GPG_KEY``,
#: ``REPO_KEY``, ``CACHE_KEY``, ``PARTITION_KEY``, ``ROUTING_KEY``, ``SORT_KEY``, ``ANON_KEY``, ``SITE_KEY``).
KEY_QUALIFIERS: frozenset[str] = frozenset(
    {
        "master", "private", "priv", "signing", "sign", "secret", "api", "access", "encryption", "encrypt",
        "decryption", "decrypt", "crypt", "crypto", "cipher", "aes", "hmac", "client", "service", "deploy",
        "ssh", "jwt", "license", "licence", "app", "session", "account", "storage", "shared", "admin", "auth",
        "nonce", "webhook", "server", "openai", "anthropic",
    }
)  # fmt: skip
#: A setting word after the last secret word makes the name a setting.
SETTING_WORDS: frozenset[str] = frozenset(
    {
        "path", "file", "dir", "url", "uri", "host", "port", "user", "username", "id", "name", "type",
        "mode", "version", "header", "hasher", "algorithm", "alias", "arn", "length", "size", "enabled",
        "required", "prompt", "provider", "realm", "expiry", "lifetime", "ttl", "timeout", "interval",
        "backend", "policy", "helper", "registry", "method", "location", "role", "issuer", "audience",
        "prefix", "scheme", "strategy", "domain",
        # where a secret lives, not the secret: a database column (``JELLYFIN_BRANDING_KEY_COLUMN``), a table,
        # a field, an attribute, a parameter or variable name, a socket (``SSH_AUTH_SOCK``), a region, an endpoint
        "column", "table", "field", "attr", "attribute", "property", "param", "parameter", "var", "variable",
        "label", "sock", "socket", "region", "endpoint", "scope", "format", "handler", "limit", "count",
        # how long a token lives (``JWT_EXPIRES_IN``, ``JWT_EXPIRATION_DELTA``, ``ACCESS_TOKEN_EXPIRE_MINUTES``)
        "expire", "expires", "expiration", "minutes", "seconds", "hours", "days", "age", "duration", "leeway",
        "alg",
        # how passwords are handled, not a password (``password_encryption=scram-sha-256`` for postgres)
        "encryption", "encoding", "validator", "complexity", "strength",
    }
)  # fmt: skip
#: Before ``token``/``tokens`` these count tokens, they do not hold one (``MAX_TOKENS``, ``MAX_NEW_TOKENS``).
_COUNT_WORDS = frozenset({"max", "min", "num", "total", "n"})
#: Credentials by convention, with no secret word: bundler reads ``BUNDLE_<HOST>`` (dots as ``__``) as
#: ``user:password`` for that gem source; ``BUNDLE_MIRROR__``, ``BUNDLE_LOCAL__`` and ``BUNDLE_BUILD__`` are
#: settings. Composer's ``COMPOSER_AUTH`` and GitLab runner's ``DOCKER_AUTH_CONFIG`` are JSON credentials.
_CONVENTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)bundle_(?!(?:mirror|local|build)__)[a-z0-9_]*[a-z0-9]__[a-z0-9][a-z0-9_]*"),
     "bundler credential for a gem source (BUNDLE_<HOST>)"),
    (re.compile(r"(?i)composer_auth|docker_auth_config|npm_config__auth(?:token)?|yarn_npm_auth_ident"),
     "credential by the reading tool's convention"),
)
# Anywhere in the name these mean "public by design" (BuildKit's allow-token ``public``).
_PUBLIC_WORDS = frozenset({"public", "publishable"})
_GPG_WORDS = frozenset({"gpg", "pgp"})
# What gpg/pgp may clear: key ids and fingerprints, never a passphrase or a private key.
_GPG_CLEARABLE = frozenset({"key", "keys"})
# Glued spellings that are secrets as one token (``PGPASSWORD``, ``DBPASSWORD``, ``HTPASSWD``).
_GLUED_SUFFIXES = ("password", "passwords", "passwd")
_GLUED_TOKENS = frozenset(
    {"apitoken", "authtoken", "accesstoken", "refreshtoken", "apisecret", "clientsecret", "secretkey"}
)
_STRONG_GLUED_WORD = "password"

_NO_WORDS: frozenset[str] = frozenset()

_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
# One camel/PASCAL/UPPER word; digits stay with the letters around them.
_WORD = re.compile(r"[0-9]*(?:[A-Z]+(?![a-z])|[A-Z]?[a-z]+)[0-9]*|[0-9]+")


@dataclass(frozen=True)
class NameClass:
    """How a variable name classifies.

    ``secret`` is True for secret names, weak or not. ``weak`` is True when
    only ``auth``/``private``/``key`` made it secret: the value must also look
    secret (real-looking or placeholder). ``password_like`` is True when a
    password or PIN word made it secret (then a 4+ digit number is a real
    value). ``reason`` names the deciding words, never a value.
    """

    secret: bool
    weak: bool
    reason: str
    password_like: bool = False


def tokenize(name: str) -> list[str]:
    return list(_tokens(name))


@functools.lru_cache(maxsize=8192)
def _tokens(name: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in _SEPARATORS.split(name):
        out.extend(m.group().lower() for m in _WORD.finditer(part))
    return tuple(out)


def _secret_word(token: str, secret_words: frozenset[str]) -> str | None:
    if token in secret_words:
        return token
    bare = token.rstrip("0123456789")  # PASSWORD2, KEY1
    if bare and bare in secret_words:
        return bare
    if bare in _GLUED_TOKENS:
        return bare
    if bare.endswith(_GLUED_SUFFIXES):
        return _STRONG_GLUED_WORD
    return None


def _setting_word(token: str, setting_words: frozenset[str]) -> bool:
    if token in setting_words:
        return True
    # Plurals: KEY_IDS, TOKEN_TYPES, SECRET_PATHS.
    return len(token) > 2 and token.endswith("s") and token[:-1] in setting_words


def classify_name(
    name: str,
    *,
    extra_secret_words: frozenset[str] = frozenset(),
    extra_allow_words: frozenset[str] = frozenset(),
    extra_secret_names: frozenset[str] = frozenset(),
    extra_setting_words: frozenset[str] = frozenset(),
    extra_key_qualifiers: frozenset[str] = frozenset(),
) -> NameClass:
    """Classify a variable name (design.md section 3, "Names.").

    ``extra_secret_words`` are more (strong) secret words; ``extra_allow_words``
    make a name a setting wherever they appear (like ``public``);
    ``extra_setting_words`` make it a setting after the last secret word;
    ``extra_secret_names`` are whole names (any case) that are always secrets;
    ``extra_key_qualifiers`` make a ``key`` after them strong (like ``master``).
    """
    if not (extra_secret_words or extra_allow_words or extra_secret_names or extra_setting_words
            or extra_key_qualifiers):
        return _classify(name, _NO_WORDS, _NO_WORDS, _NO_WORDS, _NO_WORDS)  # the usual case: no set to build
    return _classify(
        name,
        frozenset(w.lower() for w in extra_secret_words),
        frozenset(w.lower() for w in extra_allow_words),
        frozenset(n.upper() for n in extra_secret_names),
        frozenset(w.lower() for w in extra_setting_words),
        frozenset(w.lower() for w in extra_key_qualifiers),
    )


def convention(name: str) -> str | None:
    """Why ``name`` holds a credential by a tool's convention though no secret word is in it, else None."""
    for pattern, reason in _CONVENTIONS:
        if pattern.fullmatch(name):
            return reason
    return None


def is_secret_name(name: str) -> bool:
    return classify_name(name).secret


@functools.lru_cache(maxsize=16384)
def _classify(
    name: str,
    extra_secret: frozenset[str],
    extra_allow: frozenset[str],
    extra_names: frozenset[str],
    extra_setting: frozenset[str],
    extra_qualifiers: frozenset[str] = _NO_WORDS,
) -> NameClass:
    if name.upper() in extra_names:
        return NameClass(True, False, "configured secret name", password_like=False)
    by_convention = convention(name)
    if by_convention is not None:
        return NameClass(True, False, by_convention)
    tokens = _tokens(name)
    secret_words = SECRET_WORDS | extra_secret if extra_secret else SECRET_WORDS
    setting_words = SETTING_WORDS | extra_setting if extra_setting else SETTING_WORDS

    # (index of the token, secret word it stands for)
    hits: list[tuple[int, str]] = []
    i = 0
    while i < len(tokens):
        # API_KEY is the secret word apikey, PASS_WORD is password: split spellings of one word.
        if i + 1 < len(tokens) and tokens[i] + tokens[i + 1] in secret_words:
            hits.append((i + 1, tokens[i] + tokens[i + 1]))
            i += 2
            continue
        word = _secret_word(tokens[i], secret_words)
        if word is not None:
            hits.append((i, word))
        i += 1
    if not hits:
        return NameClass(False, False, "no secret word")

    words = [w for _, w in hits]
    for tok in tokens:
        if tok in _PUBLIC_WORDS or tok in extra_allow:
            return NameClass(False, False, f"'{tok}' marks a public or allowed name")
    if "site" in tokens:
        site_at = tokens.index("site")
        if any(idx > site_at and w in ("key", "keys") for idx, w in hits):
            return NameClass(False, False, "'site' key (public by design)")
    if _GPG_WORDS.intersection(tokens) and set(words) <= _GPG_CLEARABLE:
        return NameClass(False, False, "gpg/pgp key id or fingerprint (public)")

    last_idx, last_word = hits[-1]
    for j in range(last_idx + 1, len(tokens)):
        tok = tokens[j]
        # VAULT_SECRET_ID: an AppRole secret_id is a credential, not an id.
        if tok == "id" and j == last_idx + 1 and last_word in ("secret", "secrets"):
            continue
        if _setting_word(tok, setting_words):
            return NameClass(False, False, f"setting word '{tok}' after '{last_word}'")

    if set(words) <= _TOKEN_WORDS:
        first = hits[0][0]
        if any(tok in _COUNT_WORDS for tok in tokens[:first]):
            return NameClass(False, False, f"counts tokens ('{last_word}' after a count word)")

    password_like = any(w in PASSWORD_WORDS or w == _STRONG_GLUED_WORD for w in words)
    if all(w in WEAK_SECRET_WORDS for w in words):
        qualifiers = KEY_QUALIFIERS | extra_qualifiers if extra_qualifiers else KEY_QUALIFIERS
        for idx, w in hits:
            if w in ("key", "keys"):
                q = next((t for t in tokens[:idx] if t in qualifiers), None)
                if q is not None:
                    return NameClass(True, False, f"'{q}' {w}")
        shown = "', '".join(dict.fromkeys(words))
        return NameClass(True, True, f"only weak secret words ('{shown}'): needs a secret-looking value")
    strong = next(w for w in words if w not in WEAK_SECRET_WORDS)
    return NameClass(True, False, f"secret word '{strong}'", password_like=password_like)


_TOKEN_WORDS = frozenset({"token", "tokens"})
