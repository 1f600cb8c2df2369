"""A synthetic repository: N Dockerfiles from a mix of realistic patterns, plus unrelated files.

Per service directory (50 apps): a compose file building its apps (build args for the build-time
secrets), a GitHub workflow building them with build-push-action, and an ignored ``node_modules``
that discovery must not walk.
"""

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
#: build-time secrets: a RUN reads the token, explicitly or through a committed .npmrc
BUILDTIME = [
    ("FROM node:20-alpine\nARG NPM_TOKEN\nWORKDIR /app\nCOPY .npmrc package.json ./\nRUN npm ci\nCOPY . .\n"
     "CMD [\"node\", \"server.js\"]\n", "NPM_TOKEN"),
    ("FROM golang:1.23 AS build\nARG GITHUB_TOKEN\nRUN git config --global url.\"https://x-access-token:"
     "${GITHUB_TOKEN}@github.com/\".insteadOf \"https://github.com/\" \\\n    && go mod download\n"
     "FROM gcr.io/distroless/base\nCOPY --from=build /go/bin/app /app\n", "GITHUB_TOKEN"),
]
NPMRC = "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"


def git_init(root: Path) -> None:
    """Make the tree a git work tree, as a monorepo is: discovery then reads the index instead of walking."""
    import subprocess

    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@localhost", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench corpus"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def generate(root: Path, n: int, seed: int = 7, unrelated: int = 2) -> list[Path]:
    """N Dockerfiles (returned) and the files around them; ``unrelated`` plain files per app."""
    rng = random.Random(seed)
    files = []
    services: dict[str, list[tuple[str, str | None]]] = {}
    for i in range(n):
        svc, app = f"svc{i // 50:04d}", f"app{i:05d}"
        d = root / svc / app
        d.mkdir(parents=True, exist_ok=True)
        f = d / "Dockerfile"
        token = None
        if rng.random() < 0.15:
            text, token = rng.choice(BUILDTIME)
            if token == "NPM_TOKEN":
                (d / ".npmrc").write_text(NPMRC, encoding="utf-8")
        else:
            text = rng.choice(PATTERNS)
        f.write_text(text, encoding="utf-8")
        files.append(f)
        services.setdefault(svc, []).append((app, token))
        for k in range(unrelated):
            (d / f"module{k}.txt").write_text("unrelated\n" * 5)
    workflows = root / ".github" / "workflows"
    for svc, apps in services.items():
        built = [(a, t) for a, t in apps if t or rng.random() < 0.2]
        if not built:
            continue
        compose = ["services:\n"]
        steps = ["name: build " + svc + "\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
                 "      - uses: actions/checkout@v4\n"]
        for app, token in built:
            compose.append(f"  {app}:\n    build:\n      context: ./{app}\n")
            steps.append(f"      - uses: docker/build-push-action@v6\n        with:\n          context: {svc}/{app}\n"
                         f"          tags: example/{app}:latest\n")
            if token:
                compose.append(f"      args:\n        {token}: ${{{token}}}\n")
                steps.append(f"          build-args: |\n            {token}=${{{{ secrets.{token} }}}}\n")
        (root / svc / "compose.yaml").write_text("".join(compose), encoding="utf-8")
        workflows.mkdir(parents=True, exist_ok=True)
        (workflows / f"build-{svc}.yml").write_text("".join(steps), encoding="utf-8")
        if unrelated:
            nm = root / svc / "node_modules" / "left-pad"
            nm.mkdir(parents=True, exist_ok=True)
            for k in range(unrelated * 10):
                (nm / f"file{k}.js").write_text("module.exports = 1;\n")
            (nm / "Dockerfile").write_text("FROM scratch\nENV API_TOKEN=not-ours-to-scan\n")
    (root / ".gitignore").write_text("node_modules/\n")
    return files
