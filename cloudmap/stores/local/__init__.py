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

The package, one concept per module:

- `_store`: `LocalStore`, the operations;
- `_names`: which names are keys; `_identity`: how a file is recognised;
- `_tree`: folders and files opened without following a symlink, temp files;
- `_walk`: the walk of the tree behind a listing; `_listing`: `list_etags`;
- `_index`: the SQLite index and its transactions (the lock);
- `_records`: which row describes a key's file, and the read path;
- `_group`: writes of several threads batched into one transaction;
- `_commit`: each write's precondition checked and its file renamed;
- `_layout`: opening a folder; `_legacy`: the sidecars of the old layout;
- `_errors`: file system and index errors mapped to cloudmap's.
"""

from cloudmap.stores.local._store import LocalStore as LocalStore

# Stores pickled before `local` became a package name their reopener here.
from cloudmap.stores.local._store import _reopen as _reopen

__all__ = ["LocalStore"]
