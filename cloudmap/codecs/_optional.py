"""Import an optional dependency of a codec, or say which extra installs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmap._extras import require as _require

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["require"]


def require(module: str, *, extra: str, codec: str) -> ModuleType:
    """Import `module` for `codec`, or raise ImportError naming the extra to install.

    The error is a `MissingDependencyError`: an `ImportError` and a `ConfigError`.
    """
    return _require(module, extra=extra, purpose=codec)
