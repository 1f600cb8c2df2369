"""The shortcuts that make one file cheap to analyse give the answers of the long way, and the per-file
caches (rule context, the analysis handed from the rules to the engine) never carry one file's or one
build context's answers to another."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from codemod.analysis import values
from codemod.analysis.flow import analyse
from codemod.app import _migration, analyse_dockerfile
from codemod.config import Config
from codemod.dockerfile import scanner, words
from codemod.fix.loop import migrate
from codemod.rules import trigger_pattern

#: characters that steer the scanner: Go spaces, quotes, both escapes, flags, ``=``, ``$``
_SCANNER_TEXT = st.text(alphabet=" \t\v\f\r\u3000\x85\xa0\x1cab-=\"'\\`$", max_size=24)


@settings(max_examples=500, deadline=None)
@given(_SCANNER_TEXT, st.sampled_from(["\\", "`"]))
def test_parse_words_shortcut_is_the_loop(text: str, escape: str) -> None:
    fast = [(w.text, w.start) for w in scanner.parse_words(text, escape)]
    slow = [(w.text, w.start) for w in words._parse_words_loop(text, escape)]
    assert fast == slow


@settings(max_examples=500, deadline=None)
@given(_SCANNER_TEXT)
def test_extract_flags_shortcut_is_the_loop(text: str) -> None:
    assert words.extract_flags(text) == words._extract_flags_loop(text)


@settings(max_examples=500, deadline=None)
@given(_SCANNER_TEXT, st.sampled_from(["\\", "`"]))
def test_trim_continuation_shortcut_is_the_pattern(text: str, escape: str) -> None:
    d = scanner._Directives()
    d.escape = escape
    d._set_cont()
    assert d.trim_continuation(text) == d._trim_continuation_re(text)


def test_keyword_and_effective_are_filled_by_the_scanner() -> None:
    df = scanner.parse(b"from a\nonbuild run echo\nOnBuild Env A=1\nenv B=2\n")
    assert [(i.keyword, i.effective) for i in df.instructions] == [
        ("FROM", "FROM"), ("ONBUILD", "RUN"), ("ONBUILD", "ENV"), ("ENV", "ENV")]


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_every_known_format_match_holds_one_of_its_literals(data: st.DataObject) -> None:
    """What lets known_format skip a pattern: a value without any of its literals (or too short) cannot match."""
    for _name, pattern, literals in values._KNOWN_FORMATS:
        token = data.draw(st.from_regex(pattern, fullmatch=False))
        for m in pattern.finditer(token):
            assert any(lit in m.group() for lit in literals), pattern.pattern
            assert len(m.group()) >= values._KNOWN_FORMAT_MIN_LEN


def test_known_format_still_finds_each_format() -> None:
    samples = {
        "aws-access-key-id": "x AKIAQWERTYUIOPASDFGH y",
        "github-token": "ghp_" + "Ab1" * 12,
        "slack-token": "xoxb-1234567890",
        "stripe-secret-key": "sk_live_" + "a1B2c3D4e5",
        "openai-api-key": "sk-" + "Ab1" * 11,
        "private-key": "-----BEGIN RSA PRIVATE KEY-----",
    }
    for name, value in samples.items():
        assert values.known_format(value) == name
    assert values.known_format("xoxb-123456789") is None  # one short of the shortest format


_EMBEDDING_PATTERNS = [values._URL, values._CONN_STRING_SECRET, values._AUTH_HEADER] + [p for _, p in values._WEBHOOKS]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abBcdeilrst:/=@?&;$ {}\nPasword", max_size=40))
def test_a_value_that_cannot_embed_a_credential_matches_no_pattern(value: str) -> None:
    if values.may_embed_credentials(value):
        return
    assert not any(p.search(value) for p in _EMBEDDING_PATTERNS)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=80),
                 st.text(alphabet="PaSsWoRdToKeNkEyAKIAghp_sG.://@ \t\nCOPY.onbuildADD", max_size=60)
                 .map(str.encode)))
def test_prefilter_on_lower_case_bytes_is_the_case_insensitive_search(data: bytes) -> None:
    prefilter = trigger_pattern()
    case_insensitive = re.compile(b"(?i)" + prefilter.pattern)
    assert (prefilter.search(data.lower()) is None) == (case_insensitive.search(data) is None)


# --- caches: per file, per build context, per configuration ---

_NPM = b"FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"
_COPY_ALL = b"FROM alpine\nCOPY . .\n"


def _rules(path: Path, config: Config | None = None) -> list[str]:
    error, _data, done = analyse_dockerfile(path, config or Config(), plan_only=True)
    assert error is None
    return [] if done is None else sorted(f"{h.finding.rule}:{h.finding.line}" for h in done.result.hits)


def test_npmrc_of_one_context_does_not_reach_another(tmp_path: Path) -> None:
    with_rc, without = tmp_path / "a", tmp_path / "b"
    for d in (with_rc, without):
        d.mkdir()
        (d / "Dockerfile").write_bytes(_NPM)
    (with_rc / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    def how(path: Path) -> list[str]:  # npm reads it through the .npmrc; without one, `npm ci` only may read it
        error, _data, done = analyse_dockerfile(path, Config(), plan_only=True)
        assert error is None and done is not None
        return [h.finding.message for h in done.result.hits]

    alone = {d: how(d / "Dockerfile") for d in (with_rc, without)}
    assert alone[with_rc] != alone[without]
    assert "RUN reads" in alone[with_rc][0] and "RUN may read" in alone[without][0]
    for d in (with_rc, without, with_rc, without):
        assert how(d / "Dockerfile") == alone[d]


def test_dockerignore_of_one_context_does_not_reach_another(tmp_path: Path) -> None:
    ignoring, open_ctx = tmp_path / "a", tmp_path / "b"
    for d in (ignoring, open_ctx):
        d.mkdir()
        (d / "Dockerfile").write_bytes(_COPY_ALL)
        (d / ".env").write_text("X=1\n")
    (ignoring / ".dockerignore").write_text(".env\n")
    assert _rules(open_ctx / "Dockerfile") == ["MS011:2"]
    assert _rules(ignoring / "Dockerfile") == []
    assert _rules(open_ctx / "Dockerfile") == ["MS011:2"]


def test_name_and_value_answers_do_not_cross_configurations(tmp_path: Path) -> None:
    f = tmp_path / "Dockerfile"
    f.write_bytes(b"FROM a\nENV ACME_THING=hunter2hunter2\n")
    acme = Config(extra_secret_names=frozenset({"ACME_THING"}))
    for _ in range(2):
        assert _rules(f) == []
        assert _rules(f, acme) == ["MS003:2"]


def test_the_engine_reuses_the_rules_analysis_only_for_the_same_tree() -> None:
    data = b"FROM a\nARG DB_PASSWORD=postgres\nENV DB_PASSWORD=$DB_PASSWORD\n"
    out = migrate(data, "Dockerfile", Config(), plan_only=True)
    assert out.before is not None and out.flow is not None and out.flow.df is out.before
    secrets = {k: v for h in out.hits if h.finding.fixable for k, v in h.build_secrets.items()}
    fresh = _migration(Path("Dockerfile"), out.before, None, secrets, out.hits)
    assert _migration(Path("Dockerfile"), out.before, None, secrets, out.hits, out.flow) == fresh
    other = analyse(scanner.parse(b"FROM a\nARG OTHER=1\n"))  # another file's analysis is not taken
    assert _migration(Path("Dockerfile"), out.before, None, secrets, out.hits, other) == fresh
