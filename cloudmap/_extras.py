"""Optional dependencies: import one when it is needed, or name the extra to install."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cloudmap.errors import MissingDependencyError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["DISTRIBUTION", "install_hint", "require"]

DISTRIBUTION = "cloudmap-dict"
"""The name on PyPI; the import package and the command are `cloudmap`."""


def install_hint(extra: str) -> str:
    """The pip command that installs `extra`, quoted for any shell."""
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise `MissingDependencyError` naming `extra`.

    `purpose` says what needs it, e.g. "s3:// targets and S3Store".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"{purpose} need the {extra!r} extra: {install_hint(extra)} ({exc})"
        raise MissingDependencyError(msg) from exc
