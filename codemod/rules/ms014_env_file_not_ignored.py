from __future__ import annotations

from codemod.rules import references
from codemod.rules.base import Rule


class EnvFileNotIgnored(Rule):
    """What it does: flags an env file that holds runtime values for a service (a compose ``env_file``, ``.env``)
    and that git does not ignore.

    Why: once secrets leave the image they live in these files; a file git does not ignore is one ``git add -A``
    away from the repository history.

    Fix: add the file to ``.gitignore``; the committed ``.env.example`` lists the names without values.
    """

    CODE = "MS014"
    KIND = "env-file-not-ignored"
    SOURCE = "envfile"
    SEVERITY = ('warning', '5.5')
    REFERENCES = (references.COMPOSE_ENV_FILE,)
    FIX_AVAILABILITY = "none"
    LANG = "sh"
    EXAMPLE = (
        "",
        None,
    )
