"""The ``migrate-secrets`` command line: options -> one call -> exit code.

Subcommands are recognised by the first word; anything else is the root run over PATHs (a path spelled
like a subcommand is written ``./docs``). The root run is :func:`codemod.session.run_command`, the
others are in :mod:`codemod.commands`; this module only declares the options and maps them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from codemod import __version__

SUBCOMMANDS = ("run", "verify", "rollback", "docs", "parse", "rules", "explain")

HELP = ("Take secrets out of Docker builds: find them, rewrite the Dockerfiles and the files that build them "
        "(secret mounts, runtime configuration), preview the redacted diff, --apply it with backups outside "
        "the work tree, open the pull request, verify the image.\n\n"
        "`migrate-secrets [PATH...]` previews the migration (a dry run: nothing is written); --apply writes "
        "it; --check is the CI gate. Exit codes: 0 nothing pending, 1 pending (or left for a human), 2 error.")


class _FirstWordGroup(TyperGroup):
    """Dispatch on the first word (design.md section 2), and show the root run's options on the first page."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in ("--help", "-h"):
            return super().parse_args(ctx, args)
        if not args or args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return [c for c in SUBCOMMANDS if c in self.commands and c != "run"]

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, "[OPTIONS] [PATH]...")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """The root run's options (the main job), then the subcommands."""
        run = self.commands["run"]
        run_ctx = run.make_context(ctx.info_name, ["--help"], parent=None, resilient_parsing=True)
        rows = [p.get_help_record(run_ctx) for p in run.get_params(run_ctx) if p.param_type_name == "option"]
        with formatter.section("Options"):
            formatter.write_dl([r for r in rows if r])
        self.format_commands(ctx, formatter)


