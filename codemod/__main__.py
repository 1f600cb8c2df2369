"""``python -m codemod``: the same as the ``migrate-secrets`` command."""

from codemod.entry import main

raise SystemExit(main())
