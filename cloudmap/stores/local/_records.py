"""Which record describes a key's file: the index's row, recognised again, or derived.

A file whose identity is its row's is that row's value. One whose times alone
moved (a chmod, chown or new hard link changes the ctime) is hashed: the same
bytes keep their row, etag and metadata. Any other file (another tool wrote
it, or a writer crashed between its rename and its commit) gets an etag
derived from its identity, recorded by a writable store, so torn bytes never
show under an old etag. Rows seen to match are remembered, so that reading an
unchanged file skips the index.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType

from cloudmap.errors import ReadOnlyError
from cloudmap.stores.local._identity import (
    Identity,
    derived_etag,
    file_digest,
    identity,
)
from cloudmap.stores.local._index import Index, Row, Transaction
from cloudmap.stores.local._legacy import StaticIndex
from cloudmap.stores.local._tree import Tree

__all__ = ["Opened", "Records", "Seen"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_SEEN_LIMIT = 65_536

Seen = dict[str, tuple[tuple[int, ...], str, Mapping[str, str]]]
"""Key -> the identity, etag and metadata of the file last seen to match its row."""
Opened = tuple[int, int, str, Mapping[str, str]]
"""A key's open file: descriptor, size, etag and metadata."""


class Records:
    """The rows of one opened store folder, matched against its files."""

    def __init__(
        self,
        tree: Tree,
        index: Index | StaticIndex,
        *,
        seen: Seen,
        read_only: bool,
        store: str,
    ) -> None:
        self.tree = tree
        self.index = index
        self.read_only = read_only
        self._seen = seen
        self.name = store

    def writable(self, key: str) -> Index:
        """The index, to write `key` through.

        Raises:
            ReadOnlyError: the store was opened read-only.
        """
        if self.read_only or not isinstance(self.index, Index):
            msg = f"cannot write key {key!r}: {self.name} was opened read-only"
            raise ReadOnlyError(msg)
        return self.index

    def etag(
        self, tx: Transaction, key: str, stat: os.stat_result | None
    ) -> str | None:
        """The etag of the key's file (`stat`); recorded if the index lacked it."""
        if stat is None:
            return None
        row, changed = self.recorded(tx, key, identity(stat))
        if changed:
            tx.put(key, row)
        return row.etag

    def recorded(
        self, tx: Transaction, key: str, ident: Identity, fd: int | None = None
    ) -> tuple[Row, bool]:
        """The row describing the key's file, and whether the index must record it."""
        row = tx.get(key)
        found = self.describing(key, row, ident, fd)
        if found is None:
            found = Row(derived_etag(ident), "{}", ident)
        return found, found is not row

    def describing(
        self, key: str, row: Row | None, ident: Identity, fd: int | None = None
    ) -> Row | None:
        """`row` if it describes the key's file (`fd` if open), else None.

        A file whose times alone moved (a chmod, chown or new hard link moves
        the ctime) is hashed: the same bytes keep the row, under the new identity.
        """
        if row is None or row.matches(ident):
            return row
        if not row.times_moved(ident):
            return None
        if fd is not None:
            return row.moved(ident) if file_digest(fd) == row.digest else None
        opened = self.tree.open_key(key.split("/"))
        if opened is None:
            return None
        fd, stat = opened
        try:
            same = identity(stat) == ident and file_digest(fd) == row.digest
        finally:
            os.close(fd)
        return row.moved(ident) if same else None

    def open_value(self, key: str, segments: list[str]) -> Opened | None:
        """Open the key's file; return it with its size, etag and metadata."""
        opened = self.tree.open_key(segments)
        if opened is None:
            return None
        fd, stat = opened
        ident = identity(stat)
        seen = self._seen.get(key)
        if seen is not None and seen[0] == ident:
            return fd, stat.st_size, seen[1], seen[2]
        row = self.index.get(key)
        if row is not None and row.matches(ident):
            self.remember(key, row)
            return fd, stat.st_size, row.etag, row.metadata()
        if self.read_only:
            return self._unrecorded(key, row, fd, stat)
        os.close(fd)
        # Written by another tool, or a writer is between its rename and its
        # commit: look again under the lock, and record what the file is.
        with self.writable(key).transaction() as tx:
            opened = self.tree.open_key(segments)
            if opened is None:
                return None
            fd, stat = opened
            try:
                row, changed = self.recorded(tx, key, identity(stat), fd)
            except BaseException:
                os.close(fd)
                raise
            if changed:
                tx.put(key, row)
            self.remember(key, row)
            return fd, stat.st_size, row.etag, row.metadata()

    def _unrecorded(
        self, key: str, row: Row | None, fd: int, stat: os.stat_result
    ) -> Opened:
        """A read-only store's view of a file its row does not match."""
        ident = identity(stat)
        try:
            # Only the file's times may have moved; this store cannot record it.
            found = self.describing(key, row, ident, fd)
        except BaseException:
            os.close(fd)
            raise
        if found is None:
            return fd, stat.st_size, derived_etag(ident), _EMPTY
        self.remember(key, found)
        return fd, stat.st_size, found.etag, found.metadata()

    def remember(self, key: str, row: Row) -> None:
        """Keep a row whose file was seen, to skip the index on its next read.

        Safe without checking the index: a file identity, once recorded with
        an etag, is never recorded with another (every write makes a new file).
        """
        if row.ident[3] == -1:
            return  # a row of the old layout: it matches on less than a whole identity
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[key] = (row.ident, row.etag, row.metadata())

    def forget(self, key: str) -> None:
        """Drop what was remembered of a deleted key."""
        self._seen.pop(key, None)
