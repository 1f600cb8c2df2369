"""Data shared by every stage: findings and the rule catalogue.

Lines are 1-based here (findings are what users read); the scanner keeps
0-based offsets internally.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: kind -> stable rule code (the JSON ``kind`` and the SARIF ``ruleId``).
RULE_CODES: dict[str, str] = {
    "arg-default-secret": "MS001",
    "env-from-secret-arg": "MS002",
    "env-literal-secret": "MS003",
    "buildtime-secret-in-run": "MS004",
    "compose-build-arg-secret": "MS005",
    "workflow-build-arg-secret": "MS006",
    "script-build-arg-secret": "MS007",
    "python-env-secret-default": "MS008",
    "committed-env-secret": "MS009",
    "credential-in-value": "MS010",
    "credential-file-copied": "MS011",
    "env-embeds-secret": "MS012",
    "secret-arg-unused": "MS013",
    "env-file-not-ignored": "MS014",
    "secret-persisted-in-layer": "MS015",
}
CODE_KINDS: dict[str, str] = {code: kind for kind, code in RULE_CODES.items()}


@dataclass(frozen=True)
class Finding:
    """One thing found in one file.

    ``fixable`` is True when ``--apply`` writes a fix for it; a finding that
    needs a human is reported with a suggestion and never written.
    ``value_class`` says what the value looked like (``real-looking``,
    ``placeholder``, ...) so reports can ask for rotation without ever
    carrying the value itself.
    """

    path: str
    line: int
    variable: str
    kind: str
    message: str
    fixable: bool = True
    value_class: str = ""
    column: int = 1
    fix: str = ""
    suppressed: bool = False
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def rule(self) -> str:
        return RULE_CODES[self.kind]

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule, self.variable)

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "variable": self.variable,
            "kind": self.kind,
            "rule": self.rule,
            "message": self.message,
            "fixable": self.fixable,
        }
        if self.value_class:
            d["value_class"] = self.value_class
        if self.fix:
            d["fix"] = self.fix
        if self.suppressed:
            d["suppressed"] = True
        return d
