"""LocalStore: a directory on disk, safe across threads and processes on one machine.

Layout under `root` (see docs/providers/local.md):

- `root/<key>`: the value's bytes, verbatim, so other tools can read them
  (a key with `/` becomes folders);
- `root/.cloudmap/index.sqlite3`: one SQLite index (WAL) mapping each key to its
  etag, metadata, the identity (inode, size, mtime, ctime) of the file they
  describe and a digest of its bytes; its write transactions are the store's lock;
- `root/.cloudmap/tmp/`: files being written, each locked by its writer.

A write goes to a temp file (fsynced), then, inside one index transaction,
the precondition is checked, the file is renamed over the key and its row
recorded. A crash between the rename and the commit leaves the new bytes with
a row that no longer matches them: the key then gets an etag derived from the
file's identity, as files written by other tools do, and never shows torn bytes.
A file whose times alone moved (a chmod, chown or new hard link changes the
ctime) is hashed again: the same bytes keep their row, etag and metadata.
"""

from __future__ import annotations

import contextlib
import errno
import json
import operator
import os
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    EtagMismatchError,
    NotSupportedError,
    ReadOnlyError,
    StoreError,
)
from cloudmap.stores._local_group import GroupCommit, Write
from cloudmap.stores._local_index import Index, Row, Transaction
from cloudmap.stores._local_layout import open_layout
from cloudmap.stores._local_tree import (
    Folders,
    Identity,
    SymlinkError,
    derived_etag,
    digest,
    file_digest,
    identity,
    is_dir,
    key_problem,
    read_all,
    skip_key,
)
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    check_mode,
    check_precondition,
    replace_or_overwrite,
    validate_key,
)

