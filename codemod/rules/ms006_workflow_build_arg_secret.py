from __future__ import annotations

from codemod.rules import references
from codemod.rules.base import Rule


class WorkflowBuildArgSecret(Rule):
    """What it does: flags a secret in the ``build-args`` input of ``docker/build-push-action`` in a GitHub Actions
    workflow.

    Why: the value ends up in the image history of every RUN that sees the arg, in an image the workflow
    usually pushes to a registry.

    Fix: move it to the action's ``secrets`` input (``id=value``, passed to the build as a secret file), with the
    id the Dockerfile's secret mount reads.
    """

    CODE = "MS006"
    KIND = "workflow-build-arg-secret"
    SOURCE = "workflow"
    SEVERITY = ('error', '7.0')
    REFERENCES = (references.ACTIONS_SECRETS,)
    FIX_AVAILABILITY = "always"
    LANG = "yaml"
    EXAMPLE = (
        "      - uses: docker/build-push-action@v6\n        with:\n          build-args: |\n"
        "            NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n",
        "      - uses: docker/build-push-action@v6\n        with:\n          secrets: |\n"
        "            npm_token=${{ secrets.NPM_TOKEN }}\n",
    )
