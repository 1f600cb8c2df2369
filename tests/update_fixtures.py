"""Regenerate the golden expectations (``make fixtures-update``); review them as a diff."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from goldens import cases, expected_bytes, findings_text  # noqa: E402

for case in cases():
    data = (case / "input.Dockerfile").read_bytes()
    (case / "expected.Dockerfile").write_bytes(expected_bytes(data))
    (case / "findings.txt").write_text(findings_text(data), encoding="utf-8")
    print(f"updated {case.name}")

# the invocation goldens (fixtures/invocations/<case>/): expected.* and input.*.findings
from test_invocations import PAIRS, expected_of, migrate, migrations_of, report  # noqa: E402

for inp in PAIRS:
    result = migrate(inp, inp.read_bytes(), migrations_of(inp.parent))
    exp = expected_of(inp)
    if result.new is not None:
        exp.write_bytes(result.new)
    elif exp.exists():
        exp.unlink()
    inp.with_name(inp.name + ".findings").write_text(report(result), encoding="utf-8")
    print(f"updated {inp.parent.name}/{inp.name}")


# the per-format repositories (fixtures/invocations/<format>/input -> expected/): the real tool, --apply
def _format_cases() -> None:
    import os
    import shutil
    import tempfile

    from test_invocations_formats import FORMAT_CASES
    from typer.testing import CliRunner

    from codemod.cli import app

    from conftest import make_repo, snapshot

    here = Path.cwd()
    for case in FORMAT_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            repo = make_repo(case / "input", Path(tmp) / "repo")
            os.chdir(repo)
            try:
                CliRunner().invoke(app, ["--apply", "--no-backup", "."], catch_exceptions=False)
                before, after = snapshot(case / "input"), snapshot(repo)
            finally:
                os.chdir(here)
        shutil.rmtree(case / "expected", ignore_errors=True)
        for rel, data in after.items():
            if before.get(rel) != data:
                out = case / "expected" / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
        print(f"updated {case.name}/expected")


_format_cases()
