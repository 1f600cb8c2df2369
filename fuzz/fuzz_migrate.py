"""Fuzz target: the scanner and the rewriter over arbitrary bytes (atheris / libFuzzer).

For every input:

* no exception escapes but :class:`ParseError` (BuildKit would reject the file:
  ``migrate`` must refuse it too, so the file is left byte-identical) and
  :class:`RewriteError` (the product refusing its own rewrite: the file is left
  as it was and the run reports it; each one is a bug, counted, and a crash with
  ``FUZZ_STRICT=1``);
* otherwise the output parses, a second run changes nothing, a BOM stays, and
  every line not belonging to an edited instruction (or to the comment block
  directly above an instruction removed whole, or the syntax directive) is still
  there, in order; findings called fixable are fixed. "Edited" is what the actions of each rewrite pass name; the
  passes are replayed with the product's own pieces and must give the bytes
  ``migrate`` gave.

Run it: ``python fuzz/fuzz_migrate.py fuzz/corpus -max_total_time=600`` (see
``fuzz/README.md``). ``tests/test_fuzz_rewriter.py`` runs :func:`check_input`
over a fixed generated corpus, so CI exercises it without atheris.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from codemod.config import Config  # noqa: E402
from codemod.dockerfile.instructions import check_instructions  # noqa: E402
from codemod.dockerfile.scanner import BOM, Dockerfile, ParseError, parse  # noqa: E402
from codemod.fix.apply import apply_edits  # noqa: E402
from codemod.fix.dockerfile import plan_edits  # noqa: E402
from codemod.fix.loop import MAX_PASSES, RewriteError, check, migrate  # noqa: E402
from codemod.model import Action, MergeInto, RemovePair  # noqa: E402
from codemod.source import split_lines  # noqa: E402

PATH = "Dockerfile"
CONFIG = Config()
#: outcomes seen so far: refused / unchanged / migrated / rewrite-error
STATS: Counter[str] = Counter()
#: the first input of each kind of RewriteError, with its message; and how often each kind happened
REWRITE_ERRORS: list[tuple[bytes, str]] = []
REWRITE_KINDS: Counter[str] = Counter()
LAST: list[str] = [""]


class InvariantError(AssertionError):
    pass


def _fail(what: str, data: bytes, out: bytes | None = None) -> None:
    msg = f"{what}\n  input:  {data[:600]!r}"
    if out is not None:
        msg += f"\n  output: {out[:600]!r}"
    raise InvariantError(msg)


def _allowed_lines(df: Dockerfile, actions: list[Action]) -> set[int]:
    """0-based lines of ``df`` a pass with ``actions`` may change or remove."""
    touched = {a.ins for a in actions}
    # a RUN merged into the next one that reads the secret goes as a whole
    touched |= {a.writer for a in actions if isinstance(a, MergeInto)}
    removed: dict[int, set[int]] = {}
    for a in actions:
        if isinstance(a, RemovePair):
            removed.setdefault(a.ins, set()).add(a.kv)
    owner: dict[int, int] = {}
    for i, ins in enumerate(df.instructions):
        for k in range(ins.start_line, ins.end_line + 1):
            owner[k] = i
    directives = set(df.directive_lines.values())
    # the syntax directive may be inserted or raised (design.md 3.3); escape and check stay
    allowed = {df.directive_lines["syntax"]} if "syntax" in df.directive_lines else set()
    for i in touched:
        ins = df.instructions[i]
        allowed.update(range(ins.start_line, ins.end_line + 1))
        if ins.kvs and len(removed.get(i, ())) >= len(ins.kvs):
            k = ins.start_line - 1
            while k >= 0 and k not in owner and k not in directives:
                text = df.lines[k]
                if k == 0:
                    text = text.removeprefix(BOM)
                if not text.strip().startswith(b"#"):
                    break
                allowed.add(k)
                k -= 1
    return allowed


def _no_bom(line: bytes, k: int) -> bytes:
    """Line ``k`` without the file's BOM (checked on its own: text may be inserted after it)."""
    return line.removeprefix(BOM) if k == 0 else line


def _is_subsequence(needles: list[bytes], hay: list[bytes]) -> int:
    """-1 when ``needles`` is a subsequence of ``hay``, else the index of the first missing needle."""
    it = iter(hay)
    for n, line in enumerate(needles):
        for cand in it:
            if cand == line:
                break
        else:
            return n
    return -1


def _replay(data: bytes, config: Config) -> tuple[bytes, list[tuple[Dockerfile, list[Action], bytes]]]:
    """The rewrite passes of ``migrate``, one by one: (scanned input, actions, output) per pass."""
    df = parse(data)
    hits = check(df, PATH, config)
    current = data
    steps = []
    for _ in range(MAX_PASSES):
        actions = [a for h in hits if h.finding.fixable for a in h.actions]
        if not actions:
            break
        new = apply_edits(df.data, plan_edits(df, actions))
        if new == current:
            break
        steps.append((df, actions, new))
        df = parse(new)
        current = new
        hits = check(df, PATH, config)
    return current, steps


