"""SARIF 2.1.0 for GitHub code scanning (``--format sarif``).

One run; ``tool.driver.rules`` lists every code in :data:`codemod.model.RULE_CODES`
(ids are the stable codes, texts from the rule docs), each result points at a
repository-relative URI. ``partialFingerprints.primaryLocationLineHash`` hashes
rule, path and variable, never the value and never the line, so an alert keeps
its identity when lines move and when uploaded through the REST API (which,
unlike ``upload-sarif``, fills in no fingerprint). Messages and errors go
through the one :class:`~codemod.output.redact.Redactor`; rule texts, kinds and variable names never do.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from codemod import __version__
from codemod.model import Finding, RunResult
from codemod.output.redact import Redactor
from codemod.rules import BY_CODE, CODE_KINDS

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "migrate-secrets"


def _tags(code: str) -> list[str]:
    kind = CODE_KINDS[code]
    tags = ["security", "secrets"]
    if kind.startswith(("compose-", "workflow-", "script-")):
        tags.append("ci")
    elif kind.startswith(("python-", "committed-env", "env-file")):
        tags.append("configuration")
    else:
        tags.append("dockerfile")
    return tags


def sarif_rules() -> list[dict[str, Any]]:
    """``tool.driver.rules``: one reporting descriptor per rule code, in code order. Static documentation:
    the redactor never edits rule text (a value ``SECRET`` must not turn ``DJANGO_SECRET_KEY`` into
    ``DJANGO_***_KEY`` in an example)."""
    from codemod.output.rulesdoc import all_rule_docs, explain

    rules: list[dict[str, Any]] = []
    for d in all_rule_docs():
        level, severity = BY_CODE[d.code].SEVERITY
        what = d.what[:1].upper() + d.what[1:]
        fix = d.fix[:1].upper() + d.fix[1:]
        rules.append({
            "id": d.code,
            "name": d.name,
            "shortDescription": {"text": d.summary},
            "fullDescription": {"text": what},
            "help": {"text": f"{what}\n\nWhy: {d.why}\n\nFix: {fix}", "markdown": explain(d.code)},
            "helpUri": d.references[0] if d.references else None,
            "defaultConfiguration": {"level": level},
            "properties": {
                "tags": _tags(d.code),
                "security-severity": severity,
                "precision": "high",
                "kind": d.kind,
                "fix-availability": d.fix_availability,
            },
        })
        if rules[-1]["helpUri"] is None:
            del rules[-1]["helpUri"]
    return rules


def artifact_uri(path: str, root: Path) -> str:
    """``path`` (as findings show it: relative to the current directory) relative to ``root``, URI-encoded."""
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root))
    try:
        rel = absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_uri()
    return quote(rel, safe="/")


def fingerprint(f: Finding, uri: str) -> str:
    """The stable part of ``primaryLocationLineHash``: rule, path and variable, never the value or line."""
    h = hashlib.sha256()
    for part in (f.rule, uri, f.variable):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def _result(f: Finding, redactor: Redactor, rule_index: dict[str, int], levels: dict[str, str],
            uri: str, occurrence: int) -> dict[str, Any]:
    text = redactor.text(f.message)
    if f.fix:
        text += f" (fix: {redactor.text(f.fix)})"
    if not f.fixable:
        text += " [needs a human]"
    props: dict[str, Any] = {"kind": f.kind, "variable": f.variable, "fixable": f.fixable}
    if f.value_class:
        props["value_class"] = f.value_class
    res: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": levels[f.rule],
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": max(1, f.line), "startColumn": max(1, f.column)},
            },
        }],
        "partialFingerprints": {"primaryLocationLineHash": f"{fingerprint(f, uri)}:{occurrence}"},
        "properties": props,
    }
    if f.suppressed:
        res["suppressions"] = [{"kind": "inSource", "justification": "migrate-secrets: ignore comment"}]
    return res


def to_sarif(result: RunResult, redactor: Redactor, *, root: Path) -> dict[str, Any]:
    """The run as a SARIF 2.1.0 log; URIs are relative to ``root`` (the repository top level)."""
    rules = sarif_rules()
    rule_index = {r["id"]: i for i, r in enumerate(rules)}
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    seen: Counter[tuple[str, str, str]] = Counter()
    results: list[dict[str, Any]] = []
    for f in sorted(result.findings, key=Finding.sort_key):
        uri = artifact_uri(f.path, root)
        seen[(f.rule, uri, f.variable)] += 1
        results.append(_result(f, redactor, rule_index, levels, uri, seen[(f.rule, uri, f.variable)]))
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors}
    if result.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": redactor.text(e) or "error"}} for e in result.errors
        ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }},
            "invocations": [invocation],
            "results": results,
        }],
    }


def sarif_json(result: RunResult, redactor: Redactor, *, root: Path) -> str:
    import json

    return json.dumps(to_sarif(result, redactor, root=root), indent=2, ensure_ascii=False) + "\n"
