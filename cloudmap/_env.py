"""Option values as users write them: `$NAME` environment references and booleans."""

from __future__ import annotations

import os
import re

from cloudmap.errors import ConfigError

__all__ = ["expand_env", "parse_flag"]

# `$$` is a literal `$`; `$NAME` and `${NAME}` read the environment.
_EXPANSION = re.compile(r"\$(?:(\$)|\{(\w+)\}|(\w+))")


def expand_env(value: str, *, where: str) -> str:
    """Replace `$NAME` and `${NAME}` with environment variables, `$$` with `$`.

    Raises:
        ConfigError: a referenced variable is not set; the message names `where`.
    """

    def lookup(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        name = match.group(2) or match.group(3)
        found = os.environ.get(name)
        if found is None:
            msg = f"{where}: environment variable {name!r} is not set"
            raise ConfigError(msg)
        return found

    return _EXPANSION.sub(lookup, value)


def parse_flag(value: str, *, where: str, default: bool) -> bool:
    """Read a boolean option (true/false, 1/0, yes/no, on/off); empty is `default`.

    Raises:
        ConfigError: the value is not a boolean; the message names `where`.
    """
    lowered = value.strip().lower()
    if not lowered:
        return default
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{where}: {value!r} is not a boolean (true or false)")
