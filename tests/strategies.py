"""Hypothesis strategies: Dockerfiles built from the lines that trip parsers up."""

from __future__ import annotations

from hypothesis import strategies as st

TRICKY_LINES = [
    b"FROM alpine", b"FROM python:3.12-slim AS build", b"RUN echo hi", b"RUN echo a \\", b"  && echo b",
    b"# a comment", b"  # indented comment", b"", b"   ", b"\t", b"ENV A=1 B=2", b"ENV K v w",
    b'ENV Q="x y" \\', b"    R='z'", b"ARG TOKEN", b"ARG EMPTY=", b"ARG A B=2", b"ARG DB_PASSWORD=postgres",
    b"ENV API_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345", b"LABEL a=b", b"RUN <<EOF", b"ARG TOKEN=x",
    b"EOF", b"COPY <<-EOT /x", b"\tEOT", b"RUN cat <<'END' > /f", b"END", b"USER app", b"WORKDIR /app",
    b'CMD ["python", "app.py"]', b"ONBUILD RUN echo x", b"ENV C:\\dir=1", b"RUN echo \\\\", b"\\",
    b"ENV X=caf\xe9", b"ENV N=\xc2\xa0x", b"# escape=`", b"# syntax=docker/dockerfile:1", b"RUN a `",
    b"ENV T=C:\\tools `", b"HEALTHCHECK CMD true", b"EXPOSE 80", b"ENV P=${A:-b}", b"RUN --mount=type=secret,id=t cat",
]


@st.composite
def dockerfiles(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.sampled_from(TRICKY_LINES), min_size=1, max_size=30))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    mixed = draw(st.booleans())
    out = []
    for line in lines:
        out.append(line + (draw(st.sampled_from([b"\n", b"\r\n"])) if mixed else eol))
    data = b"".join(out)
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data
