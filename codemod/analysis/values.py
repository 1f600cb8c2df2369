"""What does a value look like? (design.md section 3, "Values.")

Every function here returns kinds, format names or descriptions, never the
value itself, so callers can put the result in a report as is.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from enum import Enum

from codemod.analysis.names import NameClass

__all__ = [
    "COMMAND_WORDS",
    "ValueKind",
    "classify_value",
    "command_credentials",
    "embedded_credentials",
    "fallback",
    "url_credential",
    "embedded_references",
    "is_public_by_design",
    "is_secret_value",
    "known_format",
    "looks_high_entropy",
    "may_embed_credentials",
]


class ValueKind(str, Enum):
    """The shape of a value; the string is the report's ``value_class``."""

    EMPTY = "empty"
    REFERENCE = "reference"
    NOT_SECRET = "not-secret"
    REAL = "real-looking"
    PLACEHOLDER = "placeholder"
    PLAIN = "plain"
    #: supplied with --build-arg at build time: the value is not in the file
    BUILD_ARG = "build-arg"


# --- catalogue of known secret formats (own regexes, after gitleaks/detect-secrets) ---

_B = r"(?<![A-Za-z0-9_])"  # left boundary
_E = r"(?![A-Za-z0-9_])"  # right boundary
_ED = r"(?![A-Za-z0-9_-])"  # right boundary for formats that allow dashes

#: (format name, pattern, literals); the first match wins, so specific prefixes go first. Every match of a
#: pattern holds one of its literals: a value holding none of them cannot match, and the search is skipped.
_KNOWN_FORMATS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (name, re.compile(pattern), literals)
    for name, pattern, literals in (
        ("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", ("PRIVATE KEY",)),
        ("aws-access-key-id", _B + r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}" + _E,
         ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
        ("github-token", _B + r"gh[pousr]_[A-Za-z0-9]{36,255}" + _E, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
        ("github-fine-grained-pat", _B + r"github_pat_[A-Za-z0-9_]{50,255}" + _E, ("github_pat_",)),
        ("gitlab-token", _B + r"gl(?:pat|ptt|dt|rt|cbt|oas)-[A-Za-z0-9_-]{20,}" + _ED,
         ("glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "gloas-")),
        ("slack-webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}",
         ("https://hooks.slack.com/",)),
        (
            "discord-webhook",
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}",
            ("discord",),
        ),
        ("slack-token", _B + r"xox[abpors]-[A-Za-z0-9-]{10,}" + _ED, ("xox",)),
        ("stripe-secret-key", _B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}" + _E, ("_live_", "_test_")),
        ("anthropic-api-key", _B + r"sk-ant-[A-Za-z0-9_-]{20,}" + _ED, ("sk-ant-",)),
        ("openai-api-key", _B + r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}" + _ED, ("sk-",)),
        ("openai-api-key", _B + r"sk-[A-Za-z0-9]{32,}" + _E, ("sk-",)),
        ("npm-token", _B + r"npm_[A-Za-z0-9]{36}" + _E, ("npm_",)),
        ("pypi-token", _B + r"pypi-[A-Za-z0-9_-]{50,}" + _ED, ("pypi-",)),
        ("docker-pat", _B + r"dckr_pat_[A-Za-z0-9_-]{20,}" + _ED, ("dckr_pat_",)),
        ("google-api-key", _B + r"AIza[0-9A-Za-z_-]{35}" + _ED, ("AIza",)),
        ("sendgrid-api-key", _B + r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}" + _ED, ("SG.",)),
        ("twilio-api-key", _B + r"SK[0-9a-fA-F]{32}" + _E, ("SK",)),
        ("huggingface-token", _B + r"hf_[A-Za-z0-9]{34,}" + _E, ("hf_",)),
        ("shopify-token", _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E, ("shp",)),
        ("age-secret-key", _B + r"AGE-SECRET-KEY-1[0-9A-Z]{58}" + _E, ("AGE-SECRET-KEY-1",)),
        ("jwt", _B + r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}" + _ED, ("eyJ",)),
    )
)
#: no known format matches fewer characters than this (``xoxb-`` and ten more)
_KNOWN_FORMAT_MIN_LEN = 15
# A match in a known format that is really a documentation sample (ghp_xxxx..., AKIA...EXAMPLE).
_SAMPLE_TOKEN = re.compile(r"(?i)x{6,}|example|your|placeholder|(.)\1{9,}|0123456789|abcdefghij")

# --- public by design ---

_STRIPE_PUBLISHABLE = re.compile(r"pk_(?:live|test)_[A-Za-z0-9]{10,}")
_SUPABASE_PUBLISHABLE = re.compile(r"sb_publishable_[A-Za-z0-9_-]{10,}")
_RECAPTCHA_SITE_KEY = re.compile(r"6L[A-Za-z0-9_-]{38}")
# OpenPGP v4 fingerprints as official images write them: upper-case or 0x-prefixed
# (lower-case bare 40-hex is also a SHA-1 or an old GitHub token, so it is not cleared here).
_FINGERPRINT = re.compile(r"0[xX][0-9A-Fa-f]{40}|[0-9A-F]{40}|(?:[0-9A-F]{4} ?){9}[0-9A-F]{4}")
_FINGERPRINT_LIST = re.compile(
    r"(?:0[xX][0-9A-Fa-f]{40}|[0-9A-F]{40})(?:[\s,;]+(?:0[xX][0-9A-Fa-f]{40}|[0-9A-F]{40}))*"
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.(eyJ[A-Za-z0-9_-]{5,})\.[A-Za-z0-9_-]{10,}")

# --- value shapes ---

#: values that say "no value": ``EMPTY`` is the dummy key of local OpenAI-compatible servers (vLLM)
_EMPTY_WORDS = frozenset({"", "null", "none", "nil", "undefined", "empty", '""', "''"})
_BOOLEANS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "enabled", "disabled"})
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_DURATION = re.compile(
    r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d|w|y))+", re.IGNORECASE
)
_ABS_POSIX_PATH = re.compile(r"/[A-Za-z0-9._@%+~:,{}$/-]*")
_ABS_WINDOWS_PATH = re.compile(r"[A-Za-z]:[\\/][^\s\"'<>|?*]*|\\\\[^\s\\]+\\[^\s]*")
_VAR = r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)"
_VAR_NAME = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")
_ONLY_VARS = re.compile(rf"(?:{_VAR})+")
_SIMPLE_REFERENCE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE_START = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?:\}|:?[-+?=])")

