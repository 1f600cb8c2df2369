"""The subcommands beside the root run (:mod:`codemod.session`): ``verify``, ``rollback``, ``docs``, ``parse``.

Each takes what the command line parsed and returns the exit code. This is the layer that may use the
analysis on behalf of the lower parts: ``verify`` gets the name classifier and the values the last
migration removed from here, so :mod:`codemod.verify` never imports :mod:`codemod.analysis`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemod.dockerfile.scanner import Dockerfile
    from codemod.session import Console


# -- verify ---------------------------------------------------------------------------------------


def last_migration(start: Path) -> tuple[dict[str, str], list[str]]:
    """(secret values the newest migration of the repository holding ``start`` removed, by variable; the
    variables it moved to runtime configuration). The values are found again in the run's backups (never
    stored anywhere else, never printed); the names are the journal's."""
    from codemod.config import Config
    from codemod.dockerfile.scanner import ParseError
    from codemod.fix.loop import migrate
    from codemod.write import find_runs, read_journal

    runs = find_runs(start)
    if not runs:
        return {}, []
    doc = read_journal(runs[-1])
    values: dict[str, str] = {}
    files = doc.get("files")
    for entry in files if isinstance(files, list) else []:
        backup = entry.get("backup")
        if not backup or not Path(backup).is_file():
            continue
        try:
            out = migrate(Path(backup).read_bytes(), str(entry.get("shown") or backup), Config())
        except (ParseError, OSError):  # a backup that is not a Dockerfile adds nothing
            continue
        for h in out.hits:
            for key, value in h.secret_values.items():
                if value and value not in values.values():
                    values[_variable_label(key, values)] = value
    runtime = doc.get("runtime")
    return values, [str(n) for n in runtime] if isinstance(runtime, list) else []


def _variable_label(key: str, taken: dict[str, str]) -> str:
    """The variable a value belongs to (``DATABASE_URL#0`` is DATABASE_URL's first credential), unique."""
    name = key.split("#", 1)[0]
    label, n = name, 1
    while label in taken:
        n += 1
        label = f"{name} ({n})"
    return label


def verify(options: dict[str, Any]) -> int:
    """``migrate-secrets verify``: :func:`codemod.verify.verify_command` with the analysis' name classifier
    and the values and runtime variables of the last migration here."""
    from codemod.analysis.names import is_secret_name
    from codemod.verify import verify_command

    known, runtime = last_migration(Path.cwd())
    if not options.get("runtime_vars") and runtime:
        options = {**options, "runtime_vars": runtime}
    return verify_command(is_secret_name=lambda name: bool(is_secret_name(name)), known_values=known, **options)


# -- rollback -------------------------------------------------------------------------------------


def rollback(paths: list[Path], stamp: str | None, force: bool, backup_dir: Path | None, console: Console) -> int:
    from codemod.write import rollback as restore

    done = restore(paths, stamp=stamp, force=force, backup_dir=backup_dir)
    if done.nothing:
        first_time = done.run_dir is None
        (console.err if first_time else console.out)(done.nothing + "\n")
        return 2 if first_time else 0
    bad = False
    for r in done.restores:
        if r.action == "restored":
            console.out(f"restored {r.path} from {done.run_dir}\n")
        elif r.action in ("removed", "unchanged"):
            console.out(f"{r.action} {r.path} ({r.reason})\n")
        else:
            bad = True
            console.err(f"{r.path}: {r.action}: {r.reason}\n")
    return 2 if bad else 0


# -- docs -----------------------------------------------------------------------------------------


def docs(paths: list[str], output: Path | None, console: Console) -> int:
    from codemod.app import run
    from codemod.discover import git_root
    from codemod.output.docs import PAGE_PATH, security_patterns_page
    from codemod.output.redact import Redactor
    from codemod.session import load_config

    config = load_config(paths[0], console)
    if config is None:
        return 2
    root = git_root(Path(paths[0])) or Path(paths[0]).resolve()
    result = run(paths, config)
    page = Redactor(result).text(
        security_patterns_page(result, repo_name=root.name, root=root, env_example=config.env_example))
    dest = output or root / PAGE_PATH
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(page, encoding="utf-8")
    console.out(f"wrote {dest}\n")
    return 0


# -- parse ----------------------------------------------------------------------------------------


def parse(files: list[Path], show_values: bool, console: Console) -> int:
    """The scanner's view of each file as one JSON line, secret values redacted unless ``show_values``."""
    from codemod.analysis.names import is_secret_name
    from codemod.dockerfile.render import dockerfile_json
    from codemod.dockerfile.scanner import ParseError
    from codemod.dockerfile.scanner import parse as scan
    from codemod.output.redact import Redactor

    status = 0
    for f in files:
        doc: dict[str, Any]
        try:
            df = scan(f.read_bytes())
            doc = {"file": str(f), **dockerfile_json(df)}
            if not show_values:
                doc = _redacted(doc, Redactor(values=_secret_values(df)), lambda n: bool(is_secret_name(n)))
        except ParseError as pe:
            doc, status = {"file": str(f), "error": pe.reason, "line": pe.line}, 2
        except OSError as oe:
            doc, status = {"file": str(f), "error": oe.strerror or str(oe)}, 2
        console.out(json.dumps(doc, ensure_ascii=False) + "\n")
    return status


def _secret_values(df: Dockerfile) -> list[str]:
    """Values of the pairs that hold a secret, as the rules judge them."""
    from codemod.analysis.names import classify_name
    from codemod.analysis.values import embedded_secret_parts, is_secret_value

    found: set[str] = set()
    for ins in df.instructions:
        for kv in ins.kvs:
            if kv.value and is_secret_value(classify_name(kv.key), kv.value)[0]:
                found.update({kv.value, kv.raw})
            found.update(embedded_secret_parts(kv.value))
    return sorted(found)


def _redacted(doc: Any, redactor: Any, is_secret: Callable[[str], bool]) -> Any:
    """The parse document with each secret pair's value masked where it stands (``kvs``), and the values
    masked in the instruction texts (``original``, ``value``)."""
    from codemod.output.redact import MASK

    if isinstance(doc, list):
        return [_redacted(x, redactor, is_secret) for x in doc]
    if not isinstance(doc, dict):
        return redactor.assignments(doc, is_secret) if isinstance(doc, str) else doc
    if "key" in doc and "raw" in doc and isinstance(doc.get("value"), str) and doc["value"] and (
            is_secret(str(doc["key"])) or doc["value"] in redactor.values or doc["raw"] in redactor.values):
        return {**doc, "raw": MASK, "value": MASK}
    return {k: v if k in ("file", "cmd", "sub_cmd", "key", "name") else _redacted(v, redactor, is_secret)
            for k, v in doc.items()}
