"""The root run, in order: check the options, analyse (:func:`codemod.app.run`), check everything that can
be checked before writing (backup place, ``--branch``, ``--pr``), write, print, commit, open the pull
request, and the exit code.

The command line (:mod:`codemod.cli`) maps its options to one :class:`RunOptions` and calls
:func:`run_command`; this module owns the sequence and the exit code: 0 nothing pending, 1 pending (or
left for a human after ``--apply``), 2 error, like ruff and black.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codemod.config import Config
    from codemod.model import RunResult
    from codemod.output.redact import Redactor
    from codemod.write import Applied

FORMATS = ("text", "json", "sarif", "diff")
SECRET_STYLES = ("auto", "file", "env")
DEFAULT_BRANCH = "migrate-secrets/buildkit-secrets"


@dataclass(frozen=True)
class RunOptions:
    """The root run's options, one field per command-line option (``--dry-run`` is ``mode="dry-run"``)."""

    paths: list[str] = field(default_factory=lambda: ["."])
    dry_run: bool = False
    apply: bool = False
    check: bool = False
    fmt: str = "text"
    output: Path | None = None
    report: Path | None = None
    show_values: bool = False
    exit_zero: bool = False
    no_backup: bool = False
    backup_dir: Path | None = None
    verbose: bool = False
    fix_python: bool = False
    secret_style: str | None = None
    branch: bool = False
    branch_name: str = DEFAULT_BRANCH
    force_branch: bool = False
    pr: bool = False
    remote: str = "origin"
    base: str | None = None
    pr_provider: str = "github"
    github_api_url: str | None = None

    @property
    def mode(self) -> str:
        return "apply" if self.apply else "check" if self.check else "dry-run"


@dataclass
class Console:
    """Where the run prints: ``out`` (results, diffs) and ``err`` (errors, warnings, logs)."""

    out: Callable[[str], None]
    err: Callable[[str], None]
    #: colour for stdout (a TTY, not ``--output``)
    color: bool = False


def _normalise(opts: RunOptions) -> tuple[RunOptions, str]:
    """``--pr`` implies ``--branch``, which implies ``--apply``; the reason when the options conflict."""
    if opts.pr:
        opts = replace(opts, branch=True)
    if opts.branch and not (opts.dry_run or opts.check):
        opts = replace(opts, apply=True)
    if sum((opts.dry_run, opts.apply, opts.check)) > 1:
        return opts, "choose one of --dry-run, --apply, --check"
    if opts.fmt not in FORMATS:
        return opts, f"unknown --format {opts.fmt!r} (text, json, sarif, diff)"
    if opts.secret_style is not None and opts.secret_style not in SECRET_STYLES:
        return opts, f"unknown --secret-style {opts.secret_style!r} (auto, file, env)"
    from codemod.vcs.pr import PROVIDERS

    if opts.pr and opts.pr_provider not in PROVIDERS:
        return opts, f"unknown --pr-provider {opts.pr_provider!r} ({', '.join(PROVIDERS)})"
    return opts, ""


def load_config(target: str, console: Console) -> Config | None:
    """The configuration found upward from ``target``; None (after saying why) when it is bad."""
    from codemod.config import ConfigError, find_config

    try:
        return find_config(Path(target))
    except ConfigError as e:
        console.err(f"error: {e}\n")
        return None


def run_command(opts: RunOptions, console: Console) -> int:
    """The root run; returns the exit code."""
    from codemod.app import run
    from codemod.output.redact import Redactor
    from codemod.output.term import progress

    opts, problem = _normalise(opts)
    if problem:
        console.err(f"error: {problem}\n")
        return 2
    config = load_config(opts.paths[0], console)
    if config is None:
        return 2
    config = replace(config, backup=config.backup and not opts.no_backup, fix_python=config.fix_python or
                     opts.fix_python, secret_style=opts.secret_style or config.secret_style)
    # --check names the pending files and nothing more: it need not keep their bytes
    result = run(opts.paths, config, progress=progress, keep_bytes=not opts.check)
    redactor = Redactor(result, opts.show_values)
    if opts.verbose:
        for line in result.log:
            console.err(redactor.text(line) + "\n")
    step = _Step(opts, console, result, redactor, config)
    return step.finish()