# The look-behind keeps finditer linear: a scheme starts only where a word starts.
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s'\"<>`]+")
_URL_WHOLE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*")
# userinfo: ${VAR...} as one unit, so a ":-default" inside it does not split user from password.
# The alternatives are disjoint (one parse per string), so a failed match cannot backtrack exponentially.
_USER_PART = r"(?:\$\{[^}\s]*\}|\$(?!\{)|[^\s:/@?#$])*"
_PASSWORD_PART = r"(?:\$\{[^}\s]*\}|\$(?!\{)|[^\s/@?#$])*"
_URL_USERINFO = re.compile(
    rf"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<user>{_USER_PART}):(?P<pw>{_PASSWORD_PART})@"
)
#: GitHub's token-as-user URLs carry this fixed word as the password (``https://TOKEN:x-oauth-basic@github.com``):
#: the credential is the user part
_DUMMY_PASSWORDS = frozenset({"x-oauth-basic"})
_SECRET_QUERY_PARAM = re.compile(
    r"[?&](?P<param>access_token|refresh_token|id_token|api_key|apikey|api-key|auth_token|token|key|sig"
    r"|signature|password|passwd|pwd|secret|client_secret|x-amz-signature|x-goog-signature)"
    r"=(?P<val>[^&#\s'\"]*)",
    re.IGNORECASE,
)
_CONN_STRING_SECRET = re.compile(
    r"(?:^|;)\s*(?P<param>password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=\s*(?P<val>[^;]*)",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(r"\b(?P<param>Basic|Bearer)\s+(?P<val>\$\{[^}\s]*\}|\$\w+|[A-Za-z0-9._~+/-]+=*)")
_WEBHOOKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Slack webhook URL", re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/\S+")),
    ("Discord webhook URL", re.compile(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\S+")),
)

# Placeholders that win even over entropy: "your-super-secret-jwt-token-with-at-least-32-characters".
_STRONG_PLACEHOLDER = re.compile(
    r"(?i)^<[^<>]*>$|^\[[^\]]*\]$|^\{\{.*\}\}$|^%%?[A-Za-z_]+%%?$|^[x*.#?]{3,}$|^(?:\*+|\.+)$"
    r"|change[-_ ]?me|change[-_ ]?it|replace[-_ ]?(?:me|with|this)|\byour[-_ ]|^your[a-z]|x{3,}"
    r"|example|placeholder|dummy|fixme|\btodo\b|\btbd\b|redacted|not[-_ ]?a[-_ ]?(?:real[-_ ]?)?secret"
    r"|insert[-_ ]|put[-_ ]your|enter[-_ ]your|fill[-_ ]?me|set[-_ ]?me\b|fake|sample"
)
# Weaker signs, checked only after entropy: secret123, password1, testing, test_key.
_WEAK_PLACEHOLDER = re.compile(
    r"(?i)^(?:my)?(?:secret|secrets|password|passwd|test|testing|demo)(?:[-_.]?[A-Za-z0-9]+)?$"
    r"|^(?:foo|bar|foobar|key|token|pass|qwerty|letmein|abc|abc123|1234|12345|123456)[0-9]*$"
)
# Host names and dotted identifiers (archon-postgres.internal, com.acme.App): plain words.
_DOTTED = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)+")
_WORDY_SEGMENT = re.compile(r"[A-Z]?[a-z]+(?:[A-Z][a-z]+)*|[A-Z]+|[0-9]{1,4}")
_SEGMENT_SPLIT = re.compile(r"[-_.]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64ISH = re.compile(r"[A-Za-z0-9+/=_-]+")


def _strip_quotes(value: str) -> str:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1].strip()
    return v