app = typer.Typer(
    cls=_FirstWordGroup,
    add_completion=False,
    no_args_is_help=False,
    help=HELP,
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


def _console(color_for: Path | None = None) -> Any:
    from codemod.session import Console

    color = False
    if color_for is None:
        from codemod.output.term import use_color

        color = use_color(sys.stdout)
    return Console(lambda t: _emit(sys.stdout, t), lambda t: _emit(sys.stderr, t), color)


@app.command("run", help="Find baked secrets and show (or --apply) the migration. The default command.")
def run_cmd(
    paths: list[str] = typer.Argument(None, metavar="[PATH]...", show_default=False,
                                      help="Files or directories (default: .)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show findings and the diff; write nothing (default)."),
    apply: bool = typer.Option(False, "--apply", help="Write the migration (backups go outside the work tree)."),
    check: bool = typer.Option(False, "--check", help="CI gate: one line per pending file, exit 1 when pending."),
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text | json | sarif | diff"),
    output: Path | None = typer.Option(None, "--output", metavar="FILE", help="Write the formatted output to FILE."),
    report: Path | None = typer.Option(None, "--report", metavar="FILE",
                                       help="Also write the JSON findings report to FILE."),
    show_values: bool = typer.Option(False, "--show-values", help="Do not redact secret values."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when a migration is pending."),
    no_backup: bool = typer.Option(False, "--no-backup", help="With --apply: write no backups."),
    backup_dir: Path | None = typer.Option(
        None, "--backup-dir", metavar="DIR", help="Backups and rollback journal here (default: "
        "$XDG_STATE_HOME/migrate-secrets, else ~/.local/state/migrate-secrets); never inside the work tree."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Log skipped files."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    fix_python: bool = typer.Option(False, "--fix-python",
                                    help="Also make Python env reads with a secret default required."),
    secret_style: str | None = typer.Option(
        None, "--secret-style", metavar="STYLE", help="auto (file for shell-form RUN, env otherwise) | file | env"),
    branch: bool = typer.Option(False, "--branch", help="With --apply: commit the change on a new git branch."),
    branch_name: str = typer.Option("migrate-secrets/buildkit-secrets", "--branch-name", metavar="NAME",
                                     help="The branch name."),
    force_branch: bool = typer.Option(False, "--force-branch", help="Reset the branch if it exists."),
    pr: bool = typer.Option(False, "--pr", help="Push the branch and open the pull request (implies --branch)."),
    remote: str = typer.Option("origin", "--remote", metavar="NAME", help="The remote to push to."),
    base: str | None = typer.Option(None, "--base", metavar="BRANCH",
                                    help="The PR base branch (default: the default branch)."),
    pr_provider: str = typer.Option("github", "--pr-provider", metavar="NAME", help="github | gh | gitlab"),
    github_api_url: str | None = typer.Option(None, "--github-api-url", metavar="URL",
                                                  help="GitHub (Enterprise) API base."),
) -> None:
    if version:
        typer.echo(f"migrate-secrets {__version__}")
        raise typer.Exit(0)
    from codemod.session import RunOptions, run_command

    opts = RunOptions(
        paths=list(paths or ["."]), dry_run=dry_run, apply=apply, check=check, fmt=fmt, output=output,
        report=report, show_values=show_values, exit_zero=exit_zero, no_backup=no_backup, backup_dir=backup_dir,
        verbose=verbose, fix_python=fix_python, secret_style=secret_style, branch=branch, branch_name=branch_name,
        force_branch=force_branch, pr=pr, remote=remote, base=base, pr_provider=pr_provider,
        github_api_url=github_api_url)
    raise typer.Exit(run_command(opts, _console(output)))


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
    storage_driver: str | None = typer.Option(
        None, "--storage-driver", help="buildah: the storage driver (default: buildah's own configuration)."),
    storage_root: Path | None = typer.Option(None, "--storage-root", hidden=True),
) -> None:
    from codemod import commands

    raise typer.Exit(commands.verify(dict(
        image_archive=image_archive, image=image, build=build, context=context, builder=builder,
        secrets=secret, build_args=build_arg, values_from=values_from, runtime_vars=runtime_var,
        output_format=fmt, output=output, tag=tag, run_container=not no_run, storage_root=storage_root,
        storage_driver=storage_driver)))


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
        _emit(sys.stderr, f"error: unknown rule {code!r} (see `migrate-secrets rules`)\n")
        raise typer.Exit(2) from None


@app.command("docs", help="Write docs/DOCKER_SECURITY_PATTERNS.md for this repository from its findings.")
def docs_cmd(
    paths: list[str] = typer.Argument(None, help="Files or directories (default: .)"),
    output: Path | None = typer.Option(None, "--output", help="Where to write (docs/DOCKER_SECURITY_PATTERNS.md)"),
) -> None:
    from codemod import commands

    raise typer.Exit(commands.docs(list(paths or ["."]), output, _console()))


@app.command("parse", help="The scanner's view of Dockerfiles: one JSON object per line per file.")
def parse_cmd(
    files: list[Path] = typer.Argument(..., help="Dockerfiles"),
    show_values: bool = typer.Option(False, "--show-values", help="Do not redact secret values."),
) -> None:
    from codemod import commands

    raise typer.Exit(commands.parse(files, show_values, _console()))


@app.command("rollback", help="Restore the files of the newest (or the named) migration from their backups.")
def rollback_cmd(
    paths: list[Path] = typer.Argument(None, help="Limit to these files or directories"),
    backup: str | None = typer.Option(None, "--backup", help="The run to restore (its stamp, YYYYmmdd-HHMMSS)."),
    backup_dir: Path | None = typer.Option(None, "--backup-dir", help="Where that run kept its backups."),
    force: bool = typer.Option(False, "--force", help="Restore even files edited since the migration."),
) -> None:
    from codemod import commands

    raise typer.Exit(commands.rollback(list(paths or []), backup, force, backup_dir, _console()))


# -- the fast path --------------------------------------------------------------------------------
# typer coerces every non-flag parameter through a pydantic TypeAdapter, and importing pydantic costs more
# start-up than a whole one-file run. The fast path is not a second parser: it runs click's own parser
# (the one typer uses, built from run_cmd's typer declarations) and only skips typer's coercion step, for
# a root run whose parameters are all flags, strings and paths. Anything the parser refuses, and --help,
# goes to typer, which owns every usage error. tests/test_entry.py checks it hands run_cmd what typer does.

_COERCE: dict[Any, Any] = {"bool": bool, "str": str, "str | None": str, "Path | None": Path,
                           "list[str]": list}


def fast_run_kwargs(args: list[str]) -> dict[str, Any] | None:
    """The arguments typer would pass ``run_cmd`` for a root run; None where typer must decide."""
    import inspect

    if args and args[0] == "run":
        args = args[1:]
    elif args and args[0] in SUBCOMMANDS:
        return None
    if any(a in ("--help", "-h") for a in args):
        return None
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    ctx = command.context_class(command, info_name="run")
    try:
        values, rest, _order = command.make_parser(ctx).parse_args(list(args))
    except Exception:  # noqa: BLE001 - click's usage errors: typer words them
        return None
    if rest:
        return None
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(run_cmd).parameters.items():
        kind = _COERCE.get(param.annotation)
        value = values.get(name, param.default.default)
        if kind is None or (kind is Path and value == ""):
            return None
        if name == "paths":
            value = list(value) or None if value is not None else None
        elif value is not None and kind is not list:
            value = kind(value)
        kwargs[name] = value
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
