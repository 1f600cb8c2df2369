from __future__ import annotations

import re
from collections.abc import Iterator

from codemod.model import Hit
from codemod.rules import references
from codemod.rules.base import Context, Invalid, Rule

#: files that are credentials by name
_CREDENTIAL_FILES = re.compile(
    r"^(?:\.netrc|_netrc|\.git-credentials|\.pypirc|id_rsa|id_dsa|id_ecdsa|id_ed25519|\.env|"
    r"\.env\.(?!example$|sample$|template$|dist$)[^/]+|credentials\.json|service-account.*\.json)$"
)
#: credential files, named or swept in by ``COPY . .``
_FILE_WORDS = (
    "netrc", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "credential", r"\.env", "npmrc", "yarnrc", "pypirc",
    "service-account", r"(?m:^[ \t]*(?:onbuild[ \t]+)?(?:copy|add)\b[^\n]*[ \t]\.\/?[ \t])",
)


class CredentialFileCopied(Rule):
    """What it does: flags a COPY/ADD that puts a credential file into the image: ``.netrc``, ``id_rsa``,
    ``.git-credentials``, ``.pypirc``, a live ``.env``, an ``.npmrc`` holding a literal token, whether named
    or swept in by ``COPY . .`` from a build context whose ``.dockerignore`` lets it through.

    Why: the file lands in a layer; anyone who pulls the image reads it, and deleting it in a later
    step does not remove it from the earlier layer.

    Fix: none automatic: keep the file out of the build context (``.dockerignore``) and mount it for the
    step that needs it (``RUN --mount=type=secret,id=npmrc,target=/root/.npmrc``). Reported, never rewritten.
    """

    CODE = "MS011"
    KIND = "credential-file-copied"
    SEVERITY = ("error", "8.0")
    WORDS = _FILE_WORDS
    REFERENCES = (references.MOUNT_SECRET,)
    MESSAGE = "{what} copies credential file {name} into the image"
    VALID = [
        "FROM a\nCOPY package.json .npmrc.example ./\n",
        "FROM a\nCOPY --from=build /app/.env /tmp/\n",
        "FROM a\nCOPY .env.example /app/\n",
    ]
    INVALID = [
        Invalid("FROM a\nCOPY .netrc /root/.netrc\n", line=2),
        Invalid('FROM a\nADD ["id_rsa", "/root/.ssh/id_rsa"]\n', line=2),
    ]

    def check(self, ctx: Context) -> Iterator[Hit]:
        for ins in ctx.flow.df.instructions:
            if ins.effective not in ("COPY", "ADD") or len(ins.value) < 2:
                continue
            flags = ins.sub_flags if ins.keyword == "ONBUILD" else ins.flags
            if any(f.startswith("--from") for f in flags):
                continue  # from another stage or image: not the build context
            reported: set[str] = set()
            for src in ins.value[:-1]:
                for name in self._credentials(ctx, src):
                    if name not in reported:
                        reported.add(name)
                        yield Hit(self.finding(ctx, ins.start_line, name, fixable=False, what=ins.effective,
                                               fix=f"keep {name} out of the build context (.dockerignore); "
                                                   "mount it as a secret where a step needs it"))

    @staticmethod
    def _credentials(ctx: Context, src: str) -> list[str]:
        src = src.strip().rstrip("/") or "."
        base = src.rsplit("/", 1)[-1]
        if "$" in src or "*" in base and base != "*":
            return []
        if _CREDENTIAL_FILES.match(base):
            return [base]
        files = ctx.files
        if base in (".npmrc", ".yarnrc", ".yarnrc.yml"):
            return [base] if src.removeprefix("./") in files.npmrc_with_token else []
        if not files.present or base not in (".", "*"):
            return []
        directory = src.rsplit("/", 1)[0] if "/" in src else ""
        directory = "" if directory == "." else directory.removeprefix("./")
        names = sorted(n for n in files.listing.get(directory, ()) if _CREDENTIAL_FILES.match(n) or n == ".npmrc")
        # the .dockerignore is read only when a credential file is there to be kept out (once per file: ctx keeps it)
        ignored = ctx.dockerignore() if names else None
        found = []
        for name in names:
            rel = f"{directory}/{name}" if directory else name
            if ignored is not None and ignored(rel):
                continue
            if _CREDENTIAL_FILES.match(name) or rel in files.npmrc_with_token:
                found.append(name)
        return found