def _is_reference(v: str) -> bool:
    """The whole value is ``$X``, ``${X}`` or ``${X:-default}`` (nested braces allowed)."""
    if _SIMPLE_REFERENCE.fullmatch(v):
        return True
    if not _REFERENCE_START.match(v):
        return False
    depth = 0
    for i, ch in enumerate(v):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i == len(v) - 1
    return False


def _jwt_payload(token: str) -> dict[str, object] | None:
    m = _JWT.fullmatch(token)
    if m is None:
        return None
    part = m.group(1)
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _is_anon_jwt(token: str) -> bool:
    payload = _jwt_payload(token)
    return payload is not None and payload.get("role") == "anon"


def known_format(value: str) -> str | None:
    """Name of the known secret format found in ``value`` (``github-token``...), else None."""
    if len(value) < _KNOWN_FORMAT_MIN_LEN:
        return None
    for name, pattern, literals in _KNOWN_FORMATS:
        for lit in literals:
            if lit in value:
                break
        else:
            continue  # none of the pattern's literals: it cannot match
        for m in pattern.finditer(value):
            token = m.group()
            if name == "jwt":
                if _is_anon_jwt(token):
                    continue
            elif name != "private-key" and _SAMPLE_TOKEN.search(token):
                continue
            return name
    return None


def is_public_by_design(value: str) -> bool:
    v = _strip_quotes(value)
    if not v:
        return False
    if (
        _STRIPE_PUBLISHABLE.fullmatch(v)
        or _SUPABASE_PUBLISHABLE.fullmatch(v)
        or _RECAPTCHA_SITE_KEY.fullmatch(v)
        or _FINGERPRINT.fullmatch(v)
        or _FINGERPRINT_LIST.fullmatch(v)
    ):
        return True
    return _is_anon_jwt(v)


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def looks_high_entropy(value: str) -> bool:
    """Measure only: a random-looking string (a sha256 checksum counts; the caller decides)."""
    v = value.strip()
    if len(v) < 20 or any(ch.isspace() for ch in v):
        return False
    segments = [s for s in _SEGMENT_SPLIT.split(v) if s]
    if len(segments) >= 2 and all(_WORDY_SEGMENT.fullmatch(s) for s in segments):
        return False  # replace-with-service-role-key, com.example.MyService
    if len(v) >= 32 and _HEX.fullmatch(v):
        return _entropy(v) >= 3.0
    classes = (
        any(c.islower() for c in v)
        + any(c.isupper() for c in v)
        + any(c.isdigit() for c in v)
        + any(not c.isalnum() for c in v)
    )
    if classes < 2:
        return False
    if not _BASE64ISH.fullmatch(v) and classes < 3:
        return False
    return _entropy(v) >= 3.5