@dataclass
class _Step:
    """One run after the analysis: the writes, the output, git and the exit code."""

    opts: RunOptions
    console: Console
    result: RunResult
    redactor: Redactor
    config: Config
    root: Path | None = None
    applied: Applied | None = None
    write_error: str = ""

    def finish(self) -> int:
        opts, result = self.opts, self.result
        writing = opts.apply and not result.errors and bool(result.changes)
        if writing:
            refused = self.preflight()
            if refused:
                self.console.err(f"error: {self.redactor.text(refused)}\n")
                return 2
            self.write()
        self.print_output()
        if result.errors and opts.fmt != "text":
            for err in result.errors:
                self.console.err(f"error: {self.redactor.text(err)}\n")
        if self.write_error:
            self.console.err(f"error: {self.write_error}\n")
            return 2
        if opts.branch and self.applied is not None and self.applied.written:
            code = self.branch_and_pr()
            if code:
                return code
        return self.exit_code()

    def exit_code(self) -> int:
        opts, result = self.opts, self.result
        if result.errors:
            return 2
        if opts.exit_zero:
            return 0
        if opts.apply:
            return 1 if result.needs_human else 0
        return 1 if (result.changes or result.active) else 0

    def preflight(self) -> str:
        """Why the writes must not start (backup place, ``--branch``, ``--pr``); "" when they may."""
        from codemod.discover import git_root
        from codemod.vcs import git as vcs
        from codemod.write import WriteError, check_backup_dir

        opts = self.opts
        target = Path(opts.paths[0])
        self.root = git_root(target) or (target if target.is_dir() else target.parent).resolve()
        try:
            check_backup_dir(self.root, opts.backup_dir)
            if opts.branch:
                top = vcs.find_repo_root(target)
                if top is None:
                    return f"--branch: {target} is not inside a git work tree; nothing was written"
                self.root = top
                vcs.preflight(top, [c.path.absolute() for c in self.result.changes], opts.branch_name,
                              opts.force_branch)
            if opts.pr:
                from codemod.vcs.preflight import check_pull_request

                check_pull_request(self.root, opts.branch_name, remote=opts.remote, provider=opts.pr_provider,
                                   api_url=opts.github_api_url, force_branch=opts.force_branch)
        except (vcs.VcsError, WriteError) as e:
            message = str(e)
            return message if "nothing was written" in message else f"{message}\nnothing was written"
        return ""

    def write(self) -> None:
        from codemod.write import WriteError, apply_changes_ex

        runtime = sorted({k for items in self.result.moved.values() for k, v in items if v is None})
        try:
            self.applied = apply_changes_ex(self.result.changes, backup=self.config.backup, root=self.root,
                                            backup_dir=self.opts.backup_dir, runtime=runtime)
        except WriteError as we:
            self.write_error = self.redactor.text(str(we))

    def print_output(self) -> None:
        from codemod.output.report import report_json

        opts, result, redactor = self.opts, self.result, self.redactor
        if opts.report is not None:
            write_text(opts.report, report_json(result, redactor, mode=opts.mode))
        text = render(opts, result, redactor, self.applied, color=self.console.color)
        if opts.output is not None:
            write_text(opts.output, text)
        else:
            self.console.out(text)

    def branch_and_pr(self) -> int:
        from codemod.vcs import git as vcs

        opts, result = self.opts, self.result
        assert self.root is not None
        texts = pr_texts(result, self.applied)
        try:
            sha = vcs.commit_on_branch(self.root, [c.path.absolute() for c in result.changes], opts.branch_name,
                                       texts.message, opts.force_branch)
        except vcs.VcsError as ve:
            self.console.err(f"error: {self.redactor.text(str(ve))}\n")
            return 2
        self.console.out(f"committed {sha[:12]} on branch {opts.branch_name}\n")
        if not opts.pr:
            return 0
        from codemod.vcs import pr as prmod

        try:
            res = prmod.open_pull_request(self.root, opts.branch_name, remote=opts.remote, base=opts.base,
                                          provider=opts.pr_provider, api_url=opts.github_api_url, title=texts.title,
                                          body=texts.body, force_push=opts.force_branch)
        except vcs.VcsError as ve:
            self.console.err(f"error: {self.redactor.text(str(ve))}\n")
            return 2
        self.console.out(self.redactor.text(res.message) + "\n")
        return 2 if res.status == "failed" else 0


