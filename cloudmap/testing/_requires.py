"""The test tools' own dependencies, each missing one named with its extra."""

from __future__ import annotations

import importlib

from cloudmap._extras import install_hint


def require(module: str, *, needed_by: str) -> None:
    """Import `module`, or raise an ImportError naming the `dev` extra.

    Raises:
        ImportError: `module` cannot be imported; the message says what to install.
    """
    try:
        importlib.import_module(module)
    except ImportError as exc:
        msg = (
            f"{needed_by} needs {module}: {install_hint('dev')} or pip install {module}"
        )
        raise ImportError(msg, name=module) from exc
