"""The ``migrate-secrets`` command line.

Subcommands are recognised by the first word; anything else is the root run
over PATHs (a path spelled like a subcommand is written ``./docs``). Exit codes
follow ruff and black: 0 nothing pending, 1 pending (or left for a human after
``--apply``), 2 error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from codemod import __version__

SUBCOMMANDS = ("parse", "verify", "rollback", "docs", "rules", "explain", "run")


class _FirstWordGroup(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in ("--help", "-h"):
            return super().parse_args(ctx, args)
        if not args or args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return [c for c in SUBCOMMANDS if c in self.commands]


app = typer.Typer(
    cls=_FirstWordGroup,
    add_completion=False,
    no_args_is_help=False,
    help="Take secrets out of Docker builds: find, rewrite, verify. "
    "`migrate-secrets [PATH...]` previews the migration (a dry run); --apply writes it.",
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _err(msg: str) -> None:
    sys.stderr.write(msg + "\n")


@app.command("run", help="Find baked secrets and show (or --apply) the migration. The default command.")
def run_cmd(
    paths: list[str] = typer.Argument(None, help="Files or directories (default: .)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show findings and the diff; write nothing (default)."),
    apply: bool = typer.Option(False, "--apply", help="Write the migration, with a timestamped backup per file."),
    check: bool = typer.Option(False, "--check", help="CI gate: one line per pending file, exit 1 when pending."),
    fmt: str = typer.Option("text", "--format", help="text | json | diff"),
    output: Path | None = typer.Option(None, "--output", help="Write the formatted output to FILE."),
    report: Path | None = typer.Option(None, "--report", help="Also write the JSON findings report to FILE."),
    show_values: bool = typer.Option(False, "--show-values", help="Do not redact secret values."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when a migration is pending."),
    no_backup: bool = typer.Option(False, "--no-backup", help="With --apply: write no backups."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Log skipped files."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"migrate-secrets {__version__}")
        raise typer.Exit(0)
    if sum((dry_run, apply, check)) > 1:
        _err("error: choose one of --dry-run, --apply, --check")
        raise typer.Exit(2)
    if fmt not in ("text", "json", "diff"):
        _err(f"error: unknown --format {fmt!r} (text, json, diff)")
        raise typer.Exit(2)
    from codemod.config import ConfigError, find_config
    from codemod.engine import run
    from codemod.report import Redactor, report_json, summary_lines, unified_diff

    targets = list(paths or ["."])
    try:
        config = find_config(Path(targets[0]))
    except ConfigError as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None
    if no_backup:
        from dataclasses import replace

        config = replace(config, backup=False)
    result = run(targets, config)
    redactor = Redactor(result, show_values)
    if verbose:
        for line in result.log:
            _err(line)
    mode = "apply" if apply else "check" if check else "dry-run"

    written: list[Any] = []
    write_error = ""
    if apply and not result.errors and result.changes:
        from codemod.write import WriteError, apply_changes

        try:
            written = apply_changes(result.changes, backup=config.backup)
        except WriteError as we:
            write_error = redactor.text(str(we))

    if report is not None:
        report.write_text(report_json(result, redactor, mode=mode), encoding="utf-8")

    out: list[str] = []
    if fmt == "json":
        out.append(report_json(result, redactor, mode=mode))
    elif fmt == "diff":
        out.append(unified_diff(result, redactor))
    elif check:
        for c in result.changes:
            out.append(f"would migrate {c.path.as_posix()}\n")
        for f in result.needs_human:
            out.append(f"{f.path}:{f.line}: {f.rule} needs a human: {redactor.text(f.message)}\n")
        for err in result.errors:
            out.append(f"error: {redactor.text(err)}\n")
    else:
        lines = summary_lines(result, applied=bool(written))
        out.append("\n".join(redactor.text(x) for x in lines) + "\n")
        if apply:
            for w in written:
                shown = (w.shown or w.path).as_posix()
                out.append(f"wrote {shown}" + (f" (backup {w.backup.name})\n" if w.backup else "\n"))
            if result.errors and result.changes:
                out.append("nothing written: fix the errors above first\n")
        elif result.changes:
            out.append("\n" + unified_diff(result, redactor))
    text = "".join(out)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if write_error:
        _err(f"error: {write_error}")

    if result.errors or write_error:
        raise typer.Exit(2)
    if exit_zero:
        raise typer.Exit(0)
    if apply:
        raise typer.Exit(1 if result.needs_human else 0)
    raise typer.Exit(1 if (result.changes or result.findings) else 0)


@app.command("parse", help="The scanner's view of Dockerfiles: one JSON object per line per file.")
def parse_cmd(files: list[Path] = typer.Argument(..., help="Dockerfiles")) -> None:
    import json

    from codemod.dockerfile.render import dockerfile_json
    from codemod.dockerfile.scanner import ParseError, parse

    status = 0
    for f in files:
        doc: dict[str, Any]
        try:
            doc = {"file": str(f), **dockerfile_json(parse(f.read_bytes()))}
        except ParseError as pe:
            doc = {"file": str(f), "error": pe.reason, "line": pe.line}
            status = 2
        except OSError as oe:
            doc = {"file": str(f), "error": oe.strerror or str(oe)}
            status = 2
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    raise typer.Exit(status)


@app.command("rollback", help="Restore the files of the newest (or the named) migration from their backups.")
def rollback_cmd(
    paths: list[Path] = typer.Argument(None, help="Limit to these files or directories"),
    backup: str | None = typer.Option(None, "--backup", help="The backup timestamp (YYYYmmdd-HHMMSS)."),
    force: bool = typer.Option(False, "--force", help="Restore even files edited since the migration."),
) -> None:
    from codemod.write import rollback

    results = rollback(list(paths or []), stamp=backup, force=force)
    if not results:
        _err("nothing to roll back: no migration journal or backup found")
        raise typer.Exit(2)
    bad = False
    for r in results:
        shown = r.path
        if r.action == "restored":
            typer.echo(f"restored {shown} from {r.backup.name if r.backup else '?'}")
        elif r.action == "removed":
            typer.echo(f"removed {shown} ({r.reason})")
        else:
            bad = True
            _err(f"{shown}: {r.action}: {r.reason}")
    raise typer.Exit(2 if bad else 0)


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, prog_name="migrate-secrets", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
