"""The rules, in code order. Each module holds one rule and its own examples."""

from __future__ import annotations

from codemod.rules.base import Rule
from codemod.rules.ms001_arg_default_secret import ArgDefaultSecret
from codemod.rules.ms002_env_from_secret_arg import EnvFromSecretArg
from codemod.rules.ms003_env_literal_secret import EnvLiteralSecret
from codemod.rules.ms004_buildtime_secret_in_run import BuildtimeSecretInRun
from codemod.rules.ms010_credential_in_value import CredentialInValue
from codemod.rules.ms011_credential_file_copied import CredentialFileCopied
from codemod.rules.ms012_env_embeds_secret import EnvEmbedsSecret
from codemod.rules.ms013_secret_arg_unused import SecretArgUnused
from codemod.rules.ms015_secret_persisted_in_layer import SecretPersistedInLayer

ALL_RULES: tuple[Rule, ...] = (
    ArgDefaultSecret(),
    EnvFromSecretArg(),
    EnvLiteralSecret(),
    BuildtimeSecretInRun(),
    CredentialInValue(),
    CredentialFileCopied(),
    EnvEmbedsSecret(),
    SecretArgUnused(),
    SecretPersistedInLayer(),
)

__all__ = ["ALL_RULES", "Rule"]
