"""How LocalStore recognises a file: its identity (stat) and the digest of its bytes.

The index records both for every key it describes. A file whose identity is
the recorded one is that key's value; one whose times alone moved is hashed
and compared with the digest; any other file gets an etag derived from its
identity, as files written by other tools do.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

__all__ = [
    "Found",
    "Identity",
    "derived_etag",
    "digest",
    "file_digest",
    "identity",
    "matches",
]

Identity = tuple[int, int, int, int]
"""A file's inode, size, mtime and ctime (ns): the ctime cannot be set by users."""
Found = tuple[str, int, int, int, int]
"""A listed file: its key, then its identity, flat, to be looked up as one tuple."""


def identity(stat: os.stat_result) -> Identity:
    """The identity of a file, as recorded in the index."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def matches(recorded: Sequence[int], ident: Identity) -> bool:
    """Whether a file's identity is the one recorded for it."""
    # A row read from the old layout has no ctime (-1): it compares on the rest.
    return recorded == ident or (recorded[3] == -1 and recorded[:3] == ident[:3])


def derived_etag(ident: Identity) -> str:
    """The etag of a file the index does not describe (another tool wrote it)."""
    return '"stat-{}-{}-{}-{}"'.format(*ident)


def digest(data: bytes) -> bytes:
    """The digest of a value's bytes, kept in the index to recognise them."""
    return hashlib.blake2b(data, digest_size=16).digest()


def file_digest(fd: int) -> bytes:
    """The digest of an open file's bytes (its offset is left alone)."""
    hasher = hashlib.blake2b(digest_size=16)
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        hasher.update(chunk)
        offset += len(chunk)
    return hasher.digest()
