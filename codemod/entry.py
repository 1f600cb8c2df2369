"""The console script: answers ``--version`` before loading the CLI framework (typer and its pydantic cost ~100 ms+)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from codemod import __version__

        sys.stdout.write(f"migrate-secrets {__version__}\n")
        return 0
    from codemod.cli import main as cli_main

    return cli_main(argv)
