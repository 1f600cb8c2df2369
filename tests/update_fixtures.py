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
