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

SUBCOMMANDS = ("run", "verify", "rollback", "docs", "parse", "rules", "explain")


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


def _emit(stream: Any, text: str) -> None:
    """Write text that may hold a file's non-UTF-8 bytes (surrogate-escaped) back as those bytes."""
    data = text.encode("utf-8", "surrogateescape")
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode("utf-8", "replace"))


def _write_file(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


def _load_config(target: str) -> Any:
    """The configuration found upward from ``target``; a bad one ends the run with exit 2."""
    from codemod.config import ConfigError, find_config

    try:
        return find_config(Path(target))
    except ConfigError as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None


def _err(msg: str) -> None:
    _emit(sys.stderr, msg + "\n")


@app.command("run", help="Find baked secrets and show (or --apply) the migration. The default command.")
def run_cmd(
    paths: list[str] = typer.Argument(None, help="Files or directories (default: .)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show findings and the diff; write nothing (default)."),
    apply: bool = typer.Option(False, "--apply", help="Write the migration, with a timestamped backup per file."),
    check: bool = typer.Option(False, "--check", help="CI gate: one line per pending file, exit 1 when pending."),
    fmt: str = typer.Option("text", "--format", help="text | json | sarif | diff"),
    output: Path | None = typer.Option(None, "--output", help="Write the formatted output to FILE."),
    report: Path | None = typer.Option(None, "--report", help="Also write the JSON findings report to FILE."),
    show_values: bool = typer.Option(False, "--show-values", help="Do not redact secret values."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when a migration is pending."),
    no_backup: bool = typer.Option(False, "--no-backup", help="With --apply: write no backups."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Log skipped files."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    fix_python: bool = typer.Option(False, "--fix-python",
                                    help="Also make Python env reads with a secret default required."),
    secret_style: str | None = typer.Option(
        None, "--secret-style", help="auto (file for shell-form RUN, env otherwise) | file | env"),
    branch: bool = typer.Option(False, "--branch", help="With --apply: commit the change on a new git branch."),
    branch_name: str = typer.Option("migrate-secrets/buildkit-secrets", "--branch-name", help="The branch name."),
    force_branch: bool = typer.Option(False, "--force-branch", help="Reset the branch if it exists."),
    pr: bool = typer.Option(False, "--pr", help="Push the branch and open the pull request (implies --branch)."),
    remote: str = typer.Option("origin", "--remote", help="The remote to push to."),
    base: str | None = typer.Option(None, "--base", help="The PR base branch (default: the default branch)."),
    pr_provider: str = typer.Option("github", "--pr-provider", help="github | gh | gitlab"),
    github_api_url: str | None = typer.Option(None, "--github-api-url", help="GitHub (Enterprise) API base."),
) -> None:
    if version:
        typer.echo(f"migrate-secrets {__version__}")
        raise typer.Exit(0)
    if pr:
        branch = True
    if branch and not (dry_run or check):
        apply = True
    if sum((dry_run, apply, check)) > 1:
        _err("error: choose one of --dry-run, --apply, --check")
        raise typer.Exit(2)
    if fmt not in ("text", "json", "diff", "sarif"):
        _err(f"error: unknown --format {fmt!r} (text, json, sarif, diff)")
        raise typer.Exit(2)
    from codemod.app import run
    from codemod.output.report import Redactor, report_json, summary_lines, unified_diff

    targets = list(paths or ["."])
    config = _load_config(targets[0])
    from dataclasses import replace

    if no_backup:
        config = replace(config, backup=False)
    if fix_python:
        config = replace(config, fix_python=True)
    if secret_style is not None:
        if secret_style not in ("auto", "file", "env"):
            _err(f"error: unknown --secret-style {secret_style!r} (auto, file, env)")
            raise typer.Exit(2)
        config = replace(config, secret_style=secret_style)
    from codemod.output.term import progress, use_color

    # --check names the pending files and nothing more: it need not keep their bytes
    result = run(targets, config, progress=progress, keep_bytes=not check)
    redactor = Redactor(result, show_values)
    if verbose:
        for line in result.log:
            _err(line)
    mode = "apply" if apply else "check" if check else "dry-run"

    written: list[Any] = []
    write_error = ""
    repo_root: Path | None = None
    if branch and not result.errors and result.changes:
        from codemod.vcs import git as vcs

        repo_root = vcs.find_repo_root(Path(targets[0]))
        try:
            if repo_root is None:
                raise vcs.VcsError(f"--branch: {targets[0]} is not inside a git work tree; nothing was written")
            vcs.preflight(repo_root, [c.path.absolute() for c in result.changes], branch_name, force_branch)
        except vcs.VcsError as ve:
            _err(f"error: {redactor.text(str(ve))}")
            raise typer.Exit(2) from None
    journal_error = ""
    if apply and not result.errors and result.changes:
        from codemod.write import WriteError, apply_changes_ex

        try:
            applied = apply_changes_ex(result.changes, backup=config.backup, root=repo_root)
            written, journal_error = applied.written, applied.journal_error
        except WriteError as we:
            write_error = redactor.text(str(we))

    if report is not None:
        _write_file(report, report_json(result, redactor, mode=mode))

    out: list[str] = []
    color = output is None and use_color(sys.stdout)
    if fmt == "json":
        out.append(report_json(result, redactor, mode=mode))
    elif fmt == "sarif":
        from codemod.discover import git_root
        from codemod.output.sarif import sarif_json

        out.append(sarif_json(result, redactor, root=git_root(Path(targets[0])) or Path.cwd()))
    elif fmt == "diff":
        from codemod.output.term import render_diff

        out.append(render_diff(unified_diff(result, redactor), color=color))
    elif check:
        for c in result.changes:
            out.append(f"would migrate {c.path.as_posix()}\n")
        for f in result.needs_human:
            out.append(f"{f.path}:{f.line}: {f.rule} needs a human: {redactor.text(f.message)}\n")
        for err in result.errors:
            out.append(f"error: {redactor.text(err)}\n")
    else:
        from codemod.output.term import render_diff, render_summary

        lines = summary_lines(result, applied=bool(written))
        out.append("\n".join(redactor.text(x) for x in lines) + "\n")
        if color:
            out.append(render_summary(result, redactor, color=color, applied=bool(written)))
        if apply:
            for w in written:
                shown = (w.shown or w.path).as_posix()
                out.append(f"wrote {shown}" + (f" (backup {w.backup.name})\n" if w.backup else "\n"))
            if result.errors and result.changes:
                out.append("nothing written: fix the errors above first\n")
        elif result.changes:
            out.append("\n" + render_diff(unified_diff(result, redactor), color=color))
    text = "".join(out)
    if output is not None:
        _write_file(output, text)
    else:
        _emit(sys.stdout, text)
    if journal_error:
        _err(f"warning: could not write the migration journal ({journal_error}): "
             "`migrate-secrets rollback` will need --force")
    if result.errors and fmt != "text":
        for err in result.errors:
            _err(f"error: {redactor.text(err)}")
    if write_error:
        _err(f"error: {write_error}")
    elif branch and written:
        code = _branch_and_pr(result, redactor, repo_root, branch_name, force_branch, pr, remote, base,
                              pr_provider, github_api_url)
        if code:
            raise typer.Exit(code)

    if result.errors or write_error:
        raise typer.Exit(2)
    if exit_zero:
        raise typer.Exit(0)
    if apply:
        raise typer.Exit(1 if result.needs_human else 0)
    raise typer.Exit(1 if (result.changes or result.active) else 0)


def _branch_and_pr(result: Any, redactor: Any, root: Path | None, branch_name: str, force_branch: bool, pr: bool,
                   remote: str, base: str | None, provider: str, api_url: str | None) -> int:
    from codemod.output import prbody
    from codemod.vcs import git as vcs

    assert root is not None
    changed = [c.path.as_posix() for c in result.changes]
    secrets = sorted(result.secret_values.values())
    try:
        message = prbody.commit_message(result.findings, changed, redact=secrets)
        sha = vcs.commit_on_branch(root, [c.path.absolute() for c in result.changes], branch_name, message,
                                   force_branch)
    except vcs.VcsError as ve:
        _err(f"error: {redactor.text(str(ve))}")
        return 2
    _emit(sys.stdout, f"committed {sha[:12]} on branch {branch_name}\n")
    if not pr:
        return 0
    from codemod.vcs import pr as prmod

    runtime = sorted({k for items in result.moved.values() for k, v in items if v is None})
    settings = sorted({k for items in result.moved.values() for k, v in items if v is not None})
    build_secrets = {sid: var for per in result.build_secrets.values() for sid, var in per.items()}
    examples = [c.path.as_posix() for c in result.changes if c.kind == "envfile"]
    checks = {"no-arg-secrets"} if not [f for f in result.findings if f.rule == "MS001" and not f.fixable] else set()
    title, body = prbody.build_pr(result.findings, changed, build_secrets=build_secrets, runtime_vars=runtime,
                                  moved_settings=settings, env_example=examples[0] if examples else None,
                                  checks_done=checks, redact=secrets)
    try:
        res = prmod.open_pull_request(root, branch_name, remote=remote, base=base, provider=provider,
                                      api_url=api_url, title=title, body=body, force_push=force_branch)
    except vcs.VcsError as ve:
        _err(f"error: {redactor.text(str(ve))}")
        return 2
    _emit(sys.stdout, redactor.text(res.message) + "\n")
    return 2 if res.status == "failed" else 0


@app.command("verify", help="Build (or load) an image and prove no secret is in its history, config or layers.")
def verify_cmd(
    image_archive: Path | None = typer.Option(None, "--image-archive", help="docker-archive or OCI archive/layout"),
    image: str | None = typer.Option(None, "--image", help="An image reference (docker, podman or buildah)."),
    build: Path | None = typer.Option(None, "--build", help="A Dockerfile to build, then scan."),
    context: Path | None = typer.Option(None, "--context", help="Build context (default: the Dockerfile's dir)."),
    builder: str = typer.Option("auto", "--builder", help="auto | docker | podman | buildah"),
    secret: list[str] = typer.Option([], "--secret", help="Passed to the build (repeatable)."),
    build_arg: list[str] = typer.Option([], "--build-arg", help="Passed to the build (repeatable)."),
    values_from: Path | None = typer.Option(None, "--values-from", help="Env file with the values to look for."),
    runtime_var: list[str] = typer.Option([], "--runtime-var", help="Variable Test 2 expects at runtime."),
    fmt: str = typer.Option("text", "--format", help="text | json"),
    output: Path | None = typer.Option(None, "--output", help="Write the report to FILE."),
    tag: str | None = typer.Option(None, "--tag", help="Tag for --build."),
    no_run: bool = typer.Option(False, "--no-run", help="Skip Test 2 (running a container)."),
    storage_root: Path | None = typer.Option(None, "--storage-root", hidden=True),
) -> None:
    from codemod.verify import verify_command

    known = _journal_values()
    code = verify_command(
        image_archive=image_archive, image=image, build=build, context=context, builder=builder,
        secrets=secret, build_args=build_arg, values_from=values_from, known_values=known,
        runtime_vars=runtime_var, output_format=fmt, output=output, tag=tag, run_container=not no_run,
        storage_root=storage_root,
    )
    raise typer.Exit(code)


def _journal_values() -> dict[str, str]:
    """Secret values the newest migration removed: found again in its backups, never printed."""
    import json

    from codemod.config import Config
    from codemod.dockerfile.scanner import ParseError
    from codemod.fix.loop import migrate
    from codemod.write import journal_dir

    d = journal_dir(Path.cwd())
    journals = sorted(d.glob("journal-*.json")) if d.is_dir() else []
    values: dict[str, str] = {}
    if not journals:
        return values
    for entry in json.loads(journals[-1].read_text()).get("files", []):
        backup = entry.get("backup")
        if not backup or not Path(backup).is_file():
            continue
        try:
            out = migrate(Path(backup).read_bytes(), backup, Config())
        except (ParseError, OSError):  # a backup that is not a Dockerfile adds nothing
            continue
        for h in out.hits:
            values.update({k: v for k, v in h.secret_values.items() if v})
    return values


@app.command("rules", help="List the rules.")
def rules_cmd() -> None:
    from codemod.output.rulesdoc import rules_table

    sys.stdout.write(rules_table())


@app.command("explain", help="What a rule finds, why, an example and the fix: `explain MS001`.")
def explain_cmd(code: str = typer.Argument(..., help="A rule code (MS001) or kind")) -> None:
    from codemod.output.rulesdoc import explain

    try:
        sys.stdout.write(explain(code))
    except KeyError:
        _err(f"error: unknown rule {code!r} (see `migrate-secrets rules`)")
        raise typer.Exit(2) from None


@app.command("docs", help="Write docs/DOCKER_SECURITY_PATTERNS.md for this repository from its findings.")
def docs_cmd(
    paths: list[str] = typer.Argument(None, help="Files or directories (default: .)"),
    output: Path | None = typer.Option(None, "--output", help="Where to write (docs/DOCKER_SECURITY_PATTERNS.md)"),
) -> None:
    from codemod.app import run
    from codemod.discover import git_root
    from codemod.output.docs import PAGE_PATH, security_patterns_page
    from codemod.output.report import Redactor

    targets = list(paths or ["."])
    config = _load_config(targets[0])
    root = git_root(Path(targets[0])) or Path(targets[0]).resolve()
    result = run(targets, config)
    page = Redactor(result).text(
        security_patterns_page(result, repo_name=root.name, root=root, env_example=config.env_example))
    dest = output or root / PAGE_PATH
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(page, encoding="utf-8")
    typer.echo(f"wrote {dest}")


@app.command("parse", help="The scanner's view of Dockerfiles: one JSON object per line per file.")
def parse_cmd(
    files: list[Path] = typer.Argument(..., help="Dockerfiles"),
    show_values: bool = typer.Option(False, "--show-values", help="Do not redact secret values."),
) -> None:
    import json

    from codemod.dockerfile.render import dockerfile_json
    from codemod.dockerfile.scanner import ParseError, parse

    status = 0
    for f in files:
        doc: dict[str, Any]
        try:
            df = parse(f.read_bytes())
            doc = {"file": str(f), **dockerfile_json(df)}
            if not show_values:
                doc = _redact_doc(doc, _secret_values(df))
        except ParseError as pe:
            doc = {"file": str(f), "error": pe.reason, "line": pe.line}
            status = 2
        except OSError as oe:
            doc = {"file": str(f), "error": oe.strerror or str(oe)}
            status = 2
        _emit(sys.stdout, json.dumps(doc, ensure_ascii=False) + "\n")
    raise typer.Exit(status)


def _secret_values(df: Any) -> list[str]:
    """Values of the pairs that hold a secret (as the rules judge them), longest first."""
    from codemod.analysis.names import classify_name
    from codemod.analysis.values import embedded_secret_parts, is_secret_value

    found: set[str] = set()
    for ins in df.instructions:
        for kv in ins.kvs:
            if kv.value and is_secret_value(classify_name(kv.key), kv.value)[0]:
                found.update({kv.value, kv.raw})
            found.update(embedded_secret_parts(kv.value))
    return sorted((v for v in found if len(v) >= 4), key=len, reverse=True)


def _redact_doc(doc: Any, values: list[str]) -> Any:
    if not values:
        return doc
    if isinstance(doc, str):
        for v in values:
            doc = doc.replace(v, "***")
        return doc
    if isinstance(doc, list):
        return [_redact_doc(x, values) for x in doc]
    if isinstance(doc, dict):
        return {k: _redact_doc(v, values) for k, v in doc.items()}
    return doc


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


_VALUE_TYPES: dict[Any, Any] = {"str": str, "str | None": str, "Path | None": Path}


def _option_table() -> tuple[dict[str, tuple[str, Any]], dict[str, Any]]:
    """The root run's options (spelling -> parameter, and None for an on/off flag or the type of its value)
    and every parameter's default, read from ``run_cmd``'s own typer declarations, so the fast path
    below cannot drift from them."""
    import inspect

    options: dict[str, tuple[str, Any]] = {}
    defaults: dict[str, Any] = {}
    for name, param in inspect.signature(run_cmd).parameters.items():
        info = param.default
        defaults[name] = info.default
        if not isinstance(info, typer.models.OptionInfo):
            continue
        kind = None if param.annotation in (bool, "bool") else _VALUE_TYPES.get(param.annotation, "other")
        options.update({decl: (name, kind) for decl in info.param_decls or ()})
    return options, defaults


def fast_run_kwargs(args: list[str]) -> dict[str, Any] | None:
    """The arguments typer would pass ``run_cmd`` for a root run; None where typer must decide.

    typer coerces every non-flag parameter through a pydantic TypeAdapter, and importing pydantic costs
    more start-up than the whole one-file run (issue 9). The root run takes only PATHs, on/off flags and
    options with a plain string or path value, which need none of it. Anything else (a subcommand,
    --help, a value that looks like an option, an abbreviation, a missing value) returns None and goes
    to typer, which also owns every usage error. tests/test_entry.py checks this agrees with typer.
    """
    if args and args[0] == "run":
        args = args[1:]
    elif args and args[0] in SUBCOMMANDS:
        return None
    options, kwargs = _option_table()
    paths: list[str] = []
    rest = iter(args)
    for a in rest:
        if not a.startswith("-") or a == "-":
            paths.append(a)
            continue
        if a == "--":
            paths.extend(rest)
            break
        spelled, eq, inline = a.partition("=")
        name, kind = options.get(spelled if spelled.startswith("--") else a, ("", "other"))
        if kind is None and not eq:
            kwargs[name] = True
        elif kind in (str, Path):
            value = inline if eq else next(rest, "")
            if not value or (value.startswith("-") and not eq):
                return None
            kwargs[name] = kind(value)
        else:
            return None
    kwargs["paths"] = paths or None
    return kwargs


def _fast_run(kwargs: dict[str, Any]) -> int:
    """Call ``run_cmd`` as typer's standalone mode would: Exit's code, 130 on Ctrl-C, 1 on a closed pipe."""
    import errno
    import os

    try:
        run_cmd(**kwargs)
    except typer.Exit as e:
        return int(e.exit_code)
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    kwargs = fast_run_kwargs(sys.argv[1:] if argv is None else argv)
    if kwargs is not None:
        return _fast_run(kwargs)
    try:
        app(args=argv, prog_name="migrate-secrets", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
