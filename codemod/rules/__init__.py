"""The registry: every rule, found from its module, and what derives from them.

A rule is one module ``msNNN_<slug>.py`` in this package holding one :class:`~codemod.rules.base.Rule`
subclass with its code, kind, message, severity, trigger words, docstring and examples. Nothing else is
kept by hand: the codes of the JSON and SARIF output (:data:`RULE_CODES`), the pre-filter of the fix loop
(:func:`trigger_pattern`), ``migrate-secrets rules`` and the pages under ``docs/rules/`` all come from here.
Modules are taken in name order, so the registry is the same on every run.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from codemod.rules.base import Rule


def _discover() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not re.fullmatch(r"ms\d{3}_\w+", info.name):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        classes = [c for c in vars(module).values()
                   if isinstance(c, type) and issubclass(c, Rule) and c.__module__ == module.__name__]
        if len(classes) != 1:
            raise ImportError(f"{module.__name__} must define exactly one Rule, not {len(classes)}")
        found.append(classes[0]())
    return tuple(found)


#: every rule, in code order
ALL_RULES: tuple[Rule, ...] = _discover()
#: the rules that run on each Dockerfile (the others are reported by the checkers of their files)
DOCKERFILE_RULES: tuple[Rule, ...] = tuple(r for r in ALL_RULES if r.SOURCE == "dockerfile")
#: kind -> stable rule code (the JSON ``kind`` and the SARIF ``ruleId``)
RULE_CODES: dict[str, str] = {r.KIND: r.CODE for r in ALL_RULES}
CODE_KINDS: dict[str, str] = {r.CODE: r.KIND for r in ALL_RULES}
BY_CODE: dict[str, Rule] = {r.CODE: r for r in ALL_RULES}


@cache
def trigger_pattern(rules: tuple[Rule, ...] = DOCKERFILE_RULES) -> re.Pattern[bytes]:
    """What the pre-filter looks for: any trigger word of ``rules``, in the lower-cased bytes (a pattern
    without ``(?i)`` lets the regex engine skip ahead on the first characters)."""
    words = dict.fromkeys(w for r in rules for w in r.WORDS)
    return re.compile("|".join(words).encode() if words else rb"(?!)")


__all__ = ["ALL_RULES", "BY_CODE", "CODE_KINDS", "DOCKERFILE_RULES", "RULE_CODES", "Rule", "trigger_pattern"]
