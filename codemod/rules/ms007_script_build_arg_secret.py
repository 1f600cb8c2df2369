from __future__ import annotations

from codemod.rules import references
from codemod.rules.base import Rule


class ScriptBuildArgSecret(Rule):
    """What it does: flags ``docker build --build-arg NAME=...`` (or ``buildx build``, ``podman build``, ``buildah
    build``) of a secret in a Makefile, a shell script or a workflow ``run:`` step.

    Why: the value is recorded in the image history of every RUN that sees the arg.

    Fix: pass it as a build secret: ``--secret id=name,env=VAR``, where VAR is the variable the old value expanded
    (``$(VAR)``, ``${VAR}``, ``$$VAR``, ``"$VAR"``), else NAME. There is no stdin form: ``--secret id=name,src=-``
    reads a file named ``-``.
    """

    CODE = "MS007"
    KIND = "script-build-arg-secret"
    SOURCE = "script"
    SEVERITY = ('error', '7.0')
    REFERENCES = (references.BUILDX_SECRET,)
    FIX_AVAILABILITY = "always"
    LANG = "sh"
    EXAMPLE = (
        'docker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t web .\n',
        "docker build --secret id=npm_token,env=NPM_TOKEN -t web .\n",
    )
