from __future__ import annotations

from codemod.rules.base import Rule


class PythonEnvSecretDefault(Rule):
    """What it does: flags Python code that reads a variable which left the image with a hard-coded secret default
    (``os.getenv("POSTGRES_PASSWORD", "postgres")``, ``os.environ.get(...)``).

    Why: the default is the same secret, now in the source and in every image that copies it, and it hides a
    missing runtime value behind a working-looking one.

    Fix: drop the default from the read (``--fix-python``), so the value has to come from the runtime
    environment.
    """

    CODE = "MS008"
    KIND = "python-env-secret-default"
    SOURCE = "python"
    SEVERITY = ('warning', '5.0')
    REFERENCES = ()
    FIX_AVAILABILITY = "sometimes"
    LANG = "python"
    EXAMPLE = (
        'password = os.getenv("POSTGRES_PASSWORD", "postgres")\n',
        'password = os.getenv("POSTGRES_PASSWORD")\n',
    )
