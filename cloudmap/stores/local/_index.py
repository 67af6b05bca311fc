"""LocalStore's index: one SQLite file, key -> etag, metadata, file identity, digest.

Its write transactions (`BEGIN IMMEDIATE`) are the store's lock: a writer
checks the precondition, renames its temp file over the key and records the
new row inside one transaction, so no other writer, in this process or
another, can act between the check and the write. Readers never wait on
writers (WAL mode). Threads of one process queue on a `threading.Lock` first,
so that they never sleep in SQLite's busy handler.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import operator
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from cloudmap._per_process import PerProcess
from cloudmap.stores.local._identity import Found, Identity, matches

__all__ = ["Index", "Row"]

INDEX_NAME = "index.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    etag TEXT NOT NULL,
    metadata TEXT NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest BLOB
) WITHOUT ROWID
"""
# An index created before the digest column gets it; its rows have none (NULL).
_ADD_DIGEST = "ALTER TABLE objects ADD COLUMN digest BLOB"
_ROW_COLUMNS = "etag, metadata, ino, size, mtime_ns, ctime_ns"
# {}: the digest column; our own column names only.
_ROW_QUERY = f"SELECT {_ROW_COLUMNS}, {{}} FROM objects WHERE key = ?"  # noqa: S608
_INSERT = (
    "INSERT OR REPLACE INTO objects"
    " (key, etag, metadata, ino, size, mtime_ns, ctime_ns, digest)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_EMPTY: Mapping[str, str] = MappingProxyType({})
_FOUND = operator.itemgetter(0, 1, 2, 3, 4)
_ETAG = operator.itemgetter(5)
# Writers in one process, per index file: (st_dev, st_ino) -> lock.
_PROCESS_LOCKS: PerProcess[tuple[int, int], threading.Lock] = PerProcess(
    lambda _: threading.Lock()
)


class Row:
    """One key's record: etag, metadata (JSON), its file's identity and digest."""

    __slots__ = ("digest", "etag", "ident", "metadata_json")

    def __init__(
        self,
        etag: str,
        metadata_json: str,
        ident: Sequence[int],
        digest: bytes | None = None,
    ) -> None:
        self.etag = etag
        self.metadata_json = metadata_json
        self.ident = tuple(ident)
        self.digest = digest

    def matches(self, ident: Identity) -> bool:
        """Whether the file still is the one this row describes."""
        return matches(self.ident, ident)

    def times_moved(self, ident: Identity) -> bool:
        """Whether the file may be this row's with only its times changed.

        Same inode and size (a chmod, chown or new hard link moves the ctime):
        then comparing the file's digest with the row's tells.
        """
        return self.digest is not None and self.ident[:2] == ident[:2]

    def moved(self, ident: Identity) -> Row:
        """This row, describing the same bytes under the file's new identity."""
        return Row(self.etag, self.metadata_json, ident, self.digest)

    def metadata(self) -> Mapping[str, str]:
        """The user metadata, read-only."""
        return _metadata(self.metadata_json)


@functools.lru_cache(maxsize=256)
def _metadata(text: str) -> Mapping[str, str]:
    # Rows repeat a few metadata texts (the codec tag): parse each once.
    return _EMPTY if text == "{}" else MappingProxyType(json.loads(text))


class Index:
    """The SQLite index of one LocalStore folder."""

    def __init__(self, path: str, *, read_only: bool, key: tuple[int, int]) -> None:
        self._path = path
        self._read_only = read_only
        self._lock = threading.Lock()
        self._lock_pid = os.getpid()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None
        self._key = key
        self._digest = "digest"  # "NULL" on a read-only index without the column
        self._row_query = _ROW_QUERY.format(self._digest)
        if not read_only:
            # Openers of a new folder set it up one at a time, threads and
            # processes alike: SQLite refuses a switch to WAL at once, without
            # waiting, while another process's connection holds the file.
            with _process_lock(key), _folder_lock(path), self._connection() as conn:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                if not _has_digest(conn):
                    _add_digest(conn)

    def _connect(self) -> sqlite3.Connection:
        if self._read_only:
            uri = f"file:{quote(self._path)}?mode=ro"
            conn = _connect(uri, uri=True)
            try:
                conn.execute("SELECT 1 FROM objects LIMIT 1").fetchall()
            except sqlite3.OperationalError:
                # A WAL index whose -shm file is gone (no writer has it open)
                # cannot be opened without write access to the folder; then
                # no writer is active and the file can be read as it is.
                conn.close()
                uri = f"file:{quote(self._path)}?immutable=1"
                conn = _connect(uri, uri=True)
            if not _has_digest(conn):
                # An index written before the digest column, read as it is.
                self._digest = "NULL"
                self._row_query = _ROW_QUERY.format(self._digest)
        else:
            conn = _connect(self._path, uri=False)
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _conn_lock(self) -> threading.Lock:
        """The lock that serialises this process's use of the connection."""
        if self._lock_pid != os.getpid():
            # After a fork another thread may have held it: the child starts afresh.
            self._lock = threading.Lock()
            self._lock_pid = os.getpid()
        return self._lock

    def _live(self) -> sqlite3.Connection:
        """This process's connection; call with `_conn_lock()` held."""
        if self._conn is None or self._pid != os.getpid():
            # A connection must not cross a fork; the parent's is left alone.
            self._conn = self._connect()
            self._pid = os.getpid()
        return self._conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._conn_lock():
            yield self._live()

    def get(self, key: str) -> Row | None:
        """The row of `key`, or None."""
        with self._conn_lock():
            conn = self._live()  # sets the query on a read-only index
            found = conn.execute(self._row_query, (key,)).fetchone()
        return _row(found)

    def known(self, prefix: str) -> dict[Found, str]:
        """Etag of every (key, *identity) recorded under `prefix`, for a listing."""
        found = self._select("key, ino, size, mtime_ns, ctime_ns, etag", prefix)
        # Built without a Python loop: a listing's cost is per key.
        return dict(zip(map(_FOUND, found), map(_ETAG, found), strict=True))

    def rows(self, prefix: str) -> dict[str, Row]:
        """The row of every key starting with `prefix`."""
        columns = f"key, {_ROW_COLUMNS}, {self._digest}"
        found = self._select(columns, prefix)
        return {row[0]: Row(row[1], row[2], row[3:7], row[7]) for row in found}

    def _select(self, columns: str, prefix: str) -> list[tuple[Any, ...]]:
        """`columns` of every row whose key starts with `prefix`."""
        query = f"SELECT {columns} FROM objects"  # noqa: S608 - our own column names
        args: tuple[object, ...] = ()
        if prefix:
            query += " WHERE key >= ? AND substr(key, 1, ?) = ?"
            args = (prefix, len(prefix), prefix)
        with self._conn_lock():
            return self._live().execute(query, args).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction: the store's lock across threads and processes."""
        lock = _process_lock(self._key)
        with lock, self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connection."""
        with self._conn_lock():
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._pid = -1


class Transaction:
    """Reads and writes inside one `BEGIN IMMEDIATE` transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, key: str) -> Row | None:
        """The row of `key`, or None."""
        return _row(self._conn.execute(_ROW_QUERY.format("digest"), (key,)).fetchone())

    def put(self, key: str, row: Row) -> None:
        """Record `row` for `key`."""
        self.put_many([(key, row)])

    def put_many(self, rows: Iterable[tuple[str, Row]]) -> None:
        """Record many rows at once."""
        self._conn.executemany(
            _INSERT,
            (
                (key, row.etag, row.metadata_json, *row.ident, row.digest)
                for key, row in rows
            ),
        )

    def delete(self, key: str) -> None:
        """Forget `key`."""
        self._conn.execute("DELETE FROM objects WHERE key = ?", (key,))


def _row(found: tuple[Any, ...] | None) -> Row | None:
    return None if found is None else Row(found[0], found[1], found[2:6], found[6])


def _has_digest(conn: sqlite3.Connection) -> bool:
    columns = conn.execute("PRAGMA table_info(objects)").fetchall()
    return any(column[1] == "digest" for column in columns)


def _add_digest(conn: sqlite3.Connection) -> None:
    # Checked again under the write lock: another process may be adding it too.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _has_digest(conn):
            conn.execute(_ADD_DIGEST)
    finally:
        conn.execute("COMMIT")


def _connect(target: str, *, uri: bool) -> sqlite3.Connection:
    # One connection serves every thread, one at a time (under _conn_lock()).
    return sqlite3.connect(
        target, timeout=60, isolation_level=None, uri=uri, check_same_thread=False
    )


def _process_lock(key: tuple[int, int]) -> threading.Lock:
    return _PROCESS_LOCKS.get(key)


@contextlib.contextmanager
def _folder_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the index's folder, across processes.

    The folder, not the index file: closing any other descriptor of the index
    would drop the POSIX locks SQLite holds on it.
    """
    fd = os.open(Path(path).parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