__all__ = ["LocalStore"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_FAILURES = (OSError, sqlite3.Error, SymlinkError)
# Aliases: inside LocalStore, `list` names the method.
_Keys = list[str]
_KEY = operator.itemgetter(0)
_SEEN_LIMIT = 65_536


class LocalStore:
    """A directory on disk; the embedded default store.

    Args:
        root: the directory; created (with parents) when missing unless
            `create=False` or `read_only=True`.
        create: create `root` if it does not exist.
        fsync: flush every value to disk before it becomes visible.
        read_only: only read: nothing is created or changed under `root`, and
            read permission is enough; writes raise `ReadOnlyError`.

    POSIX only: it relies on `flock` and `O_NOFOLLOW`.
    """

    never_transient = True
    """No call can fail transiently, so a mapping runs it without a retry policy."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        create: bool = True,
        fsync: bool = True,
        read_only: bool = False,
    ) -> None:
        path = Path(root).expanduser()
        self._fsync = fsync
        self._read_only = read_only
        self._warned: set[str] = set()
        self._seen: dict[str, tuple[tuple[int, ...], str, Mapping[str, str]]] = {}
        self._root = path
        self._group = GroupCommit()
        with self._errors(None):
            self._open(path, create=create and not read_only)

    def _open(self, path: Path, *, create: bool) -> None:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            msg = f"directory {str(path)!r} does not exist (pass create=True)"
            raise ContainerNotFoundError(msg, store=f"file://{path}")
        self._root = path.resolve()
        self._reopen_lock = threading.Lock()
        self._layout()

    def _layout(self) -> None:
        layout = open_layout(self._root, read_only=self._read_only)
        self._tree, self._index = layout.tree, layout.index
        self._finalizer = weakref.finalize(self, layout.close)
        self._closed = False

    def _reopen(self) -> None:
        """Open the folder again after `close()`: a closed store stays usable."""
        with self._reopen_lock, self._errors(None):
            if self._closed:
                self._layout()

    @property
    def root(self) -> Path:
        """The directory holding the values."""
        return self._root

    @property
    def name(self) -> str:
        """`file://` followed by the absolute root directory."""
        return f"file://{self._root}"

    @property
    def read_only(self) -> bool:
        """Whether the store was opened to read only."""
        return self._read_only

    def __reduce__(self) -> tuple[object, tuple[str, bool, bool]]:
        # Pickled (for another process) as its arguments: the copy opens the folder.
        return (_reopen, (str(self._root), self._fsync, self._read_only))

    def __repr__(self) -> str:
        mode = ", read_only=True" if self._read_only else ""
        return f"LocalStore({str(self._root)!r}{mode})"

    # -- helpers -------------------------------------------------------------

    def _segments(self, key: str) -> list[str]:
        if self._closed:
            self._reopen()
        validate_key(key)
        problem = key_problem(key)
        if problem is not None:
            msg = f"key {key!r} cannot be stored in {self.name}: it {problem}"
            raise ValueError(msg)
        return key.split("/")

    @contextlib.contextmanager
    def _errors(self, key: str | None) -> Iterator[None]:
        """Turn file system and index errors into StoreErrors, naming the key."""
        try:
            yield
        except _FAILURES as exc:
            raise self._error(exc, key) from exc

    def _error(
        self, exc: OSError | sqlite3.Error | SymlinkError, key: str | None
    ) -> Exception:
        what = f"key {key!r} in {self.name}" if key is not None else self.name
        if isinstance(exc, SymlinkError):
            return SymlinkError(f"{what}: {exc}")
        if isinstance(exc, PermissionError) or (
            isinstance(exc, OSError) and exc.errno == errno.EROFS
        ):
            msg = f"permission denied on {what}: {exc.strerror}"
            return AccessDeniedError(msg, key=key, store=self.name)
        if isinstance(exc, OSError):
            msg = f"file system error on {what}: {exc.strerror or exc}"
            return StoreError(msg, key=key, store=self.name)
        if "readonly" in str(exc):  # SQLITE_READONLY: no write permission on the index
            msg = f"permission denied on {what}: the index is read-only ({exc})"
            return AccessDeniedError(msg, key=key, store=self.name)
        return StoreError(f"index error on {what}: {exc}", key=key, store=self.name)

    def _folders(self, segments: list[str], *, create: bool = False) -> Folders | None:
        try:
            return self._tree.folders(segments, create=create)
        except NotSupportedError:
            if create:
                raise
            return None  # a folder on the way is a file: the key is missing

    def _writable(self, key: str) -> Index:
        if self._read_only or not isinstance(self._index, Index):
            msg = f"cannot write key {key!r}: {self.name} was opened read-only"
            raise ReadOnlyError(msg)
        return self._index

    def _etag(
        self, tx: Transaction, key: str, stat: os.stat_result | None
    ) -> str | None:
        if stat is None:
            return None
        row, changed = self._recorded(tx, key, identity(stat))
        if changed:
            tx.put(key, row)
        return row.etag

    def _recorded(
        self, tx: Transaction, key: str, ident: Identity, fd: int | None = None
    ) -> tuple[Row, bool]:
        """The row describing the key's file, and whether the index must record it."""
        row = tx.get(key)
        found = self._describing(key, row, ident, fd)
        if found is None:
            found = Row(derived_etag(ident), "{}", ident)
        return found, found is not row

    def _describing(
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
        opened = self._open_file(key.split("/"))
        if opened is None:
            return None
        fd, stat = opened
        try:
            same = identity(stat) == ident and file_digest(fd) == row.digest
        finally:
            os.close(fd)
        return row.moved(ident) if same else None

    # -- reading -------------------------------------------------------------

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`; see `cloudmap.stores.Store.get`."""
        segments = self._segments(key)
        try:
            found = self._open_value(key, segments)
        except _FAILURES as exc:
            raise self._error(exc, key) from exc
        if found is None:
            if if_match is not None:
                raise EtagMismatchError(
                    key, expected_etag=if_match, actual_etag=None, store=self.name
                )
            return None
        fd, size, etag, metadata = found
        try:
            if if_match is not None and etag != if_match:
                raise EtagMismatchError(
                    key, expected_etag=if_match, actual_etag=etag, store=self.name
                )
            if if_none_match is not None and etag == if_none_match:
                return Entry(b"", etag, metadata, not_modified=True)
            return Entry(read_all(fd, size), etag, metadata)
        except OSError as exc:
            raise self._error(exc, key) from exc
        finally:
            os.close(fd)

    def _open_value(
        self, key: str, segments: list[str]
    ) -> tuple[int, int, str, Mapping[str, str]] | None:
        """Open the key's file; return it with its size, etag and metadata."""
        opened = self._open_file(segments)
        if opened is None:
            return None
        fd, stat = opened
        ident = identity(stat)
        seen = self._seen.get(key)
        if seen is not None and seen[0] == ident:
            return fd, stat.st_size, seen[1], seen[2]
        row = self._index.get(key)
        if row is not None and row.matches(ident):
            self._remember(key, row)
            return fd, stat.st_size, row.etag, row.metadata()
        if self._read_only:
            return self._unrecorded(key, row, fd, stat)
        os.close(fd)
        # Written by another tool, or a writer is between its rename and its
        # commit: look again under the lock, and record what the file is.
        with self._writable(key).transaction() as tx:
            opened = self._open_file(segments)
            if opened is None:
                return None
            fd, stat = opened
            try:
                row, changed = self._recorded(tx, key, identity(stat), fd)
            except BaseException:
                os.close(fd)
                raise
            if changed:
                tx.put(key, row)
            self._remember(key, row)
            return fd, stat.st_size, row.etag, row.metadata()

    def _unrecorded(
        self, key: str, row: Row | None, fd: int, stat: os.stat_result
    ) -> tuple[int, int, str, Mapping[str, str]]:
        """A read-only store's view of a file its row does not match."""
        ident = identity(stat)
        try:
            # Only the file's times may have moved; this store cannot record it.
            found = self._describing(key, row, ident, fd)
        except BaseException:
            os.close(fd)
            raise
        if found is None:
            return fd, stat.st_size, derived_etag(ident), _EMPTY
        self._remember(key, found)
        return fd, stat.st_size, found.etag, found.metadata()

    def _remember(self, key: str, row: Row) -> None:
        """Keep a row whose file was seen, to skip the index on its next read.

        Safe without checking the index: a file identity, once recorded with
        an etag, is never recorded with another (every write makes a new file).
        """
        if row.ident[3] == -1:
            return  # a row of the old layout: it matches on less than a whole identity
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[key] = (row.ident, row.etag, row.metadata())

    def _open_file(self, segments: list[str]) -> tuple[int, os.stat_result] | None:
        if len(segments) == 1:
            return self._tree.open_file(self._tree.root_fd, segments[0])
        folders = self._folders(segments)
        if folders is None:
            return None
        try:
            return self._tree.open_file(folders.parent, segments[-1])
        finally:
            folders.close()

    # -- writing -------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key`; see `cloudmap.stores.Store.put`."""
        segments = self._segments(key)
        check_mode(mode, store=self.name)
        index = self._writable(key)
        etag = f'"{uuid.uuid4().hex}"'
        record = json.dumps(dict(metadata)) if metadata else "{}"
        with self._errors(key):
            # The value is written and fsynced before the lock is taken, so
            # writers only serialise on the short commit.
            fd, name = self._tree.temp_file(bytes(data), fsync=self._fsync)
            write = Write(
                key,
                segments,
                fd,
                name,
                etag=etag,
                record=record,
                digest=digest(data),
                mode=mode,
            )
            try:
                self._group.commit(
                    write, lambda batch: self._commit_batch(index, batch)
                )
            finally:
                if write.row is not None:
                    os.close(fd)  # releases the lock; the file is the key now
                else:
                    self._tree.discard(fd, name)
            if write.error is not None:
                raise write.error
            self._remember(key, write.row)  # type: ignore[arg-type]
        return etag

    def _commit_batch(self, index: Index, batch: list[Write]) -> None:
        """Commit writes in one index transaction, each on its own precondition."""
        with index.transaction() as tx:
            for write in batch:
                try:
                    self._commit(
                        tx,
                        write.key,
                        write.segments,
                        write.name,
                        mode=write.mode,
                    )
                except Exception as exc:  # noqa: BLE001 - this key's outcome alone
                    write.error = exc  # nothing was renamed
                    continue
                ident = identity(os.fstat(write.fd))
                row = Row(write.etag, write.record, ident, write.digest)
                tx.put(write.key, row)
                write.row = row

    def _commit(
        self,
        tx: Transaction,
        key: str,
        segments: list[str],
        name: str,
        *,
        mode: PutMode,
    ) -> None:
        """Check the precondition and rename the temp file over the key."""
        folders = self._folders(segments)
        try:
            stat = self._tree.lstat(folders.parent, segments[-1]) if folders else None
            current = self._etag(tx, key, stat)
            check_precondition(
                key,
                current,
                mode=mode,
                store=self.name,
            )
            if folders is None:
                try:
                    folders = self._folders(segments, create=True)
                except NotSupportedError as exc:
                    msg = (
                        f"key {key!r} cannot be stored in {self.name}: one of its "
                        "folders is already a key (a file and a folder cannot share "
                        "a path)"
                    )
                    raise NotSupportedError(msg) from exc
                assert folders is not None  # noqa: S101 - created
            elif stat is None and is_dir(folders.parent, segments[-1]):
                msg = (
                    f"key {key!r} cannot be stored in {self.name}: a folder of that "
                    "name holds other keys (a file and a folder cannot share a path)"
                )
                raise NotSupportedError(msg)
            os.replace(
                name,
                segments[-1],
                src_dir_fd=self._tree.tmp_fd,
                dst_dir_fd=folders.parent,
            )
        finally:
            if folders is not None:
                folders.close()

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; see `cloudmap.stores.Store.delete`."""
        segments = self._segments(key)
        index = self._writable(key)
        with self._errors(key), index.transaction() as tx:
            folders = self._folders(segments)
            try:
                stat = (
                    self._tree.lstat(folders.parent, segments[-1]) if folders else None
                )
                check_precondition(
                    key,
                    self._etag(tx, key, stat),
                    mode=replace_or_overwrite(if_match),
                    store=self.name,
                )
                if folders is None or stat is None:
                    return
                os.unlink(segments[-1], dir_fd=folders.parent)
                tx.delete(key)
                self._seen.pop(key, None)
                self._tree.prune(folders, segments)
            finally:
                if folders is not None:
                    folders.close()

    # -- listing -------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix`, in sorted order."""
        for key, etag in self.list_etags(prefix).items():
            yield ListedKey(key, etag)

    def list_etags(self, prefix: str = "") -> dict[str, str]:
        """Every key starting with `prefix` and its etag, in sorted order.

        What `list` yields, as one dict: a mapping's full sync takes it whole.
        """
        if self._closed:
            self._reopen()
        with self._errors(None):
            found = self._tree.walk(prefix, self._warned)
            known = self._index.known(prefix)
            try:
                # The common case, without a Python loop: every file is recorded.
                return dict(
                    zip(map(_KEY, found), map(known.__getitem__, found), strict=True)
                )
            except KeyError:
                pass
            rows = self._index.rows(prefix)
            listed: dict[str, str | None] = {}
            unknown: _Keys = []
            for item in found:
                key, ident = item[0], item[1:]
                etag = known.get(item)
                if etag is None and skip_key(key, self._warned):
                    continue  # its name is no valid key
                row = rows.get(key) if etag is None else None
                if row is not None and row.matches(ident):
                    etag = row.etag  # a row of the old layout
                elif etag is None and self._read_only:
                    row = self._describing(key, row, ident)
                    etag = derived_etag(ident) if row is None else row.etag
                elif etag is None:
                    unknown.append(key)  # another tool's file, or a write committing
                listed[key] = etag
            resolved = self._resolve(unknown) if unknown else {}
        return {
            key: resolved[key] if etag is None else etag
            for key, etag in listed.items()
            if etag is not None or key in resolved
        }

    def _resolve(self, keys: _Keys) -> dict[str, str]:
        """Etags of files the index does not describe, recorded in one transaction."""
        resolved: dict[str, str] = {}
        with self._writable(keys[0]).transaction() as tx:
            adopted: list[tuple[str, Row]] = []
            for key in keys:
                stat = self._tree.lstat_key(key.split("/"))
                if stat is None:
                    continue
                row, changed = self._recorded(tx, key, identity(stat))
                if changed:
                    adopted.append((key, row))
                resolved[key] = row.etag
            tx.put_many(adopted)
        return resolved

    def close(self) -> None:
        """Close the directory handles and the index; the next call reopens them."""
        with self._reopen_lock:
            self._closed = True
            self._finalizer()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _reopen(root: str, fsync: bool, read_only: bool) -> LocalStore:
    """The store a pickled LocalStore stands for, opened in this process."""
    return LocalStore(root, create=False, fsync=fsync, read_only=read_only)
