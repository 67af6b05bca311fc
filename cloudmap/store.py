"""Deprecated: the Store protocol now lives in `cloudmap.stores`."""

from __future__ import annotations

import warnings

from cloudmap.stores._protocol import (
    MAX_KEY_BYTES,
    Entry,
    ListedKey,
    PutMode,
    Replace,
    Store,
    check_mode,
    check_precondition,
    folder_prefix,
    validate_key,
)

__all__ = [
    "MAX_KEY_BYTES",
    "Entry",
    "ListedKey",
    "PutMode",
    "Replace",
    "Store",
    "check_mode",
    "check_precondition",
    "folder_prefix",
    "validate_key",
]

warnings.warn(
    "cloudmap.store is deprecated; import from cloudmap.stores instead",
    DeprecationWarning,
    stacklevel=2,
)
