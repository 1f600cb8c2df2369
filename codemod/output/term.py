"""The terminal: colour only on a TTY, a summary table, a coloured diff, a progress bar.

Colour follows the usual conventions: ``NO_COLOR`` (any non-empty value) turns
it off, whatever else is set; ``FORCE_COLOR`` (non-empty, not ``0``) turns it on
for a pipe too; otherwise a TTY that is not ``TERM=dumb`` gets it. Rich is
imported only when something is drawn. Every text that may carry a value goes
through the :class:`~codemod.output.redact.Redactor` before it reaches a table.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TextIO

from codemod.model import RunResult
from codemod.output.redact import Redactor
from codemod.output.report import scanned

#: a progress bar appears only for runs at least this long
PROGRESS_MIN = 50

_SGR = {"add": "32", "del": "31", "hunk": "36", "head": "1", "note": "2"}


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def use_color(stream: Any, env: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream``."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    force = env.get("FORCE_COLOR")
    if force and force != "0":
        return True
    if env.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _console(color: bool, width: int) -> Any:
    from rich.console import Console

    return Console(
        file=io.StringIO(),
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        width=width,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


def render_summary(result: RunResult, redactor: Redactor, *, color: bool, applied: bool = False,
                   width: int = 100) -> str:
    """The run in one table: files, findings by kind, fixes written or to write, needing a human, suppressed."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    findings = result.findings
    active = [f for f in findings if not f.suppressed]
    by_kind = Counter((f.rule, f.kind) for f in active)
    fixes = sum(1 for f in active if f.fixable)
    human = sum(1 for f in active if not f.fixable)
    suppressed = len(findings) - len(active)

    table = Table(box=box.SIMPLE if color else box.MARKDOWN, header_style="bold")
    table.add_column("migrate-secrets")
    table.add_column("count", justify="right")

    def row(label: str, n: int, style: str = "") -> None:
        table.add_row(Text(redactor.text(label)), Text(str(n), style=style if n else ""))

    row("files scanned", scanned(result))
    row("findings", len(active), "bold red")
    for (code, kind), n in sorted(by_kind.items()):
        row(f"  {code} {kind}", n, "red")
    row("fixes written" if applied else "fixes to write", fixes, "green")
    row("files changed" if applied else "files to change", len(result.changes), "green")
    row("needing a human", human, "yellow")
    row("suppressed", suppressed, "dim")
    if result.errors:
        row("errors", len(result.errors), "bold red")

    console = _console(color, width)
    console.print(table)
    lines = [line.rstrip() for line in str(console.file.getvalue()).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def render_diff(diff_text: str, *, color: bool) -> str:
    """``diff_text`` with coloured file headers, hunks, additions and deletions; unchanged without colour."""
    if not color:
        return diff_text
    out: list[str] = []
    for line in diff_text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        if body.startswith(("+++ ", "--- ")):
            style = _SGR["head"]
        elif body.startswith("@@"):
            style = _SGR["hunk"]
        elif body.startswith("+"):
            style = _SGR["add"]
        elif body.startswith("-"):
            style = _SGR["del"]
        elif body.startswith("\\"):
            style = _SGR["note"]
        else:
            out.append(line)
            continue
        out.append(f"\x1b[{style}m{body}\x1b[0m{end}")
    return "".join(out)


class Progress:
    """A progress bar over ``total`` files, drawn on ``stream`` only when it is a TTY and the run is long."""

    def __init__(self, total: int, stream: TextIO, *, description: str = "scanning",
                 env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.total = total
        self.stream = stream
        self.description = description
        self.active = total >= PROGRESS_MIN and _isatty(stream) and env.get("TERM") != "dumb"
        self._no_color = bool(env.get("NO_COLOR"))
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.active:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            console = Console(file=self.stream, force_terminal=True, no_color=self._no_color, highlight=False)
            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def progress(total: int, stream: TextIO | None = None) -> Progress:
    """``with progress(len(files)) as bar: ... bar.advance()``; stderr by default, a no-op when not shown."""
    import sys

    return Progress(total, stream if stream is not None else sys.stderr)
