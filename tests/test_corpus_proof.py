"""The corpus proved by building (issue 14, "Proof by building"; fixtures/corpus/README.md).

For each ``fixtures/corpus/<case>``: copy ``input/`` to a temporary directory, run ``python3 -m codemod
--apply --no-backup .`` there (this checkout's code), check the exit code against the case's ``expect``,
build the case before and after with buildah on the stub base image and compare (tests/buildproof.py).
The cases are proved two at a time in one module-scoped fixture; each test asserts its case. The summary
line (``equivalent N of N, leaks 0, unprovable K (reason: count, ...)``) is printed once at the end.

Cases the tool gets wrong today are ``xfail(strict=True)`` from ``buildproof.KNOWN_WRONG`` (the one
list): when the core fixes one, its test XPASSes, fails the run, and the entry must be removed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import buildproof

CASES = buildproof.load_corpus()


def _param(case: buildproof.CorpusCase) -> object:
    why = buildproof.KNOWN_WRONG.get(case.name)
    marks = [pytest.mark.buildah]
    if why:
        marks.append(pytest.mark.xfail(strict=True, reason=why))
    return pytest.param(case.name, id=case.name, marks=marks)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[dict[str, buildproof.CaseOutcome]]:
    prover = buildproof.session_prover(tmp_path_factory)
    results = buildproof.prove_corpus(CASES, prover, tmp_path_factory.mktemp("corpus"), jobs=2)
    yield {o.case.name: o for o in results}
    # printed once, at the end of the run (conftest.pytest_terminal_summary)
    buildproof.REPORT[:] = ["build proof of fixtures/corpus:", buildproof.table(results),
                            buildproof.summary_line(results)]

def test_the_corpus_has_cases() -> None:
    assert len(CASES) >= 5
    assert set(buildproof.KNOWN_WRONG) <= {c.name for c in CASES}, "KNOWN_WRONG names a case that does not exist"


@pytest.mark.parametrize("name", [_param(c) for c in CASES])
def test_case(name: str, outcomes: dict[str, buildproof.CaseOutcome]) -> None:
    o = outcomes[name]
    assert not o.problems, "\n".join([*o.problems, o.proof.summary()])
    if o.proof.unprovable:
        pytest.skip(f"unprovable here: {o.proof.unprovable} (covered by golden tests)")
    if o.case.expect == "migrated":
        assert o.proof.equivalent, o.proof.summary()