def _is_abs_path(v: str) -> bool:
    if _ABS_WINDOWS_PATH.fullmatch(v):
        return True
    if not v.startswith("/") or v.startswith("//") or not _ABS_POSIX_PATH.fullmatch(v):
        return False
    # A base64 blob can start with "/": paths are made of short or wordy segments.
    return not any(len(seg) >= 20 and looks_high_entropy(seg) for seg in v.split("/"))


def _userinfo_secret(m: re.Match[str]) -> str:
    """The part of a URL's ``user:password@`` that holds the credential: the password, or the user when the
    password is only GitHub's fixed ``x-oauth-basic`` (empty when there is none)."""
    pw = m.group("pw")
    if pw.lower() in _DUMMY_PASSWORDS:
        return m.group("user")
    return pw


def url_credential(value: str) -> str | None:
    """A description (never the secret) of the literal credential in the ``user:password@`` of a URL that is the
    whole ``value`` (``DATABASE_URL=postgres://app:pw@db/app``, ``PYPI_SERVER=https://u:p@pypi.corp/simple``),
    or None: no userinfo, an empty password, or only references (``https://${GH_TOKEN}:x-oauth-basic@github.com``
    and ``amqp://u:${PW}@h`` name their secret, they do not hold it)."""
    v = _strip_quotes(value)
    if "://" not in v or "@" not in v or not _URL_WHOLE.fullmatch(v):
        return None
    m = _URL_USERINFO.match(v)
    if m is None:
        return None
    secret = _userinfo_secret(m)
    if not secret or _credential_kind(secret) is ValueKind.PLAIN:
        return None
    return f"password in {m.group('scheme')} URL"


def fallback(value: str) -> str | None:
    """The literal default of a whole-value ``${X:-default}`` / ``${X-default}`` reference (what the image holds
    when ``X`` is unset), else None (no fallback, or one that is itself a reference)."""
    v = _strip_quotes(value)
    m = _FALLBACK.fullmatch(v)
    if m is None or "$" in m.group(1):
        return None
    return m.group(1)


_FALLBACK = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-(.*)\}", re.S)


def _credential_kind(secret: str) -> ValueKind:
    if not secret or _ONLY_VARS.fullmatch(secret):
        return ValueKind.PLAIN  # embeds a reference: the caller follows embedded_references()
    if _STRONG_PLACEHOLDER.search(secret) or _WEAK_PLACEHOLDER.fullmatch(secret):
        return ValueKind.PLACEHOLDER
    return ValueKind.REAL


def _classify_url(v: str) -> ValueKind:
    m = _URL_USERINFO.match(v)
    if m is not None and _userinfo_secret(m):
        return _credential_kind(_userinfo_secret(m))
    for q in _SECRET_QUERY_PARAM.finditer(v):
        if q.group("val"):
            return _credential_kind(q.group("val"))
    return ValueKind.NOT_SECRET


def classify_value(value: str, *, name_is_password_like: bool = False) -> ValueKind:
    v = _strip_quotes(value)
    low = v.lower()
    if low in _EMPTY_WORDS:
        return ValueKind.EMPTY
    if _is_reference(v):
        return ValueKind.REFERENCE
    if known_format(v) is not None:
        return ValueKind.REAL
    if is_public_by_design(v):
        return ValueKind.NOT_SECRET
    if _URL_WHOLE.fullmatch(v):
        return _classify_url(v)
    if low in _BOOLEANS or _DURATION.fullmatch(v):
        return ValueKind.NOT_SECRET
    if _NUMBER.fullmatch(v):
        if name_is_password_like and _DIGITS.fullmatch(v) and len(v) >= 4:
            return ValueKind.REAL
        return ValueKind.NOT_SECRET
    if _is_abs_path(v):
        return ValueKind.NOT_SECRET
    if _DOTTED.fullmatch(v) and not looks_high_entropy(v):
        return ValueKind.PLAIN
    if _STRONG_PLACEHOLDER.search(v):
        return ValueKind.PLACEHOLDER
    if looks_high_entropy(v):
        return ValueKind.REAL
    if _WEAK_PLACEHOLDER.fullmatch(v):
        return ValueKind.PLACEHOLDER
    return ValueKind.PLAIN


def _var_names(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _VAR_NAME.finditer(text)]


def may_embed_credentials(value: str) -> bool:
    """Can :func:`_scan_embedded` or :func:`embedded_secret_parts` find anything in ``value``? Each of their
    patterns needs a URL's ``://``, a connection string's ``=`` or a header's ``Basic``/``Bearer``."""
    return "://" in value or "=" in value or "Basic" in value or "Bearer" in value


