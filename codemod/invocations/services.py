"""The services of a compose file that build an image, each with the Dockerfile it builds."""

from __future__ import annotations

from pathlib import Path

from codemod.model import ComposeService


def compose_services(compose: Path, data: bytes | None = None) -> list[ComposeService]:
    """Services of a compose file with the Dockerfile each builds (unparseable files give none).

    ``data`` is the file's bytes when the caller has them; the node tree is the one the compose
    rewrite parses (:func:`codemod.invocations.yamlnodes.parse_yaml` remembers it).
    """
    from codemod.discover import real_path
    from codemod.invocations.text import decode_text
    from codemod.invocations.yamlnodes import parse_yaml, yaml_data

    try:
        raw = compose.read_bytes() if data is None else data
        doc = yaml_data(parse_yaml(decode_text(raw), compose.as_posix()))  # the rewrite's cache key
    except Exception:  # noqa: BLE001 - a broken compose file is reported by its own checker
        return []
    out: list[ComposeService] = []
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict):
        return out
    base = compose.parent
    for name, svc in services.items():
        if not isinstance(svc, dict) or "build" not in svc:
            continue
        build = svc["build"]
        if isinstance(build, str):
            context, dockerfile = build, "Dockerfile"
        elif isinstance(build, dict):
            context = str(build.get("context", "."))
            dockerfile = str(build.get("dockerfile", "Dockerfile"))
        else:
            continue
        if "://" in context or context.startswith("git@"):
            continue
        ctx_dir = real_path(base / context)
        df = real_path(ctx_dir / dockerfile)
        env_files: list[Path] = []
        ef = svc.get("env_file")
        items = [ef] if isinstance(ef, str) else list(ef) if isinstance(ef, list) else []
        for item in items:
            p = item.get("path") if isinstance(item, dict) else item
            if isinstance(p, str):
                env_files.append(base / p)
        out.append(ComposeService(compose, str(name), df, env_files, ctx_dir))
    return out
