"""Prove the corpus by building: ``python3 tests/prove_corpus.py [CASE...] [-j JOBS]``.

Runs ``migrate-secrets --apply`` on a copy of each ``fixtures/corpus/<case>/input``, builds the case
before and after with buildah on the stub base image (tests/buildproof.py), and prints one row per
case, the problems of the cases that fail, and the summary line. Exits 1 when a case fails that is
not in ``buildproof.KNOWN_WRONG``. Secret values are never printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import buildah_util  # noqa: E402
import buildproof  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="cases built at once (default 2)")
    ap.add_argument("--corpus", type=Path, default=buildproof.CORPUS)
    args = ap.parse_args(argv)
    why = buildah_util.buildah_missing()
    if why:
        print(f"cannot prove here: {why}", file=sys.stderr)
        return 2
    cases = buildproof.load_corpus(args.corpus)
    if args.cases:
        cases = [c for c in cases if c.name in args.cases]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prove-corpus-") as tmp:
        store = buildah_util.BuildahStore(Path(tmp) / "store")
        prover = buildproof.Prover(store, Path(tmp) / "work")
        outcomes = buildproof.prove_corpus(cases, prover, Path(tmp) / "cases", jobs=args.jobs)
    print(buildproof.table(outcomes))
    for o in outcomes:
        if not o.proof.equivalent:
            print()
            print(o.proof.summary())
    print()
    print(buildproof.summary_line(outcomes))
    print(f"{len(outcomes)} cases in {time.monotonic() - t0:.1f} s with {args.jobs} jobs")
    unexpected = [o for o in outcomes if o.problems and o.case.name not in buildproof.KNOWN_WRONG]
    fixed = [o for o in outcomes if not o.problems and o.case.name in buildproof.KNOWN_WRONG]
    for o in fixed:
        print(f"{o.case.name} passes now: remove it from buildproof.KNOWN_WRONG")
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