def _scan_embedded(value: str) -> tuple[list[str], list[str]]:
    if not may_embed_credentials(value):
        return [], []
    descriptions: list[str] = []
    references: list[str] = []

    def add(what: str, secret: str) -> None:
        names = _var_names(secret)
        if names:
            references.extend(names)
            shown = ", ".join(f"${n}" for n in names)
            descriptions.append(f"{what} (reference to {shown})")
        else:
            descriptions.append(what)

    for label, pattern in _WEBHOOKS:
        if pattern.search(value):
            descriptions.append(label)
    for url in _URL.finditer(value):
        u = url.group()
        m = _URL_USERINFO.match(u)
        if m is not None and m.group("pw"):
            secret = _userinfo_secret(m)
            what = "token" if m.group("pw").lower() in _DUMMY_PASSWORDS else "password"
            if secret:
                add(f"{what} in {m.group('scheme')} URL", secret)
        for q in _SECRET_QUERY_PARAM.finditer(u):
            if q.group("val"):
                add(f"'{q.group('param')}' query parameter in URL", q.group("val"))
    for c in _CONN_STRING_SECRET.finditer(value):
        if c.group("val").strip():
            add(f"'{c.group('param')}=' in connection string", c.group("val"))
    for h in _AUTH_HEADER.finditer(value):
        secret = h.group("val")
        if len(secret) >= 8 or secret.startswith("$"):
            add(f"{h.group('param')} credential in header value", secret)
    return list(dict.fromkeys(descriptions)), list(dict.fromkeys(references))


def embedded_secret_parts(value: str) -> list[str]:
    """The literal credentials inside a larger value (URL passwords, secret query values, ...), for redaction.

    Never printed; references (``${PW}``) are not secrets and are left out.
    """
    if not may_embed_credentials(value):
        return []
    parts: list[str] = []
    for url in _URL.finditer(value):
        u = url.group()
        m = _URL_USERINFO.match(u)
        if m is not None and _userinfo_secret(m):
            parts.append(_userinfo_secret(m))
        parts.extend(q.group("val") for q in _SECRET_QUERY_PARAM.finditer(u) if q.group("val"))
    parts.extend(c.group("val").strip() for c in _CONN_STRING_SECRET.finditer(value) if c.group("val").strip())
    parts.extend(h.group("val") for h in _AUTH_HEADER.finditer(value) if len(h.group("val")) >= 8)
    for _label, pattern in _WEBHOOKS:
        parts.extend(m.group() for m in pattern.finditer(value))
    return [p for p in dict.fromkeys(parts) if not _var_names(p) and len(p) >= 4]


def embedded_credentials(value: str) -> list[str]:
    """Descriptions (never the secret) of credentials inside a larger value."""
    return _scan_embedded(value)[0]


def embedded_references(value: str) -> list[str]:
    """Variable names used where an embedded credential goes (``amqp://u:${PW}@h`` -> ``["PW"]``)."""
    return _scan_embedded(value)[1]


def is_secret_value(name_class: NameClass, value: str) -> tuple[bool, ValueKind]:
    """Is this (name, value) pair a secret? A reference is not decided here (the caller resolves it), except
    for its literal fallback: ``${JWT_SIGNING_KEY:-dev-key}`` holds ``dev-key`` whenever nobody sets it."""
    kind = classify_value(value, name_is_password_like=name_class.password_like)
    if kind is ValueKind.REFERENCE or _ONLY_VARS.fullmatch(_strip_quotes(value)):
        default = fallback(value) if kind is ValueKind.REFERENCE else None
        if default:
            return is_secret_value(name_class, default)
        return False, ValueKind.REFERENCE  # ${A}${B}: only references, the caller resolves them
    # classify_value() says REAL for every known format and NOT_SECRET for public-by-design values.
    if kind is ValueKind.REAL and known_format(value) is not None:
        return True, kind
    if kind in (ValueKind.EMPTY, ValueKind.NOT_SECRET):
        return False, kind
    if not name_class.secret:
        # a URL with a password is a secret under any name (DATABASE_URL, PYPI_SERVER); a token in its query is
        # reported inside the value (MS010), the rest of the URL being configuration
        return url_credential(value) is not None, kind
    if name_class.weak:
        return kind in (ValueKind.REAL, ValueKind.PLACEHOLDER), kind
    return True, kind


