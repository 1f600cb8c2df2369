"""A synthetic repository: N Dockerfiles from a mix of realistic patterns, plus unrelated files."""

from __future__ import annotations

import random
from pathlib import Path

PATTERNS = [
    "FROM python:3.12-slim\nENV PYTHONUNBUFFERED=1 \\\n    PIP_NO_CACHE_DIR=1\nWORKDIR /app\nCOPY . .\n"
    "RUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
    "FROM node:20 AS build\nWORKDIR /src\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
    "RUN npm run build\n\n"
    "FROM nginx:1.27\nCOPY --from=build /src/dist /usr/share/nginx/html\n",
    "FROM alpine:3.20\nRUN <<EOF\napk add --no-cache curl\n# ARG TOKEN=not-an-instruction\nEOF\nUSER nobody\n",
    "FROM debian:12\n# comment\nRUN apt-get update \\\n    # inside the continuation\n"
    "    && apt-get install -y git \\\n"
    "    && rm -rf /var/lib/apt/lists/*\nENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305\n",
    "FROM python:3.12\nARG DB_PASSWORD_DEFAULT=postgres\nARG DB_HOST_DEFAULT=db\n"
    "ENV DB_PASSWORD=${DB_PASSWORD_DEFAULT} \\\n    DB_HOST=${DB_HOST_DEFAULT} \\\n    APP_ENV=prod\n",
    "FROM ruby:3.3\nENV RAILS_ENV production\nENV SECRET_KEY_BASE replace-with-a-real-secret\n",
    "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nENV TOOLS=C:\\tools `\n    HOME=C:\\Users\\app\n"
    "RUN powershell -Command `\n    Write-Host hi\n",
]


def git_init(root: Path) -> None:
    """Make the tree a git work tree, as a monorepo is: discovery then reads the index instead of walking."""
    import subprocess

    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@localhost", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench corpus"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def generate(root: Path, n: int, seed: int = 7, unrelated: int = 2) -> list[Path]:
    rng = random.Random(seed)
    files = []
    for i in range(n):
        d = root / f"svc{i // 50:04d}" / f"app{i:05d}"
        d.mkdir(parents=True, exist_ok=True)
        f = d / "Dockerfile"
        f.write_text(rng.choice(PATTERNS), encoding="utf-8")
        files.append(f)
        for k in range(unrelated):
            (d / f"module{k}.txt").write_text("unrelated\n" * 5)
    return files
