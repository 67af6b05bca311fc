"""A ctime-only change to a value file (chmod, chown, a hard link) keeps its etag and metadata.

The index keeps a digest of each value's bytes: when only a file's times moved,
LocalStore hashes it again and, finding the same bytes, keeps the row.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cloudmap import CloudMapping, FencedError, codecs
from cloudmap.stores import LocalStore, Replace
from tests.test_lease import FakeClock, lease_of


def _written(root: Path) -> tuple[str, dict[str, str]]:
    """Write `k` through a JSON mapping; return its etag and metadata."""
    m: CloudMapping[Any] = CloudMapping(LocalStore(root), codec=codecs.json())
    m["k"] = 1
    entry = LocalStore(root).get("k")
    assert entry is not None
    assert entry.metadata  # the codec tag
    return entry.etag, dict(entry.metadata)


@pytest.mark.parametrize("read_only", [False, True])
def test_chmod_keeps_etag_and_metadata(tmp_path: Path, *, read_only: bool) -> None:
    """After a chmod, a fresh open sees the same etag and metadata."""
    etag, metadata = _written(tmp_path)
    (tmp_path / "k").chmod(0o600)
    store = LocalStore(tmp_path, read_only=read_only)
    entry = store.get("k")
    assert entry is not None
    assert (entry.etag, dict(entry.metadata)) == (etag, metadata)
    assert store.list_etags() == {"k": etag}
    m: CloudMapping[Any] = CloudMapping(
        LocalStore(tmp_path, read_only=read_only), codec=codecs.json()
    )
    assert m.etags["k"] == etag
    assert m["k"] == 1


def test_hard_link_and_listing_first_keep_the_etag(tmp_path: Path) -> None:
    """A new hard link moves the ctime; a listing (before any get) keeps the etag."""
    etag, _ = _written(tmp_path)
    os.link(tmp_path / "k", tmp_path / "backup")
    store = LocalStore(tmp_path)
    assert store.list_etags()["k"] == etag
    m: CloudMapping[Any] = CloudMapping(LocalStore(tmp_path), codec=codecs.json())
    (tmp_path / "k").chmod(0o640)
    m.sync_with_cloud()
    assert m.etags["k"] == etag
    m["k"] = 2  # its held etag is still the stored one: no conflict
    assert LocalStore(tmp_path).get("k") is not None


def test_write_on_held_etag_after_chmod(tmp_path: Path) -> None:
    """A conditional write on an etag read before a chmod succeeds."""
    store = LocalStore(tmp_path)
    etag = store.put("k", b"v", metadata={"a": "b"})
    (tmp_path / "k").chmod(0o600)
    store.put("k", b"w", mode=Replace(etag))
    (tmp_path / "k").chmod(0o644)
    entry = store.get("k")
    assert entry is not None
    store.delete("k", if_match=entry.etag)


def test_fenced_key_stays_fenced_after_chmod(tmp_path: Path) -> None:
    """A stale lease token's write is refused even after the value was chmod-ed."""
    clock = FakeClock()
    old_m: CloudMapping[Any] = CloudMapping(
        LocalStore(tmp_path), codec=codecs.json(), sync_initially=False
    )
    new_m: CloudMapping[Any] = CloudMapping(
        LocalStore(tmp_path), codec=codecs.json(), sync_initially=False
    )
    old = lease_of(old_m, clock)
    old.acquire()
    new = lease_of(new_m, clock)
    new.acquire()
    new_m.modify("state", lambda v: [*v, 2], default=[], fence=new)
    (tmp_path / "state").chmod(0o600)
    fresh: CloudMapping[Any] = CloudMapping(
        LocalStore(tmp_path), codec=codecs.json(), sync_initially=False
    )
    with pytest.raises(FencedError):
        fresh.modify("state", lambda v: [*v, 1], fence=old)


def test_same_size_rewrite_with_times_moved_changes_the_etag(tmp_path: Path) -> None:
    """Same inode and size but other bytes: the digest differs, the etag changes."""
    store = LocalStore(tmp_path)
    etag = store.put("k", b"aaaa", metadata={"a": "b"})
    (tmp_path / "k").write_bytes(b"bbbb")
    entry = LocalStore(tmp_path, read_only=True).get("k")
    assert entry is not None
    assert entry.etag != etag
    assert entry.metadata == {}


def test_index_without_digest_column_is_upgraded(tmp_path: Path) -> None:
    """An index from before the digest column opens; its rows behave as before."""
    store = LocalStore(tmp_path)
    store.put("old", b"v")
    store.close()
    index = tmp_path / ".cloudmap" / "index.sqlite3"
    with sqlite3.connect(index) as conn:
        conn.execute("ALTER TABLE objects DROP COLUMN digest")
    entry = LocalStore(tmp_path, read_only=True).get("old")
    assert entry is not None
    store = LocalStore(tmp_path)
    assert store.get("old") == entry
    etag = store.put("new", b"v")
    (tmp_path / "new").chmod(0o600)
    again = LocalStore(tmp_path).get("new")
    assert again is not None
    assert again.etag == etag
