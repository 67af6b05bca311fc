"""Fenced writes: a lease's token stored on the key it protects.

A fenced `modify` reads the key, refuses when the fence stored in its metadata
is above the lease's token, and writes the new value with the lease's token,
conditioned on the etag read: the check and the write are one atomic step on
the server (Kleppmann's fencing tokens, with the storage doing the check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenacity

from cloudmap.errors import CodecError, FencedError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cloudmap.lease import Lease
    from cloudmap.stores._protocol import Entry

__all__ = ["FENCE_METADATA_KEY", "fence_metadata", "refuse_fenced_retries"]

FENCE_METADATA_KEY = "cloudmap-fence"
"""The metadata name under which a fenced write stores its lease's token."""


def fence_metadata(
    key: str, entry: Entry | None, lease: Lease, store: str
) -> Mapping[str, str]:
    """The metadata a fenced write adds to `key`.

    Raises:
        FencedError: `entry` (the key as read) holds a fence above the lease's token.
        CodecError: the stored fence is not a number.
        ValueError: the lease was never acquired.
    """
    token = lease.token
    if token < 1:
        msg = f"lease {lease.name!r} was never acquired; it cannot fence {key!r}"
        raise ValueError(msg)
    stored = _stored_fence(key, entry, store)
    if stored > token:
        raise FencedError(
            key,
            token=token,
            fence=stored,
            actual_etag=None if entry is None else entry.etag,
            store=store,
        )
    return {FENCE_METADATA_KEY: str(token)}


def _stored_fence(key: str, entry: Entry | None, store: str) -> int:
    raw = "0" if entry is None else entry.metadata.get(FENCE_METADATA_KEY, "0")
    try:
        return int(raw)
    except ValueError as exc:
        msg = f"key {key!r} in {store} holds a fence that is not a number: {raw!r}"
        raise CodecError(msg) from exc


def refuse_fenced_retries(policy: tenacity.Retrying) -> tenacity.Retrying:
    """`policy`, except that a `FencedError` is raised at once, never retried."""
    return policy.copy(
        retry=policy.retry & tenacity.retry_if_not_exception_type(FencedError)
    )
