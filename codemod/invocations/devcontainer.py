"""devcontainer.json: ``build.args`` cannot become a build secret. The Dev Container specification has no
secret option for the image build (a ``build.secrets`` field and a ``build.cliArgs`` escape hatch are open
requests: microsoft/vscode-remote-release#4841, devcontainers/spec#85), so an entry of a migrated arg is a
producer this rewrite cannot change: blocked, and the run keeps that secret. The file is never edited.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from codemod.invocations.bake import matching, skip
from codemod.invocations.coverage import Coverage, by_dockerfile
from codemod.invocations.result import InvocationResult
from codemod.invocations.text import Editor, block, decode_text, finish
from codemod.model import DockerfileMigration

KIND = "script-build-arg-secret"
REASON = ("devcontainer.json has no build secret option (devcontainers/spec#85, "
          "microsoft/vscode-remote-release#4841): its build can only take the value as a build arg")
_ARGS = re.compile(r"\"args\"\s*:\s*\{")
_KEY = re.compile(r"\"(?P<n>[A-Za-z_][A-Za-z0-9_]*)\"\s*:")
_STR = re.compile(r"\"(?P<k>dockerfile|context|dockerFile)\"\s*:\s*\"(?P<v>[^\"]*)\"")


def migrate_devcontainer(path: Path, display: str, data: bytes, migrations: list[DockerfileMigration]
                         ) -> InvocationResult:
    result = InvocationResult()
    if b'"args"' not in data:
        return result
    text = decode_text(data)
    found = {m.group("k").lower(): m.group("v") for m in _STR.finditer(text)}
    dockerfile = None
    if "dockerfile" in found and "${" not in "".join(found.values()):
        dockerfile = Path(os.path.realpath(path.parent / found.get("context", ".") / found["dockerfile"]))
    per_dockerfile = by_dockerfile(migrations)
    cov = Coverage.of(migrations) if dockerfile is None else Coverage.join(per_dockerfile.get(dockerfile, []))
    i = 0
    while (m := _ARGS.search(text, i)) is not None:
        if _in_comment_or_string(text, m.start()):
            i = m.end()
            continue
        close = matching(text, m.end() - 1)
        j = m.end()
        while j < close:
            k = skip(text, j) if text[j] != '"' else j
            if k != j:
                j = k
                continue
            key = _KEY.match(text, j)
            if key is not None and cov.action(key.group("n")) is not None:
                block(result, display, text, j + 1, key.group("n"), REASON, KIND, dockerfile)
            j = skip(text, j) if text[j] == '"' else j + 1
        i = close
    return finish(result, text, Editor(text))



def _in_comment_or_string(text: str, index: int) -> bool:
    i = 0
    while i < index:
        k = skip(text, i)
        if k > index:
            return True
        i = k if k != i else i + 1
    return False
