"""LocalStore: the operations of a directory store; its parts are in this package."""

from __future__ import annotations

import json
import os
import threading
import uuid
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from cloudmap.errors import ContainerNotFoundError, EtagMismatchError
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    check_mode,
    check_precondition,
    replace_or_overwrite,
    validate_key,
)
from cloudmap.stores.local._commit import commit_batch
from cloudmap.stores.local._errors import FAILURES, local_error, mapped_errors
from cloudmap.stores.local._group import GroupCommit, Write
from cloudmap.stores.local._identity import digest
from cloudmap.stores.local._layout import open_layout
from cloudmap.stores.local._listing import list_etags
from cloudmap.stores.local._names import key_problem
from cloudmap.stores.local._records import Records, Seen
from cloudmap.stores.local._tree import read_all

__all__ = ["LocalStore"]


class LocalStore:
    """A directory on disk; the embedded default store.

    Args:
        root: the directory; created (with parents) when missing unless
            `create=False` or `read_only=True`.
        create: create `root` if it does not exist.
        fsync: flush every value to disk before it becomes visible.
        read_only: only read: nothing is created or changed under `root`, and
            read permission is enough; writes raise `ReadOnlyError`.

    Besides the `Store` protocol it offers `list_etags(prefix)`, its fast
    listing: every key and its etag as one dict, which a mapping's full
    `sync_with_cloud()` takes whole instead of iterating `list`.

    POSIX only: it relies on `flock` and `O_NOFOLLOW`.
    """

    # How targets name this store: read by the registry in `cloudmap.stores`.
    url_schemes = ("file",)
    url_options = MappingProxyType({"fsync": "fsync"})
    ini_providers = ("filesystem",)
    ini_location = ("folder_path",)
    extra = None

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
        self._seen: Seen = {}
        self._root = path
        self._group = GroupCommit()
        try:
            self._open(path, create=create and not read_only)
        except FAILURES as exc:
            # Named after `_open` resolved the root.
            raise local_error(exc, None, self.name) from exc

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
        self._records = Records(
            layout.tree,
            layout.index,
            seen=self._seen,
            read_only=self._read_only,
            store=self.name,
        )
        self._finalizer = weakref.finalize(self, layout.close)
        self._closed = False

    def _reopen(self) -> None:
        """Open the folder again after `close()`: a closed store stays usable."""
        with self._reopen_lock, mapped_errors(None, self.name):
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

    def _segments(self, key: str) -> list[str]:
        if self._closed:
            self._reopen()
        validate_key(key)
        problem = key_problem(key)
        if problem is not None:
            msg = f"key {key!r} cannot be stored in {self.name}: it {problem}"
            raise ValueError(msg)
        return key.split("/")

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
            found = self._records.open_value(key, segments)
        except FAILURES as exc:
            raise local_error(exc, key, self.name) from exc
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
            raise local_error(exc, key, self.name) from exc
        finally:
            os.close(fd)

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
        records = self._records
        index = records.writable(key)
        etag = f'"{uuid.uuid4().hex}"'
        record = json.dumps(dict(metadata)) if metadata else "{}"
        with mapped_errors(key, self.name):
            # The value is written and fsynced before the lock is taken, so
            # writers only serialise on the short commit.
            fd, name = records.tree.temp_file(bytes(data), fsync=self._fsync)
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
                    write, lambda batch: commit_batch(records, index, batch)
                )
            finally:
                if write.row is not None:
                    os.close(fd)  # releases the lock; the file is the key now
                else:
                    records.tree.discard(fd, name)
            if write.error is not None:
                raise write.error
            records.remember(key, write.row)  # type: ignore[arg-type]
        return etag

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; see `cloudmap.stores.Store.delete`."""
        segments = self._segments(key)
        records = self._records
        tree = records.tree
        index = records.writable(key)
        with mapped_errors(key, self.name), index.transaction() as tx:
            folders = tree.key_folders(segments, create=False)
            try:
                stat = tree.lstat(folders.parent, segments[-1]) if folders else None
                check_precondition(
                    key,
                    records.etag(tx, key, stat),
                    mode=replace_or_overwrite(if_match),
                    store=self.name,
                )
                if folders is None or stat is None:
                    return
                os.unlink(segments[-1], dir_fd=folders.parent)
                tx.delete(key)
                records.forget(key)
                tree.prune(folders, segments)
            finally:
                if folders is not None:
                    folders.close()

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
        with mapped_errors(None, self.name):
            return list_etags(self._records, prefix, self._warned)

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


# Pickles name it by the package, which re-exports it, so they outlive a move
# of the package's private modules.
_reopen.__module__ = "cloudmap.stores.local"
