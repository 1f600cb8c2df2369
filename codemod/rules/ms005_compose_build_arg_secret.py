from __future__ import annotations

from codemod.rules import references
from codemod.rules.base import Rule


class ComposeBuildArgSecret(Rule):
    """What it does: flags a secret passed to an image build through a compose file's ``build.args``
    (``- NPM_TOKEN=${NPM_TOKEN}`` or ``NPM_TOKEN: ...``).

    Why: a build arg is recorded in the history of every RUN that sees it, and keeps the Dockerfile's ARG alive.

    Fix: move it to ``build.secrets`` and declare it at the top level from the environment
    (``secrets: {npm_token: {environment: NPM_TOKEN}}``, Compose 2.7.0+ for builds); keep ``target`` equal to
    ``source`` so ``docker compose build`` and ``docker buildx bake`` use the same id. A runtime secret that
    compose fed in only to reach ``ENV`` goes to the service's ``environment:`` instead.
    """

    CODE = "MS005"
    KIND = "compose-build-arg-secret"
    SOURCE = "compose"
    SEVERITY = ('error', '7.0')
    REFERENCES = (references.COMPOSE_BUILD_SECRETS,)
    FIX_AVAILABILITY = "always"
    LANG = "yaml"
    EXAMPLE = (
        "services:\n  web:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN=${NPM_TOKEN}\n",
        "services:\n  web:\n    build:\n      context: .\n      secrets:\n        - npm_token\nsecrets:\n"
        "  npm_token:\n    environment: NPM_TOKEN\n",
    )
