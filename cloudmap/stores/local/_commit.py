"""LocalStore's commit: each write's precondition checked, its file renamed.

A batch of writes (see `_group`) commits in one index transaction, the
store's lock across threads and processes: for each write, in order, the
key's current etag is read, its precondition checked, its temp file renamed
over the key and its new row recorded. A write whose precondition fails, or
whose key cannot be a file, gets its own error and leaves the others alone.
"""

from __future__ import annotations

import os

from cloudmap.errors import NotSupportedError
from cloudmap.stores._protocol import check_precondition
from cloudmap.stores.local._group import Write
from cloudmap.stores.local._identity import identity
from cloudmap.stores.local._index import Index, Row, Transaction
from cloudmap.stores.local._records import Records
from cloudmap.stores.local._tree import is_dir

__all__ = ["commit_batch"]


def commit_batch(records: Records, index: Index, batch: list[Write]) -> None:
    """Commit writes in one index transaction, each on its own precondition."""
    with index.transaction() as tx:
        for write in batch:
            try:
                _commit(records, tx, write)
            except Exception as exc:  # noqa: BLE001 - this key's outcome alone
                write.error = exc  # nothing was renamed
                continue
            ident = identity(os.fstat(write.fd))
            row = Row(write.etag, write.record, ident, write.digest)
            tx.put(write.key, row)
            write.row = row


def _commit(records: Records, tx: Transaction, write: Write) -> None:
    """Check the write's precondition and rename its temp file over the key."""
    tree, store = records.tree, records.name
    key, segments = write.key, write.segments
    folders = tree.key_folders(segments, create=False)
    try:
        stat = tree.lstat(folders.parent, segments[-1]) if folders else None
        current = records.etag(tx, key, stat)
        check_precondition(key, current, mode=write.mode, store=store)
        if folders is None:
            try:
                folders = tree.key_folders(segments, create=True)
            except NotSupportedError as exc:
                msg = (
                    f"key {key!r} cannot be stored in {store}: one of its "
                    "folders is already a key (a file and a folder cannot share "
                    "a path)"
                )
                raise NotSupportedError(msg) from exc
            assert folders is not None  # noqa: S101 - created
        elif stat is None and is_dir(folders.parent, segments[-1]):
            msg = (
                f"key {key!r} cannot be stored in {store}: a folder of that "
                "name holds other keys (a file and a folder cannot share a path)"
            )
            raise NotSupportedError(msg)
        os.replace(
            write.name,
            segments[-1],
            src_dir_fd=tree.tmp_fd,
            dst_dir_fd=folders.parent,
        )
    finally:
        if folders is not None:
            folders.close()
