"""Deprecated: the fault tools moved to `cloudmap.testing`.

Import `FaultyStore`, `RandomFaults`, `Fault` and `Call` from `cloudmap.testing`
(or `cloudmap.testing.faults`); this module goes in the next release.
"""

from __future__ import annotations

import warnings

from cloudmap.testing.faults import (
    Call,
    Fault,
    FaultyStore,
    RandomFaults,
)

__all__ = [
    "Call",
    "Fault",
    "FaultyStore",
    "RandomFaults",
]

warnings.warn(
    "cloudmap.faults is deprecated and will be removed in the next release; "
    "import FaultyStore, RandomFaults, Fault and Call from cloudmap.testing instead",
    DeprecationWarning,
    stacklevel=2,
)
