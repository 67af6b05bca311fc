"""Import an optional dependency, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, *, extra: str, codec: str) -> ModuleType:
    """Import `module` for `codec`, or raise ImportError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        msg = f"{codec} needs the {top!r} package: pip install 'cloudmap[{extra}]'"
        raise ImportError(msg, name=top) from exc
