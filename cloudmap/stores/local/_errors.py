"""The one place LocalStore maps failures: file system and index errors to cloudmap's.

Nothing a LocalStore does fails transiently, so none of these is retried.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator

from cloudmap.errors import AccessDeniedError, StoreError
from cloudmap.stores.local._tree import SymlinkError

__all__ = ["FAILURES", "local_error", "mapped_errors"]

FAILURES = (OSError, sqlite3.Error, SymlinkError)
"""What the file system, the index and the tree raise, before mapping."""


def local_error(
    exc: OSError | sqlite3.Error | SymlinkError, key: str | None, store: str
) -> Exception:
    """The cloudmap error for `exc`, naming the key (if any) and the store."""
    what = f"key {key!r} in {store}" if key is not None else store
    if isinstance(exc, SymlinkError):
        return SymlinkError(f"{what}: {exc}")
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and exc.errno == errno.EROFS
    ):
        msg = f"permission denied on {what}: {exc.strerror}"
        return AccessDeniedError(msg, key=key, store=store)
    if isinstance(exc, OSError):
        msg = f"file system error on {what}: {exc.strerror or exc}"
        return StoreError(msg, key=key, store=store)
    if "readonly" in str(exc):  # SQLITE_READONLY: no write permission on the index
        msg = f"permission denied on {what}: the index is read-only ({exc})"
        return AccessDeniedError(msg, key=key, store=store)
    return StoreError(f"index error on {what}: {exc}", key=key, store=store)


@contextlib.contextmanager
def mapped_errors(key: str | None, store: str) -> Iterator[None]:
    """Turn file system and index errors into cloudmap errors, naming the key."""
    try:
        yield
    except FAILURES as exc:
        raise local_error(exc, key, store) from exc