# --- literal credentials in commands (RUN, CMD, ENTRYPOINT, HEALTHCHECK) ---------------------------------------

#: a literal argument: quoted (no expansion inside single quotes) or bare, never a ``$`` expansion or a backtick
_LIT = r"""(?P<val>'[^'\n]*'|"[^"$`\n]*"|[^\s;&|"'`$<>()\\]+)"""
#: flags that take the secret as their argument, with a space or ``=`` (``--passphrase-fd``, ``--password-file``
#: and ``--token-file`` are other flags: the name must end where the value starts)
_SECRET_FLAGS = (
    r"password|passwd|passphrase|pass|requirepass|masterauth|token|api-?key|access-?token|auth-?token|"
    r"client-?secret|secret-?key|http-password|ftp-password|proxy-password|db-password|admin-password"
)
_COMMAND_CREDENTIALS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern, re.IGNORECASE if what.startswith("SQL") else 0))
    for what, pattern in (
        ("a password flag", rf"(?<![\w-])--(?:{_SECRET_FLAGS})(?:=|[ \t]+){_LIT}"),
        ("a keystore or key password flag",
         rf"(?<![\w-])-(?:storepass|keypass|srcstorepass|deststorepass|srckeypass|destkeypass|password)[ \t]+{_LIT}"),
        ("an openssl pass: argument", r"(?<![\w-])-pass(?:in|out)?[ \t]+(?:'|\")?pass:(?P<val>[^\s'\"$`;&|]+)"),
        ("a mysql -p password", r"\b(?:mysql|mysqladmin|mysqldump|mariadb|mariadb-admin|mysqlimport|mysqlshow|"
                                r"mysqlcheck)\b[^;&|\n]*?[ \t]-p(?P<val>'[^'\n]+'|\"[^\"$`\n]+\"|[^\s;&|\"'`$]+)"),
        ("a docker login -p password", r"\b(?:docker|podman|buildah|skopeo|nerdctl)[ \t]+login\b[^;&|\n]*?"
                                       rf"[ \t]-p[ \t]+{_LIT}"),
        ("an sshpass -p password", rf"\bsshpass[ \t]+-p[ \t]*{_LIT}"),
        ("a redis-cli -a password", rf"\bredis-cli\b[^;&|\n]*?[ \t]-a[ \t]+{_LIT}"),
        ("a mongo -p password", rf"\bmongo(?:sh)?\b[^;&|\n]*?[ \t]-p[ \t]+{_LIT}"),
        ("a user:password argument", r"\b(?:curl|wget|lftp)\b[^;&|\n]*?(?<![\w-])(?:-u|--user|--proxy-user)"
                                     r"(?:=|[ \t]+)['\"]?[^\s:'\"$`;&|]+:(?P<val>[^\s'\"$`;&|@]+)['\"]?"),
        ("a property or option", r"(?<![\w-])(?:-D|--)(?P<name>[A-Za-z][\w.-]*)=(?P<val>'[^'\n]*'|\"[^\"$`\n]*\"|"
                                 r"[^\s;&|\"'`$<>()\\,]+)"),
        ("a chpasswd user:password", r"\becho[ \t]+(?:-e[ \t]+)?['\"]?[\w.-]+:(?P<val>[^\s'\"$`|]+)['\"]?[ \t]*\|"
                                     r"[ \t]*(?:sudo[ \t]+)?chpasswd\b"),
        ("an htpasswd -b password", rf"\bhtpasswd[ \t]+-\w*b\w*[ \t]+\S+[ \t]+\S+[ \t]+{_LIT}"),
        ("an npmrc auth value", r":_(?:authToken|auth|password)[ \t]*[= ][ \t]*(?P<val>[^\s'\"$`;&|]+)"),
        ("SQL IDENTIFIED BY password", r"\bIDENTIFIED[ \t]+(?:WITH[ \t]+\w+[ \t]+)?BY[ \t]+(?:'(?P<val>[^'$\n]+)'|"
                                       r"\\?\"(?P<val2>[^\"$\n\\]+)\\?\")"),
        ("SQL PASSWORD literal", r"\bPASSWORD[ \t]+'(?P<val>[^'$\n]+)'"),
    )
)
#: ``NAME=value`` where the shell assigns it: at the start of a simple command (after a line start, ``;``,
#: ``&&``, ``||``, ``|``, ``(``, ``{``, ``then``, ``do``, other assignments), after ``export``/``env``/``declare``,
#: or as the argument of ``-e``/``--env``/``--build-arg``; judged by the name and the value. An argument of
#: another command (``ARG TOKEN=x`` in a heredoc body) is not an assignment.
_ASSIGNMENT = re.compile(
    r"(?:(?:^|[;&|(){}]|\b(?:then|do|else))[ \t]*(?:env[ \t]+)?(?P<how>(?:export|declare|local|readonly)[ \t]+"
    r"(?:-\w+[ \t]+)*)?|(?P<flag>(?<![\w-])(?:-e|--env|--build-arg))[ \t]+)"
    r"(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^'\n]*'|\"[^\"\n]*\"|[^\s;&|]*)[ \t]+)*"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<val>'[^'\n]*'|\"[^\"$`\n]*\"|[^\s;&|\"'`$<>()\\]+)",
    re.M,
)
#: a command that cannot hold any of the above: no secret-ish word, no short flag that takes a password
_COMMAND_HINT = re.compile(
    r"(?i)pass|pw|secret|token|key|auth|cred|identified|sshpass|chpasswd|login|"
    r"\s-[pua]|:_|storepass|keypass"
)
#: trigger words (regexes on lower-cased bytes) of the commands :func:`command_credentials` reads that hold no
#: secret word themselves: the pre-filter of the fix loop must let these files through (MS010 declares them)
COMMAND_WORDS: tuple[str, ...] = ("mysql", "mariadb", "mongo", "redis-cli", "identified", "login", "curl", "wget")
#: values in a command that only look like credentials; ``changeit`` is the JDK cacerts password every JDK ships
_NOT_A_COMMAND_SECRET = re.compile(r"(?i)^(?:-.*|stdin|prompt|none|null|true|false|x-oauth-basic|changeit)$")


def _literal(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw


def command_credentials(text: str, classify: Callable[[str], NameClass] | None = None
                        ) -> list[tuple[str | None, str, str]]:
    """Literal credentials in a shell command (a RUN, CMD, ENTRYPOINT or HEALTHCHECK text, heredoc bodies
    included): ``(assigned name or None, description, the literal)`` each. The literal is for redaction only,
    never printed. References (``--password "$PW"``, ``-p$(cat /run/secrets/x)``), ``--password-file``,
    ``--passphrase-fd``, ports (``-p 8080:80``) and placeholders assigned inline before a command (a migrated
    ``RUN SECRET_KEY=placeholder manage.py collectstatic``) are not credentials.
    """
    if not _COMMAND_HINT.search(text) and "=" not in text:
        return []
    from codemod.analysis.names import classify_name

    judge = classify or classify_name
    password = judge("password")
    found: list[tuple[str | None, str, str]] = []
    seen: set[int] = set()  # where each value starts: one credential, one entry
    for what, pattern in _COMMAND_CREDENTIALS:
        for m in pattern.finditer(text):
            group = "val" if m.group("val") is not None else "val2"
            raw = m.group(group)
            value = _literal(raw)
            if m.start(group) in seen or not value or _NOT_A_COMMAND_SECRET.match(value) \
                    or "$" in value and raw[:1] != "'":
                continue
            flag = m.groupdict().get("name")
            nc = judge(flag) if flag else password
            if flag and not nc.secret:
                continue
            if is_secret_value(nc, value)[0] or known_format(value):
                seen.add(m.start(group))
                found.append((None, what, value))
    urls = [(u.start(), u.end()) for u in _URL.finditer(text)] if "://" in text else []
    for m in _ASSIGNMENT.finditer(text):
        name, raw = m.group("name"), m.group("val")
        value = _literal(raw)
        if m.start("val") in seen or not value or "$" in value and raw[:1] != "'":
            continue
        if any(a <= m.start() < b for a, b in urls):
            continue  # a query parameter: the URL's own credential (embedded_credentials)
        secret, kind = is_secret_value(judge(name), value)
        # a placeholder set for one command only is how a build step gets *some* value (MS003's own fix)
        if secret and (kind is not ValueKind.PLACEHOLDER or m.group("how") or m.group("flag")):
            seen.add(m.start("val"))
            found.append((name, f"{name}= assigned a literal", value))
    return found