def check_input(data: bytes, config: Config = CONFIG) -> str:
    """Assert the invariants on one input; the outcome: refused / unchanged / migrated / rewrite-error."""
    try:
        check_instructions(parse(data))  # BuildKit's parser, then its instruction set
    except ParseError as e:
        if not (e.line >= 1 and e.reason):
            _fail(f"ParseError without a line or reason: {e!r}", data)
        try:
            migrate(data, PATH, config)
        except ParseError:
            return "refused"
        _fail("the scanner rejects the file but migrate accepted it", data)
    try:
        result = migrate(data, PATH, config)
    except RewriteError as e:
        return "rewrite-error:" + str(e)
    if result.new is None:
        fixable = [h.finding.rule for h in result.hits if h.finding.fixable]
        if fixable:
            _fail(f"findings reported as fixable but nothing changed: {fixable}", data)
        refused = [n for n in result.notes if n.startswith("left unchanged: ")]
        if refused:  # the product reverted its own rewrite: the file is as it was, the findings go to a human
            return "rewrite-error:" + refused[0].removeprefix("left unchanged: ")
        return "unchanged"
    n_lines = len(split_lines(data))
    for h in result.hits:
        if not 1 <= h.finding.line <= max(n_lines, 1):
            _fail(f"finding {h.finding.rule} on line {h.finding.line} of a {n_lines}-line file", data)
    out = result.new
    if out == data:
        _fail("new bytes returned although nothing changed", data)
    try:
        parse(out)
    except ParseError as e:
        _fail(f"the output does not parse (line {e.line}: {e.reason})", data, out)
    try:
        again = migrate(out, PATH, config)
    except (ParseError, RewriteError) as e:
        _fail(f"the second run fails: {e}", data, out)
    if again.new is not None:
        _fail(f"a second run changes the output again:\n  again:  {again.new[:600]!r}", data, out)
    left = [f"{h.finding.rule}:{h.finding.line}" for h in again.hits if h.finding.fixable]
    if left:
        _fail(f"the output still has fixable findings: {left}", data, out)
    final, steps = _replay(data, config)
    if final != out:
        _fail(f"replaying the passes gives other bytes than migrate:\n  replay: {final[:600]!r}", data, out)
    for df, actions, new in steps:
        allowed = _allowed_lines(df, actions)
        kept = [_no_bom(line, k) for k, line in enumerate(df.lines) if k not in allowed]
        missing = _is_subsequence(kept, [_no_bom(line, k) for k, line in enumerate(split_lines(new))])
        if missing >= 0:
            _fail(f"a line outside the edited instructions is gone or moved: {kept[missing]!r}", df.data, new)
    if data.startswith(BOM) and not out.startswith(BOM):
        _fail("the BOM was dropped", data, out)
    return "migrated"


#: failures already reported (each has a strict xfail test in tests/test_fuzz_rewriter.py); delete an
#: entry once its bug is fixed. (id, text in "ExceptionType: message", predicate on the input)
KNOWN_BUGS: list[tuple[str, tuple[str, ...], Callable[[bytes], bool]]] = []


def known_bug(error: BaseException, data: bytes) -> str | None:
    text = f"{type(error).__name__}: {error}"
    for bug_id, needles, applies in KNOWN_BUGS:
        if all(n in text for n in needles) and applies(data):
            return bug_id
    return None


def count(data: bytes, config: Config = CONFIG, *, skip_known: bool = True) -> str:
    """Check one input and count its outcome; a known bug counts as ``known-bug`` unless strict."""
    try:
        outcome = check_input(data, config)
    except Exception as e:  # noqa: BLE001 - re-raised unless it is a known bug
        bug = known_bug(e, data) if skip_known else None
        if bug is None:
            raise
        outcome = "known-bug:" + bug
    key, _, detail = outcome.partition(":")
    STATS[key] += 1
    LAST[:] = [detail]
    if key == "rewrite-error":
        kind = re.sub(r"\d+", "N", detail.split(" (missing:")[0])
        if kind not in REWRITE_KINDS and len(REWRITE_ERRORS) < 50:
            REWRITE_ERRORS.append((data, detail))
        REWRITE_KINDS[kind] += 1
    return key


def report() -> None:
    """Outcome counts and RewriteError kinds so far (every 5000 inputs and at exit)."""
    print(f"fuzz_migrate: outcomes {dict(STATS)}", file=sys.stderr)
    for kind, n in REWRITE_KINDS.most_common():
        print(f"  RewriteError x{n}: {kind}", file=sys.stderr)
    for data, msg in REWRITE_ERRORS[:10]:
        print(f"  first input for {msg!r}:\n    {data[:300]!r}", file=sys.stderr)


def _clear_caches() -> None:
    """Drop the per-file caches the product keeps for the life of the process (a known memory growth,
    strict-xfailed in tests/test_fuzz_rewriter.py); without this a long run hits libFuzzer's RSS limit."""
    from codemod.rules.base import Context

    for name in dir(Context):
        clear = getattr(getattr(Context, name, None), "cache_clear", None)
        if callable(clear):
            clear()


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name libFuzzer looks for
    strict = os.environ.get("FUZZ_STRICT") == "1"
    if STATS.total() % 100 == 0:
        _clear_caches()
    outcome = count(data, skip_known=not strict)
    if STATS.total() % 5000 == 0:
        report()
    if outcome == "rewrite-error" and strict:
        raise RewriteError(LAST[0])


def seed_corpus(directory: Path, n: int = 300) -> int:
    """Fill ``directory`` with the golden inputs and ``n`` generated files (when it is empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        return 0
    sys.path.insert(0, str(ROOT / "tests"))
    from strategies_rewrite import corpus

    seeds = [p.read_bytes() for p in sorted((ROOT / "fixtures" / "golden").glob("*/input.Dockerfile"))]
    seeds += corpus(n, base=10_000)
    for i, data in enumerate(seeds):
        (directory / f"seed-{i:04d}").write_bytes(data)
    return len(seeds)


def main(argv: list[str]) -> None:
    import atexit

    import atheris

    dirs = [a for a in argv[1:] if not a.startswith("-") and not Path(a).is_file()]
    for d in dirs:
        seeded = seed_corpus(Path(d))
        if seeded:
            print(f"fuzz_migrate: seeded {d} with {seeded} inputs", file=sys.stderr)

    atexit.register(report)
    atheris.instrument_all()
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
