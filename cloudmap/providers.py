"""Deprecated: the provider mappings moved to `cloudmap.mappings`.

`from cloudmap import AWSS3Mapping` (or `from cloudmap.mappings import ...`)
works in this release and the next; this module goes after that.
"""

from __future__ import annotations

import warnings

from cloudmap.mappings import (
    AWSS3Mapping,
    AzureBlobMapping,
    GoogleCloudStorageMapping,
    LocalMapping,
)

__all__ = [
    "AWSS3Mapping",
    "AzureBlobMapping",
    "GoogleCloudStorageMapping",
    "LocalMapping",
]

warnings.warn(
    "cloudmap.providers is deprecated: import the mappings from cloudmap "
    "(or cloudmap.mappings)",
    DeprecationWarning,
    stacklevel=2,
)
