"""cloudmap's own objects in a store: lock objects and verify's scratch keys.

They share the store with user data but are never user data: mappings,
`changes()`, copies, syncs and rekey leave them out, so that a sync never
deletes a live lock (resetting its fencing tokens) and a listing never counts
another process's verify probe.
"""

from __future__ import annotations

__all__ = ["LOCK_PREFIX", "VERIFY_PREFIX", "hidden", "reserved"]

LOCK_PREFIX = ".cloudmap-locks/"
"""Where lock objects live, at the root of the store (outside any key prefix)."""

VERIFY_PREFIX = ".cloudmap-verify/"
"""The folder, inside the verified key prefix, that holds verify's scratch keys."""


def reserved(key: str) -> bool:
    """Whether the store key (or key prefix) `key` is one of cloudmap's own objects."""
    return key.startswith(LOCK_PREFIX) or f"/{VERIFY_PREFIX}" in f"/{key}"


def hidden(full_key: str, key_prefix: str) -> bool:
    """Whether a mapping's listing through `key_prefix` leaves out `full_key`.

    cloudmap's own objects are left out, unless the mapping looks inside
    their folder on purpose (its `key_prefix` is itself reserved).
    """
    return reserved(full_key) and not reserved(key_prefix)
