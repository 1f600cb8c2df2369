"""Project configuration: ``[tool.migrate-secrets]`` or ``.migrate-secrets.toml``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from codemod.analysis.names import NameClass, classify_name

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    extra_secret_words: frozenset[str] = frozenset()
    extra_allow_words: frozenset[str] = frozenset()
    extra_secret_names: frozenset[str] = frozenset()
    extra_setting_words: frozenset[str] = frozenset()
    extra_key_qualifiers: frozenset[str] = frozenset()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    secret_style: str = "auto"  # auto | file | env
    backup: bool = True
    env_example: str | None = None
    max_file_size: int = 10 * 1024 * 1024
    fix_python: bool = False
    source: str = field(default="", compare=False)

    def classify(self, name: str) -> NameClass:
        """A variable name's class with this configuration's extra words and names."""
        return classify_name(
            name,
            extra_secret_words=self.extra_secret_words,
            extra_allow_words=self.extra_allow_words,
            extra_secret_names=self.extra_secret_names,
            extra_setting_words=self.extra_setting_words,
            extra_key_qualifiers=self.extra_key_qualifiers,
        )


_KEYS = {
    "secret-words": "extra_secret_words",
    "allow-words": "extra_allow_words",
    "secret-names": "extra_secret_names",
    "setting-words": "extra_setting_words",
    "key-qualifiers": "extra_key_qualifiers",
    "include": "include",
    "exclude": "exclude",
    "secret-style": "secret_style",
    "backup": "backup",
    "env-example": "env_example",
    "max-file-size": "max_file_size",
    "fix-python": "fix_python",
}


def from_mapping(data: dict[str, Any], source: str) -> Config:
    kwargs: dict[str, Any] = {"source": source}
    for key, value in data.items():
        attr = _KEYS.get(key)
        if attr is None:
            raise ConfigError(f"{source}: unknown key {key!r} in migrate-secrets config "
                              f"(known: {', '.join(sorted(_KEYS))})")
        if attr.startswith("extra_"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: {key} must be a list of strings")
            kwargs[attr] = frozenset(value)
        elif attr in ("include", "exclude"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: {key} must be a list of glob strings")
            kwargs[attr] = tuple(value)
        elif attr == "secret_style":
            if value not in ("auto", "file", "env"):
                raise ConfigError(f"{source}: secret-style must be auto, file or env")
            kwargs[attr] = value
        elif attr in ("backup", "fix_python"):
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: {key} must be true or false")
            kwargs[attr] = value
        elif attr == "max_file_size":
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{source}: max-file-size must be a positive integer (bytes)")
            kwargs[attr] = value
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{source}: {key} must be a string")
            kwargs[attr] = value
    return Config(**kwargs)


def find_config(start: Path) -> Config:
    """The nearest ``.migrate-secrets.toml`` or ``pyproject.toml`` with our table, upward from ``start``."""
    try:
        here = start.resolve()
        if here.is_file():
            here = here.parent
    except (OSError, RuntimeError):  # a symlink loop: the discovery reports the file itself
        here = Path(os.path.abspath(start)).parent
    for d in (here, *here.parents):
        own = d / ".migrate-secrets.toml"
        if own.is_file():
            try:
                data = tomllib.loads(own.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise ConfigError(f"{own}: {e}") from None
            return from_mapping(data.get("tool", {}).get("migrate-secrets", data), str(own))
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                data = tomllib.loads(py.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise ConfigError(f"{py}: {e}") from None
            table = data.get("tool", {}).get("migrate-secrets")
            if table is not None:
                return from_mapping(table, str(py))
        if (d / ".git").exists():
            break
    return Config()


CONFIG_FIELDS = [f.name for f in fields(Config)]
