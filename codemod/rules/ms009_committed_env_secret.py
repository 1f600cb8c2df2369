from __future__ import annotations

from codemod.rules.base import Rule


class CommittedEnvSecret(Rule):
    """What it does: flags a secret value in an env file that git tracks (``.env``, ``*.env``, ``env.*``).

    Why: whatever is committed stays in the history of every clone; the value must be rotated, not only removed.

    Fix: empty the value in the committed file, keep real values in an ignored file (``.env.local``), and rotate
    the credential.
    """

    CODE = "MS009"
    KIND = "committed-env-secret"
    SOURCE = "envfile"
    SEVERITY = ('error', '8.5')
    REFERENCES = ()
    FIX_AVAILABILITY = "sometimes"
    LANG = "sh"
    EXAMPLE = (
        "POSTGRES_PASSWORD=s3cr3t-db-pw\n",
        "POSTGRES_PASSWORD=\n",
    )
