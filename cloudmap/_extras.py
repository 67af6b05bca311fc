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


def require(
    module: str, *, extra: str, purpose: str, package: str | None = None
) -> ModuleType:
    """Import `module`, or raise `MissingDependencyError` naming `extra`.

    `package` is the distribution to name when it differs from the top-level
    module (`azure-storage-blob` for `azure.storage.blob`).

    `purpose` names what needs it, e.g. "S3Store (s3:// targets)".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = package or module.partition(".")[0]
        msg = (
            f"{purpose} needs the {package!r} package: {install_hint(extra)} "
            f"(the {extra!r} extra)"
        )
        raise MissingDependencyError(msg) from exc
