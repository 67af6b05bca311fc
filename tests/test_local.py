"""LocalStore specifics: layout on disk, path safety, foreign files, crash leftovers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudmap import CloudMapping, LocalMapping
from cloudmap.codecs import json
from cloudmap.errors import NotSupportedError, StoreError
from cloudmap.stores import LocalStore, Replace


def test_values_are_plain_files_under_root(tmp_path: Path) -> None:
    """A key with '/' is a file in folders, holding exactly the value's bytes."""
    store = LocalStore(tmp_path)
    store.put("dir/a b é.txt", b"hello")
    assert (tmp_path / "dir" / "a b é.txt").read_bytes() == b"hello"


def test_files_written_by_other_tools_are_keys(tmp_path: Path) -> None:
    """A file dropped into root is listed and readable, with a working etag."""
    store = LocalStore(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "foreign.txt").write_bytes(b"from elsewhere")
    [listed] = list(store.list())
    assert listed.key == "sub/foreign.txt"
    entry = store.get("sub/foreign.txt")
    assert entry is not None
    assert (entry.data, entry.etag, dict(entry.metadata)) == (
        b"from elsewhere",
        listed.etag,
        {},
    )
    etag = store.put("sub/foreign.txt", b"ours", mode=Replace(listed.etag))
    assert store.get("sub/foreign.txt").etag == etag  # type: ignore[union-attr]


def test_foreign_rewrite_changes_the_etag(tmp_path: Path) -> None:
    """Another tool overwriting our file invalidates our etag, so our write conflicts."""
    m: CloudMapping[bytes] = LocalMapping(tmp_path)
    m["k"] = b"ours"
    path = tmp_path / "k"
    path.write_bytes(b"theirs, and longer")
    with pytest.raises(Exception, match="changed since"):
        m["k"] = b"again"
    assert path.read_bytes() == b"theirs, and longer"


def test_identical_rewrites_get_new_etags(tmp_path: Path) -> None:
    """Writing the same bytes twice still gives two different etags."""
    store = LocalStore(tmp_path)
    assert store.put("k", b"same") != store.put("k", b"same")


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "a/../../b",
        "/abs/path",
        "a//b",
        "a/./b",
        "trailing/",
        "back\\slash",
        ".cloudmap/meta/x",
        "x" * 256,
    ],
)
def test_keys_that_would_escape_or_alias_are_refused(tmp_path: Path, key: str) -> None:
    """Keys with '..', '.', empty segments, backslashes or reserved names raise ValueError."""
    store = LocalStore(tmp_path / "root")
    with pytest.raises(ValueError, match="key"):
        store.put(key, b"v")
    with pytest.raises(ValueError, match="key"):
        store.get(key)
    assert list(store.list()) == []
    assert [path.name for path in tmp_path.iterdir()] == ["root"]


def test_symlinked_folder_out_of_root_is_refused(tmp_path: Path) -> None:
    """A folder that is a symlink to outside the root is never written through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    store = LocalStore(root)
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="outside"):
        store.put("link/x", b"v")
    assert list(outside.iterdir()) == []


def test_symlinked_file_is_not_followed(tmp_path: Path) -> None:
    """A key that is a symlink to a file outside the root is not read through."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    root = tmp_path / "root"
    store = LocalStore(root)
    (root / "k").symlink_to(secret)
    assert store.get("k") is None
    assert list(store.list()) == []


def test_file_and_folder_cannot_share_a_path(tmp_path: Path) -> None:
    """Keys 'a' and 'a/b' cannot coexist on disk: a clear NotSupportedError says so."""
    store = LocalStore(tmp_path)
    store.put("a", b"1")
    with pytest.raises(NotSupportedError, match="folder"):
        store.put("a/b", b"2")
    store.delete("a")
    store.put("a/b", b"2")
    with pytest.raises(NotSupportedError, match="folder"):
        store.put("a", b"1")


def test_delete_prunes_empty_folders(tmp_path: Path) -> None:
    """Deleting the last key of a folder removes the folder."""
    store = LocalStore(tmp_path)
    store.put("x/y/z", b"1")
    store.delete("x/y/z")
    assert not (tmp_path / "x").exists()


def test_missing_root_without_create(tmp_path: Path) -> None:
    """create=False on a missing directory raises StoreError naming it."""
    with pytest.raises(StoreError, match="does not exist"):
        LocalStore(tmp_path / "nope", create=False)


def test_orphaned_temp_files_are_removed_and_never_listed(tmp_path: Path) -> None:
    """Temp files of a dead writer are cleaned on open and never appear as keys."""
    LocalStore(tmp_path)
    orphan = tmp_path / ".cloudmap" / "tmp" / "999999999-dead.tmp"
    orphan.write_bytes(b"half written")
    store = LocalStore(tmp_path)
    assert not orphan.exists()
    assert list(store.list()) == []


def test_crash_between_data_and_sidecar_shows_new_bytes(tmp_path: Path) -> None:
    """If the sidecar does not match the data file, the key reads whole with a fresh etag."""
    store = LocalStore(tmp_path)
    old = store.put("k", b"old")
    (tmp_path / "k").write_bytes(b"new bytes")  # as if the sidecar replace never ran
    entry = store.get("k")
    assert entry is not None
    assert entry.data == b"new bytes"
    assert entry.etag != old


def test_files_honour_the_umask(tmp_path: Path) -> None:
    """Values are created with the process umask, never world-writable."""
    previous = os.umask(0o027)
    try:
        LocalStore(tmp_path).put("k", b"v")
    finally:
        os.umask(previous)
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o640


def test_local_mapping_constructors(tmp_path: Path) -> None:
    """LocalMapping offers the same codec constructors as CloudMapping."""
    m = LocalMapping.with_json_zlib(tmp_path)
    m["cfg"] = {"n": 1}
    again: LocalMapping[object] = LocalMapping(tmp_path, codec=json())
    with pytest.raises(Exception, match="json\\|zlib"):
        again["cfg"]
    assert (
        LocalMapping.with_pickle(tmp_path, sync_initially=False).codec.name == "pickle"
    )
