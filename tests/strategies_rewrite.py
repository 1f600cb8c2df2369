"""Generated Dockerfiles for the rewriter: tricky lines with secret lines spliced in.

One generator, two drivers: :func:`dockerfiles_rw` (a hypothesis strategy, which
shrinks) and :func:`generate` (a seeded :class:`random.Random`, for fixed corpora
and the atheris seed corpus, no hypothesis needed). Two shapes are mixed:

* *soup*: any lines in any order (the scanner's tricky lines, more of them, and
  secret lines); most are rejected or migrate nothing, they exercise refusals;
* *structured*: directives, stages, and blocks that the rules do rewrite
  (secret ARG defaults, ENV bindings, multi-pair ENVs with the secret first,
  middle or last, comments above and inside continuations, heredocs holding
  lines that only look like instructions, the backtick escape), with CRLF,
  mixed line ends, a BOM, non-UTF-8 bytes and a missing final newline.

Every secret value used here is listed in :data:`SECRET_VALUES`.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

BOM = b"\xef\xbb\xbf"

#: names the rules treat as secrets, and settings beside them
SECRET_NAMES = [
    b"DB_PASSWORD", b"API_TOKEN", b"NPM_TOKEN", b"SECRET_KEY", b"STRIPE_SECRET_KEY", b"AWS_SECRET_ACCESS_KEY",
    b"GITHUB_TOKEN", b"SUPABASE_SERVICE_KEY", b"ADMIN_PASSWORD", b"JWT_SECRET", b"PGPASSWORD", b"MCP_API_KEY",
]
SETTING_NAMES = [b"DB_HOST", b"LOG_LEVEL", b"APP_DIR", b"PUBLIC_KEY_PATH", b"TOKEN_TTL", b"SUPABASE_URL", b"PORT"]
SETTING_VALUES = [b"db", b"info", b"/app", b"/etc/keys/pub.pem", b"15m", b"http://kong:8000", b"8080", b"", b'"a b"']

#: secret values (as written in the file), placeholders and real-looking ones
SECRET_VALUES = [
    b"changeme-db-password",
    b"replace-with-your-token",
    b"<your-api-key>",
    b"hunter2hunter2hunter2",
    b"ghp_R4nd0mT0k3nV4lu3Xq9Lm2Zp8Wk5Jd7Hs3T",
    b"sk_live_51HqLyjWDarjtT1zdp7dcXq9Lm2Zp8Wk5Jd",
    b"AKIAJ7Q2X5R3W6PLMN4T",
    b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Lm2Zp8W",
    b"django-insecure-q9Lm2Zp8Wk5Jd7Hs3Ty6vB1n",
    b'"s3cr3t value with spaces"',
    b"'quoted-S3cr3t-Pa55w0rd!'",
    b"p\xe9ss\xffw\xf6rd-N0t-Utf8-9x7",
    b"caf\xc3\xa9-Pa55phrase-\xe2\x82\xac-42x",
]


class Chooser(Protocol):
    def choice(self, seq: Sequence[T]) -> T: ...

    def integer(self, lo: int, hi: int) -> int: ...

    def flip(self, one_in: int = 2) -> bool: ...


class RandomChooser:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.rng.randrange(len(seq))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def flip(self, one_in: int = 2) -> bool:
        return self.rng.randrange(one_in) == 0


class DrawChooser:
    def __init__(self, draw: Callable[[Any], Any]) -> None:
        from hypothesis import strategies as st

        self.st = st
        self.draw = draw

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.draw(self.st.integers(0, len(seq) - 1))]

    def integer(self, lo: int, hi: int) -> int:
        return int(self.draw(self.st.integers(lo, hi)))

    def flip(self, one_in: int = 2) -> bool:
        return int(self.draw(self.st.integers(0, one_in - 1))) == 0


def _tricky_lines() -> list[bytes]:
    try:
        from strategies import TRICKY_LINES  # the scanner's own list (tests/strategies.py)

        return list(TRICKY_LINES)
    except ImportError:  # pragma: no cover - run from elsewhere (fuzz/)
        return []


EXTRA_TRICKY = [
    b"FROM scratch", b"FROM alpine AS final", b"ARG BASE=alpine", b"FROM ${BASE}", b"RUN <<EOF cat", b"EOF",
    b"RUN <<-'EOT'", b"\techo $NPM_TOKEN", b"\tEOT", b"ARG DB_PASSWORD=inside-heredoc-not-an-instruction",
    b"COPY <<EOF /etc/app.conf", b"password=changeme", b"ENV A=1 # B=2", b"ENV", b"ARG", b"ENV K", b"ENV =x",
    b"# check=skip=all", b"# escape=\\", b"#escape=`", b"# syntax = docker/dockerfile:1.4", b"  \t  ",
    b"RUN echo a `", b"ENV W=C:\\tools `", b"    X=1", b"ENV Y=\"unterminated", b"ENV Z='x' \\", b"\\ ",
    b"ENV \xff\xfe=1", b"ARG \xe9=\xe9", b"RUN echo \x00nul", b"LABEL DB_PASSWORD=not-a-target",
    b'RUN ["sh", "-c", "echo $API_TOKEN"]', b'ENTRYPOINT ["/bin/app"]', b"ONBUILD ARG NPM_TOKEN=changeme-npm",
    b"ENV A=1\\", b"ENV B=2 \\ ", b"\x0c", b"\xe2\x80\xa8", b"ENV U=\xe2\x80\xa8x", b"ENV V=\\$NOT_A_REF",
    b"HEALTHCHECK --interval=5s CMD curl -f http://localhost/", b"SHELL [\"powershell\", \"-Command\"]",
    b"STOPSIGNAL SIGTERM", b"VOLUME /data", b"ADD --chmod=600 secret.txt /x", b"EXPOSE 80/tcp",
]


def secret_lines(esc: bytes = b"\\") -> list[bytes]:
    """Lines (some ending in a continuation) that the rules act on."""
    c = b" " + esc
    return [
        b"ARG DB_PASSWORD=changeme-db-password",
        b"ENV DB_PASSWORD=${DB_PASSWORD}",
        b"ARG NPM_TOKEN=replace-with-your-token",
        b"ENV API_TOKEN=ghp_R4nd0mT0k3nV4lu3Xq9Lm2Zp8Wk5Jd7Hs3T",
        b"ENV SECRET_KEY=django-insecure-q9Lm2Zp8Wk5Jd7Hs3Ty6vB1n",
        b"ENV LOG_LEVEL=info" + c,
        b"    STRIPE_SECRET_KEY=sk_live_51HqLyjWDarjtT1zdp7dcXq9Lm2Zp8Wk5Jd" + c,
        b"    APP_DIR=/app",
        b"ARG AWS_SECRET_ACCESS_KEY",
        b"ENV AWS_ACCESS_KEY_ID=AKIAJ7Q2X5R3W6PLMN4T",
        b"RUN echo $NPM_TOKEN > /root/.npmrc",
        b"ENV DB_PASSWORD hunter2hunter2hunter2",
        b"ENV DATABASE_URL=postgres://app:hunter2hunter2hunter2@db/app",
        b"ENV BROKER_URL=amqp://u:${DB_PASSWORD}@rabbit",
        b"ONBUILD ENV NPM_TOKEN=changeme-npm-token",
        b"ARG SUPABASE_SERVICE_KEY_DEFAULT=changeme-service-key",
        b"ENV SUPABASE_SERVICE_KEY=${SUPABASE_SERVICE_KEY_DEFAULT}",
        b"ARG SUPABASE_URL_DEFAULT=http://kong:8000",
        b"ENV SUPABASE_URL=${SUPABASE_URL_DEFAULT}",
        b"ENV ADMIN_PASSWORD=p\xe9ss\xffw\xf6rd-N0t-Utf8-9x7",
        b'ENV JWT_SECRET="s3cr3t value with spaces"',
        b"ARG GITHUB_TOKEN='quoted-S3cr3t-Pa55w0rd!'",
        b"# the database password",
        b"ENV PGPASSWORD=caf\xc3\xa9-Pa55phrase-\xe2\x82\xac-42x" + c,
        b"  # a comment inside the continuation",
        b"    MCP_API_KEY=<your-api-key>",
        b"RUN SECRET_KEY=placeholder python manage.py collectstatic",
    ]


def _eols(ch: Chooser) -> Callable[[], bytes]:
    mode = ch.choice(["lf", "lf", "crlf", "mixed"])
    if mode == "lf":
        return lambda: b"\n"
    if mode == "crlf":
        return lambda: b"\r\n"
    return lambda: ch.choice([b"\n", b"\r\n"])


def _join(ch: Chooser, lines: list[bytes]) -> bytes:
    eol = _eols(ch)
    data = b"".join(line + eol() for line in lines)
    if ch.flip(4):
        data = data.rstrip(b"\r\n")
    return data


def soup(ch: Chooser) -> bytes:
    pool = _tricky_lines() + EXTRA_TRICKY + secret_lines() + secret_lines(b"`")
    lines = [ch.choice(pool) for _ in range(ch.integer(1, 30))]
    data = _join(ch, lines)
    if ch.flip(8):
        data = BOM + data
    return data


# --- structured files -------------------------------------------------------

def _name(ch: Chooser) -> bytes:
    return ch.choice(SECRET_NAMES)


def _secret(ch: Chooser) -> bytes:
    return ch.choice(SECRET_VALUES)


def _pair(ch: Chooser, secret: bool) -> bytes:
    if secret:
        return _name(ch) + b"=" + _secret(ch)
    return ch.choice(SETTING_NAMES) + b"=" + ch.choice(SETTING_VALUES)


def _comments(ch: Chooser) -> list[bytes]:
    if not ch.flip(3):
        return []
    return [ch.choice([b"# the secret below", b"  # indented note", b"#", b"# TODO: rotate"])
            for _ in range(ch.integer(1, 2))]


def _multi_env(ch: Chooser, esc: bytes, keyword: bytes = b"ENV") -> list[bytes]:
    """One ENV over several lines, secrets anywhere, comments and blank lines inside."""
    n = ch.integer(1, 5)
    pairs = [_pair(ch, ch.flip(2)) for _ in range(n)]
    indent = ch.choice([b"    ", b"\t", b"  ", b""])
    per_line = ch.choice([1, 1, 2])
    groups = [pairs[i : i + per_line] for i in range(0, n, per_line)]
    out: list[bytes] = []
    if ch.flip(6):  # the keyword alone on its line
        out = [keyword + b" " + esc]
        prefix = indent
    else:
        out, prefix = [], keyword + b" "
    for g, group in enumerate(groups):
        text = b" ".join(group)
        last = g == len(groups) - 1
        tail = b"" if last else ch.choice([b" " + esc, b" " + esc, esc, b" " + esc + b"  ", b" " + esc + b"\t"])
        if last and ch.flip(12):  # a continuation at the end of the file or before a blank line
            tail = b" " + esc
        out.append((prefix if g == 0 else indent) + text + tail)
        if not last and ch.flip(5):
            out.append(ch.choice([b"  # inside the continuation", b"", b"   ", b"# " + _name(ch) + b"=x"]))
    return out


def _block(ch: Chooser, esc: bytes, stage_names: list[bytes]) -> list[bytes]:
    kind = ch.integer(0, 17)
    name = _name(ch)
    c = b" " + esc
    if kind == 0:  # secret ARG default
        return _comments(ch) + [b"ARG " + name + b"=" + _secret(ch)]
    if kind == 1:  # runtime secret through ARG and ENV (the Archon pattern)
        arg = name + ch.choice([b"", b"_DEFAULT"])
        default = ch.choice([b"=" + _secret(ch), b""])
        ref = ch.choice([b"${" + arg + b"}", b"$" + arg, b"${" + arg + b":-fallback}"])
        return _comments(ch) + [b"ARG " + arg + default, *_comments(ch), b"ENV " + name + b"=" + ref]
    if kind == 2:
        return _comments(ch) + _multi_env(ch, esc)
    if kind == 3:  # legacy form, maybe continued
        if ch.flip(3):
            return [b"ENV " + name + c, b"    " + _secret(ch)]
        return [b"ENV " + name + b" " + _secret(ch)]
    if kind == 4:  # literal secret read by a later RUN
        return [b"ENV " + name + b"=" + _secret(ch), b"RUN ./manage.py collectstatic --noinput"]
    if kind == 5:  # build-time use: shell form, exec form, heredoc, persisted then used
        decl = [b"ARG " + name + ch.choice([b"", b"=" + _secret(ch)])]
        use = ch.integer(0, 5)
        if use == 0:
            return decl + [b"RUN echo \"$" + name + b"\" > /tmp/t" + c, b"    && rm /tmp/t"]
        if use == 1:
            return decl + [b'RUN ["sh", "-c", "curl -H \\"Authorization: $' + name + b'\\" https://x"]']
        if use == 2:
            return decl + [b"RUN <<EOF", b"curl -u \"u:${" + name + b"}\" https://x", b"EOF"]
        if use == 3:
            return decl + [b'RUN echo "//registry.npmjs.org/:_authToken=${' + name + b'}" > /root/.npmrc',
                          *ch.choice([[], [b"COPY package.json ./"], [b"# install"]]), b"RUN npm ci"]
        if use == 4:
            return decl + [b"RUN git config --global url.\"https://${" + name
                          + b"}@github.com/\".insteadOf \"https://github.com/\"", b"RUN git clone https://github.com/a/b"]
        return decl + [b"ONBUILD RUN pip install --index-url https://u:${" + name + b"}@pypi.example/simple x"]
    if kind == 6:  # a heredoc whose body only looks like instructions
        term = ch.choice([b"EOF", b"'EOF'", b"\"EOF\""])
        body = [b"ARG " + name + b"=" + _secret(ch), b"ENV " + name + b"=x", b"# comment in heredoc", b""]
        dash = ch.flip(2)
        lines = [b"RUN <<" + (b"-" if dash else b"") + term]
        lines += [(b"\t" if dash else b"") + line for line in body]
        lines.append((b"\t" if dash else b"") + b"EOF")
        return lines
    if kind == 7:
        return [b"COPY <<EOT /etc/app.env", b"TOKEN=" + _secret(ch), b"EOT"]
    if kind == 8:  # settings group through ARG defaults
        return [b"ARG SUPABASE_URL_DEFAULT=http://kong:8000", b"ARG SUPABASE_SERVICE_KEY_DEFAULT=" + _secret(ch),
                b"ENV SUPABASE_URL=${SUPABASE_URL_DEFAULT}" + c,
                b"    SUPABASE_SERVICE_KEY=${SUPABASE_SERVICE_KEY_DEFAULT}" + c,
                b"    APP_DIR=/app"]
    if kind == 9:
        return [ch.choice([b"", b"   ", b"\t", b"# plain comment", b"#"])]
    if kind == 10:
        return [ch.choice([b"RUN apk add --no-cache curl", b'CMD ["python", "app.py"]', b"WORKDIR /app",
                           b"USER app", b"EXPOSE 8080", b"LABEL org.opencontainers.image.title=x",
                           b"HEALTHCHECK CMD true", b'RUN ["sh", "-c", "echo hi"]', b"COPY . /app"])]
    if kind == 11:
        return [b"ONBUILD ENV " + name + b"=" + _secret(ch), b"ONBUILD ARG " + _pair(ch, ch.flip(2))]
    if kind == 12:  # several pairs on one line
        return [b"ENV " + b" ".join(_pair(ch, ch.flip(2)) for _ in range(ch.integer(1, 4)))]
    if kind == 13:  # several names in one ARG
        return [b"ARG " + b" ".join(ch.choice([_pair(ch, True), _pair(ch, False), _name(ch)])
                                    for _ in range(ch.integer(1, 3)))]
    if kind == 14:  # credential inside a larger value / embedded reference
        return [ch.choice([b"ENV DATABASE_URL=postgres://app:" + _secret(ch) + b"@db/app",
                           b"ENV BROKER_URL=amqp://u:${" + name + b"}@rabbit",
                           b"ENV AUTH_HEADER=\"Bearer " + _secret(ch) + b"\""])]
    if kind == 15:  # a RUN continued over comment and blank lines
        return [b"RUN set -e" + c, b"  # comment inside", b"", b"    && echo done"]
    if kind == 16 and stage_names:
        return [b"COPY --from=" + ch.choice(stage_names) + b" /out /out"]
    return [b"ARG " + name]  # bare secret-named ARG, unused


def structured(ch: Chooser) -> bytes:
    esc = b"`" if ch.flip(6) else b"\\"
    lines: list[bytes] = []
    if ch.flip(4):
        lines.append(ch.choice([b"# syntax=docker/dockerfile:1", b"# syntax=docker/dockerfile:1.4",
                                b"#syntax=docker/dockerfile:1.2"]))
    if esc == b"`":
        lines.append(b"# escape=`")
    elif ch.flip(8):
        lines.append(b"# escape=\\")
    if ch.flip(8):
        lines.append(b"# check=error=true")
    if ch.flip(4):  # a global ARG before the first FROM
        lines += _comments(ch) + [b"ARG " + ch.choice([b"BASE=alpine:3.20", _pair(ch, True)])]
    stage_names: list[bytes] = []
    for s in range(ch.integer(1, 3)):
        if s or ch.flip(3):
            lines.append(b"")
        stage = b"s%d" % s
        lines.append(b"FROM " + ch.choice([b"alpine:3.20", b"python:3.12-slim", b"${BASE}"]) + b" AS " + stage)
        for _ in range(ch.integer(1, 7)):
            lines += _block(ch, esc, stage_names)
        stage_names.append(stage)
    if ch.flip(10):  # something BuildKit rejects, anywhere
        at = ch.integer(0, len(lines))
        bad = ch.choice([[b"RUN <<EOF", b"never terminated"], [b"ENV A=1 B"], [b"ENV LONE"],
                         [b"RUN " + b"x" * 65536], [b"ENV A=1 # B=2"]])
        lines[at:at] = bad
    for _ in range(ch.choice([0, 0, 0, 1, 2])):  # a non-UTF-8 byte anywhere
        k = ch.integer(0, len(lines) - 1)
        at = ch.integer(0, len(lines[k]))
        lines[k] = lines[k][:at] + ch.choice([b"\xff", b"\xe9", b"\xc3", b"\x80"]) + lines[k][at:]
    data = _join(ch, lines)
    if ch.flip(8):
        data = BOM + data
    return data


# --- real files with secret lines spliced in ----------------------------------

_ROOT = Path(__file__).resolve().parents[1]
_BASES: list[bytes] = []


def base_files() -> list[bytes]:
    """Valid files BuildKit parsed (conformance cases, golden inputs): the splice targets."""
    if not _BASES:
        conf = _ROOT / "fixtures" / "parser-conformance"
        _BASES.extend(p.read_bytes() for p in sorted((conf / "valid").glob("*.Dockerfile")))
        _BASES.extend(p.read_bytes() for p in sorted((_ROOT / "fixtures" / "golden").glob("*/input.Dockerfile")))
        random_cases = conf / "random.jsonl"
        if random_cases.exists():
            for line in random_cases.read_text().splitlines():
                d = json.loads(line)
                if not d["buildkit"].get("error"):
                    _BASES.append(base64.b64decode(d["input_b64"]))
    return _BASES


def spliced(ch: Chooser) -> bytes:
    """A valid file with secret blocks inserted between its instructions."""
    from codemod.dockerfile.scanner import ParseError, parse

    bases = base_files()
    if not bases:
        return structured(ch)
    data = ch.choice(bases)
    try:
        df = parse(data)
    except ParseError:
        return data
    eol = b"\r\n" if data.count(b"\r\n") * 2 > data.count(b"\n") else b"\n"
    esc = df.escape.encode()
    # after the first FROM (or any instruction), never inside one or inside a heredoc
    cuts = sorted({ins.end for ins in df.instructions})
    out = data
    for _ in range(ch.integer(1, 3)):
        at = ch.choice(cuts)
        block = _block(ch, esc, [])
        text = b"".join(line + eol for line in block)
        head = out[:at]
        if head and not head.endswith(b"\n"):
            text = eol + text
        out = head + text + out[at:]
        cuts = [c if c < at else c + len(text) for c in cuts] + [at + len(text)]
    return out


def generate_with(ch: Chooser) -> bytes:
    shape = ch.integer(0, 5)
    if shape == 0:
        return soup(ch)
    if shape == 1:
        return spliced(ch)
    return structured(ch)


def generate(seed: int) -> bytes:
    """A deterministic input for ``seed`` (no hypothesis needed)."""
    return generate_with(RandomChooser(random.Random(seed)))


def corpus(n: int, base: int = 0) -> list[bytes]:
    return [generate(base + i) for i in range(n)]


def dockerfiles_rw() -> Any:
    """A hypothesis strategy over the same inputs as :func:`generate`."""
    from hypothesis import strategies as st

    @st.composite
    def _files(draw: st.DrawFn) -> bytes:
        return generate_with(DrawChooser(draw))

    return _files()