def write_text(path: Path, text: str) -> None:
    """``text`` (which may hold a file's non-UTF-8 bytes, surrogate-escaped) written back as those bytes."""
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


def render(opts: RunOptions, result: RunResult, redactor: Redactor, applied: Applied | None, *,
           color: bool = False) -> str:
    """What the run prints on stdout (or writes to ``--output``), in ``opts.fmt``."""
    from codemod.output.report import check_lines, report_json, summary_lines, unified_diff
    from codemod.output.term import render_diff, render_summary

    if opts.fmt == "json":
        return report_json(result, redactor, mode=opts.mode)
    if opts.fmt == "sarif":
        from codemod.discover import git_root
        from codemod.output.sarif import sarif_json

        return sarif_json(result, redactor, root=git_root(Path(opts.paths[0])) or Path.cwd())
    if opts.fmt == "diff":
        return render_diff(unified_diff(result, redactor), color=color)
    if opts.check:
        return "".join(line + "\n" for line in check_lines(result, redactor))
    written = applied.written if applied is not None else []
    out = ["\n".join(summary_lines(result, redactor, applied=bool(written))) + "\n"]
    if color:
        out.append(render_summary(result, redactor, color=color, applied=bool(written)))
    if opts.apply:
        out += [f"wrote {(w.shown or w.path).as_posix()}\n" for w in written]
        if applied is not None and applied.run_dir is not None and written:
            what = "backups and rollback journal" if any(w.backup for w in written) else "rollback journal"
            out.append(f"{what}: {applied.run_dir} (outside the work tree; `migrate-secrets rollback` "
                       "restores)\n")
        if result.errors and result.changes:
            out.append("nothing written: fix the errors above first\n")
    elif result.changes:
        out.append("\n" + render_diff(unified_diff(result, redactor), color=color))
    return "".join(out)


@dataclass(frozen=True)
class PrTexts:
    title: str
    body: str
    message: str


def pr_texts(result: RunResult, applied: Applied | None = None) -> PrTexts:
    """Commit message, PR title and body, from what the run's edits did (not from the finding kinds alone)."""
    from codemod.output import prbody

    changed = [c.path.as_posix() for c in result.changes]
    created = [c.path.as_posix() for c in result.changes if c.old is None]
    values = sorted(set(result.secret_values.values()))
    outcomes = {h.finding: prbody.outcome(h) for h in result.hits if h.finding.fixable}
    message = prbody.commit_message(result.findings, changed, redact=values, outcomes=outcomes, created=created)
    runtime = sorted({k for items in result.moved.values() for k, v in items if v is None})
    settings = sorted({k for items in result.moved.values() for k, v in items if v is not None})
    build_secrets = {sid: var for per in result.build_secrets.values() for sid, var in per.items()}
    examples = [c.path.as_posix() for c in result.changes if c.kind == "envfile"]
    checks = {"no-arg-secrets"} if not [f for f in result.findings if f.rule == "MS001" and not f.fixable] else set()
    backups = str(applied.run_dir) if applied is not None and applied.run_dir is not None else None
    title, body = prbody.build_pr(result.findings, changed, build_secrets=build_secrets, runtime_vars=runtime,
                                  moved_settings=settings, env_example=examples[0] if examples else None,
                                  checks_done=checks, redact=values, created=created, backups=backups)
    return PrTexts(title, body, message)


__all__ = ["Console", "RunOptions", "load_config", "pr_texts", "render", "run_command", "write_text"]
