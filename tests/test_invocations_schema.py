"""Rewritten compose files and workflows validate against their published schemas.

The schemas are the ones check-jsonschema vendors (``check_jsonschema/builtin_schemas/vendor/``:
``compose-spec.json`` from compose-spec, ``github-workflows.json`` from SchemaStore), loaded from
the installed package, never fetched. Each is checked with the validator of the draft it declares:
``github-workflows.json`` is Draft 7, ``compose-spec.json`` declares Draft 2020-12 (checking it as
Draft 7 would silently ignore its ``unevaluatedProperties``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES

check_jsonschema = pytest.importorskip(
    "check_jsonschema", reason="check-jsonschema is not installed (it is in the [test] extra: pip install -e '.[test]')"
)
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (pip install -e '.[test]')")

CASES = FIXTURES / "invocations"
VENDOR = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"


@cache
def validator(name: str) -> Any:
    """The schema's own draft validator; for a schema whose patterns Python's ``re`` cannot read (CircleCI's
    ``\\p{Cc}``), the same draft with ECMA-262 regexes, as check-jsonschema validates by default."""
    schema = json.loads((VENDOR / f"{name}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError:
        return _ecma_validator(cls, schema)
    return cls(schema)


def _ecma_validator(cls: Any, schema: Any) -> Any:
    from check_jsonschema.regex_variants import RegexImplementation, RegexVariantName

    regex = RegexImplementation(RegexVariantName.default)
    formats = jsonschema.FormatChecker()
    formats.checks("regex")(regex.check_format)
    meta = cls(cls.META_SCHEMA, format_checker=formats)
    problems = [e.message for e in meta.iter_errors(schema)]
    assert problems == [], problems
    ecma = jsonschema.validators.extend(cls, {"pattern": regex.pattern_keyword,
                                              "patternProperties": regex.patternProperties_keyword})
    return ecma(schema)


def load_plain(data: bytes) -> Any:
    from ruamel.yaml import YAML

    # plain dicts/lists/str, anchors and merge keys resolved: what the schema sees
    return YAML(typ="safe", pure=True).load(data)


def errors(name: str, data: bytes) -> list[str]:
    doc = load_plain(data)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(doc)]


def files(pattern: str) -> list[Path]:
    return sorted(p for p in CASES.glob(f"*/{pattern}"))


COMPOSE = files("*.compose.yaml")
WORKFLOWS = files("*.yml")


def test_vendored_schema_drafts() -> None:
    assert validator("github-workflows").__class__ is jsonschema.Draft7Validator
    assert validator("compose-spec").__class__ is jsonschema.Draft202012Validator


def test_fixtures_found() -> None:
    assert any(p.name.startswith("expected") for p in COMPOSE)
    assert any(p.name.startswith("expected") for p in WORKFLOWS)


@pytest.mark.parametrize("path", COMPOSE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_compose_validates(path: Path) -> None:
    assert errors("compose-spec", path.read_bytes()) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflow_validates(path: Path) -> None:
    assert errors("github-workflows", path.read_bytes()) == []


def test_schemas_do_check_what_the_rewrite_writes() -> None:
    """Controls: the schemas reject a misspelt build secret, a bad top-level secret and a bad step."""
    bad_build = b"services:\n  a:\n    build:\n      context: .\n      secrets:\n        - sorce: x\n"
    assert errors("compose-spec", bad_build)
    bad_top = b"services:\n  a:\n    image: x\nsecrets:\n  npm_token:\n    enviroment: NPM_TOKEN\n"
    assert errors("compose-spec", bad_top)
    bad_step = b"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: x\n        env: [A]\n"
    assert errors("github-workflows", bad_step)


def test_random_rewritten_compose_files_validate(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import given, settings
    from test_invocations import _REMOVED_ARGS, _RUNTIME_ARGS, _SECRET_ARGS, _compose_strategy

    from codemod.invocations import BuildSecret, DockerfileMigration, migrate_compose, secret_id

    tmp = tmp_path_factory.mktemp("schema")
    (tmp / "Dockerfile").write_text("FROM scratch\n")
    m = DockerfileMigration((tmp / "Dockerfile").resolve(), [BuildSecret(a, secret_id(a)) for a in _SECRET_ARGS],
                            set(_SECRET_ARGS + _REMOVED_ARGS + _RUNTIME_ARGS), set(_RUNTIME_ARGS))

    @settings(max_examples=100, deadline=None)
    @given(_compose_strategy())
    def check(case: tuple[str, list[str]]) -> None:
        result = migrate_compose(tmp / "compose.yaml", "compose.yaml", case[0].encode(), [m])
        assert result.new is not None
        assert errors("compose-spec", result.new) == []

    check()
