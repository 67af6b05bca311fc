"""Deprecated: the Store protocol now lives in `cloudmap.stores`."""

from __future__ import annotations

import warnings

from cloudmap.stores import _protocol
from cloudmap.stores._protocol import *  # noqa: F403 - the whole old surface

__all__ = _protocol.__all__

warnings.warn(
    "cloudmap.store is deprecated; import from cloudmap.stores instead",
    DeprecationWarning,
    stacklevel=2,
)
