"""LocalStore's listing: every key under a prefix and its etag, in one walk.

The walk gives each file's identity; the index gives the etag of every
(key, identity) it records, so the common case (every file recorded) is one
dict lookup per key, without a Python loop. Files the index does not describe
(another tool's, or a write committing) are resolved as a read would resolve
them, and a writable store records them in one transaction.
"""

from __future__ import annotations

import operator

from cloudmap.stores.local._identity import derived_etag, identity
from cloudmap.stores.local._index import Row
from cloudmap.stores.local._names import skip_key
from cloudmap.stores.local._records import Records
from cloudmap.stores.local._walk import walk

__all__ = ["list_etags"]

_KEY = operator.itemgetter(0)


def list_etags(records: Records, prefix: str, warned: set[str]) -> dict[str, str]:
    """Every key starting with `prefix` and its etag, in sorted order."""
    found = walk(records.tree.root_fd, prefix, warned)
    known = records.index.known(prefix)
    try:
        # The common case, without a Python loop: every file is recorded.
        return dict(zip(map(_KEY, found), map(known.__getitem__, found), strict=True))
    except KeyError:
        pass
    rows = records.index.rows(prefix)
    listed: dict[str, str | None] = {}
    unknown: list[str] = []
    for item in found:
        key, ident = item[0], item[1:]
        etag = known.get(item)
        if etag is None and skip_key(key, warned):
            continue  # its name is no valid key
        row = rows.get(key) if etag is None else None
        if row is not None and row.matches(ident):
            etag = row.etag  # a row of the old layout
        elif etag is None and records.read_only:
            row = records.describing(key, row, ident)
            etag = derived_etag(ident) if row is None else row.etag
        elif etag is None:
            unknown.append(key)  # another tool's file, or a write committing
        listed[key] = etag
    resolved = _resolve(records, unknown) if unknown else {}
    return {
        key: resolved[key] if etag is None else etag
        for key, etag in listed.items()
        if etag is not None or key in resolved
    }


def _resolve(records: Records, keys: list[str]) -> dict[str, str]:
    """Etags of files the index does not describe, recorded in one transaction."""
    resolved: dict[str, str] = {}
    with records.writable(keys[0]).transaction() as tx:
        adopted: list[tuple[str, Row]] = []
        for key in keys:
            stat = records.tree.lstat_key(key.split("/"))
            if stat is None:
                continue
            row, changed = records.recorded(tx, key, identity(stat))
            if changed:
                adopted.append((key, row))
            resolved[key] = row.etag
        tx.put_many(adopted)
    return resolved
