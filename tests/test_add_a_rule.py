"""Adding a rule is one file plus its examples (issue 19, docs/architecture.md "Add a rule").

A copy of the package gets one new module, ``codemod/rules/ms099_maintainer_deprecated.py``, and nothing
else: the registry finds it, the pre-filter lets its trigger word through (a file with no secret word at
all), ``migrate-secrets rules`` lists it, ``explain`` and the generated page document it, and its own
VALID/INVALID examples run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NEW_RULE = '''\
from __future__ import annotations

from collections.abc import Iterator

from codemod.model import Hit
from codemod.rules.base import Context, Invalid, Rule


class MaintainerDeprecated(Rule):
    """What it does: flags the ``MAINTAINER`` instruction.

    Why: it is deprecated; a label says the same and tools read labels.

    Fix: none automatic: write ``LABEL org.opencontainers.image.authors=...`` instead.
    """

    CODE = "MS099"
    KIND = "maintainer-deprecated"
    MESSAGE = "MAINTAINER is deprecated"
    SEVERITY = ("note", "1.0")
    WORDS = ("maintainer",)
    VALID = ["FROM a\\nLABEL org.opencontainers.image.authors=me\\n"]
    INVALID = [Invalid("FROM a\\nMAINTAINER me\\n", line=2)]

    def check(self, ctx: Context) -> Iterator[Hit]:
        for ins in ctx.flow.df.instructions:
            if ins.keyword == "MAINTAINER":
                yield Hit(self.finding(ctx, ins.start_line, "MAINTAINER", fixable=False))
'''


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp, env=env, timeout=120)


def test_a_new_rule_is_one_file_plus_its_examples(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "codemod", tmp_path / "codemod", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "codemod" / "rules" / "ms099_maintainer_deprecated.py").write_text(NEW_RULE)
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nMAINTAINER someone\nRUN echo hello\n")

    listed = _run(tmp_path, "-m", "codemod", "rules")
    assert listed.returncode == 0, listed.stderr
    assert "| MS099 | maintainer-deprecated | The `MAINTAINER` instruction |" in listed.stdout

    found = _run(tmp_path, "-m", "codemod", "--format", "json", "--exit-zero", "Dockerfile")
    assert found.returncode == 0, found.stderr
    rules = [(f["rule"], f["line"]) for f in json.loads(found.stdout)["findings"]]
    assert rules == [("MS099", 2)]  # no secret word in the file: the pre-filter let the new rule's word through

    explained = _run(tmp_path, "-m", "codemod", "explain", "MS099")
    assert "## What it does" in explained.stdout and "deprecated" in explained.stdout

    pages = _run(tmp_path, "-m", "codemod.output.rulesdoc", str(tmp_path / "pages"))
    assert pages.returncode == 0, pages.stderr
    assert "MAINTAINER" in (tmp_path / "pages" / "MS099.md").read_text()

    examples = _run(tmp_path, "-c", (
        "from codemod.config import Config\nfrom codemod.fix.loop import migrate\nfrom codemod.rules import BY_CODE\n"
        "r = BY_CODE['MS099']\n"
        "assert all(not migrate(c.encode(), 'D', Config(), rules=(r,)).hits for c in r.VALID)\n"
        "assert all(migrate(c.code.encode(), 'D', Config(), rules=(r,)).hits for c in r.INVALID)\nprint('ok')\n"))
    assert examples.stdout.strip() == "ok", examples.stderr
