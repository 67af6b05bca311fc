"""`StoreContract`: the behaviour every Store implementation must show.

Subclass it in a test module and provide two fixtures: `store` (a fresh, empty
store) and `store_factory` (a callable returning another client of the same
storage, for races between clients):

```python
from cloudmap.testing import StoreContract

class TestMyStore(StoreContract):
    pass
```
"""

from __future__ import annotations

import pytest

from cloudmap.errors import (
    EtagMismatchError,
    KeyExistsError,
    KeySyncError,
)
from cloudmap.stores import MAX_KEY_BYTES, Replace, Store
from cloudmap.testing._store_reads import ReadsContract, entry_of

__all__ = ["StoreContract"]

VERBATIM_KEYS = [
    "plain",
    "dir/a b é.txt",
    "with%20percent",
    "plus+sign",
    "question?mark&amp",
    "hash#tag",
    "emoji-\N{SNOWMAN}",
    "deep/er/and/deeper/key",
    "trailing-space ",
    "~tilde",
]


class StoreContract(ReadsContract):
    """Behaviour every Store must show; MemoryStore is the reference."""

    # -- basic reads and writes ----------------------------------------------

    def test_get_of_missing_key_returns_none(self, store: Store) -> None:
        """A plain get of a key never written returns None."""
        assert store.get("missing") is None

    def test_put_then_get_returns_bytes_and_same_etag(self, store: Store) -> None:
        """A write's etag is the one a later read reports."""
        etag = store.put("k", b"value")
        entry = entry_of(store, "k")
        assert entry.data == b"value"
        assert entry.etag == etag
        assert not entry.not_modified

    def test_metadata_round_trips(self, store: Store) -> None:
        """Metadata given to put comes back from get."""
        store.put("k", b"v", metadata={"cloudmap-codec": "json|zlib"})
        assert entry_of(store, "k").metadata.get("cloudmap-codec") == "json|zlib"

    @pytest.mark.parametrize("data", [b"", bytes(range(256)) * 4])
    def test_empty_and_binary_values(self, store: Store, data: bytes) -> None:
        """Zero-byte and arbitrary binary values are stored exactly."""
        store.put("bin", data)
        assert entry_of(store, "bin").data == data

    @pytest.mark.parametrize("key", VERBATIM_KEYS)
    def test_keys_are_stored_verbatim(self, store: Store, key: str) -> None:
        """Unicode, spaces and URL characters in keys survive a round trip."""
        store.put(key, key.encode())
        assert entry_of(store, key).data == key.encode()
        assert [item.key for item in store.list()] == [key]

    def test_longest_key_is_accepted(self, store: Store) -> None:
        """A key of exactly 1024 UTF-8 bytes can be written."""
        key = "/".join(["x" * 200] * 5)
        key += "y" * (MAX_KEY_BYTES - len(key))
        store.put(key, b"v")
        assert entry_of(store, key).data == b"v"

    @pytest.mark.parametrize(
        ("key", "error"),
        [
            (b"bytes", TypeError),
            (1, TypeError),
            ("", ValueError),
            ("nul\x00char", ValueError),
            ("x" * (MAX_KEY_BYTES + 1), ValueError),
            ("\udcff", ValueError),
        ],
    )
    def test_invalid_keys_are_refused_before_any_write(
        self, store: Store, key: object, error: type[Exception]
    ) -> None:
        """Bad keys raise TypeError or ValueError naming the key, and store nothing."""
        with pytest.raises(error):
            store.put(key, b"v")  # type: ignore[arg-type]
        assert list(store.list()) == []

    @pytest.mark.parametrize(
        ("mode", "error"),
        [
            ("bogus", ValueError),
            ("Create", ValueError),
            (None, TypeError),
            (True, TypeError),
            (Replace(""), ValueError),
        ],
    )
    def test_invalid_mode_is_refused_before_any_write(
        self, store: Store, mode: object, error: type[Exception]
    ) -> None:
        """A bad put mode raises naming the store and the accepted modes; no write."""
        etag = store.put("k", b"1")
        with pytest.raises(error) as info:
            store.put("k", b"2", mode=mode)  # type: ignore[arg-type]
        assert store.name in str(info.value)
        if not isinstance(mode, Replace):
            assert "'create', 'overwrite' or Replace(etag)" in str(info.value)
        with pytest.raises(error):
            store.put("new", b"2", mode=mode)  # type: ignore[arg-type]
        assert [(k.key, k.etag) for k in store.list()] == [("k", etag)]

    # -- create-only writes --------------------------------------------------

    def test_create_only_write_succeeds_on_missing_key(self, store: Store) -> None:
        """mode="create" writes a key that does not exist."""
        etag = store.put("k", b"1", mode="create")
        assert entry_of(store, "k").etag == etag

    def test_create_only_write_refuses_existing_key(self, store: Store) -> None:
        """A create-only write of an existing key raises KeyExistsError, keeps value."""
        etag = store.put("k", b"1")
        with pytest.raises(KeyExistsError) as info:
            store.put("k", b"2", mode="create")
        assert isinstance(info.value, KeySyncError)
        assert not isinstance(info.value, KeyError)
        assert info.value.key == "k"
        entry = entry_of(store, "k")
        assert (entry.data, entry.etag) == (b"1", etag)

    # -- replace -----------------------------------------------------------------

    def test_replace_with_current_etag(self, store: Store) -> None:
        """Replace(current etag) replaces the value and gives a new etag."""
        first = store.put("k", b"1")
        second = store.put("k", b"2", mode=Replace(first))
        entry = entry_of(store, "k")
        assert (entry.data, entry.etag) == (b"2", second)
        assert second != first

    def test_replace_with_stale_etag_is_refused(self, store: Store) -> None:
        """Replace(old etag) raises EtagMismatchError and changes nothing."""
        first = store.put("k", b"1")
        second = store.put("k", b"2", mode=Replace(first))
        with pytest.raises(EtagMismatchError) as info:
            store.put("k", b"3", mode=Replace(first))
        assert info.value.key == "k"
        entry = entry_of(store, "k")
        assert (entry.data, entry.etag) == (b"2", second)

    def test_replace_of_deleted_key_is_refused(self, store: Store) -> None:
        """Replace(etag) of a key deleted meanwhile raises EtagMismatchError."""
        etag = store.put("k", b"1")
        store.delete("k")
        with pytest.raises(EtagMismatchError):
            store.put("k", b"2", mode=Replace(etag))
        assert store.get("k") is None

    def test_unconditional_put_overwrites(self, store: Store) -> None:
        """A put with no precondition replaces whatever is there."""
        store.put("k", b"1")
        store.put("k", b"2")
        assert entry_of(store, "k").data == b"2"

    def test_etag_changes_when_bytes_change(self, store: Store) -> None:
        """Writing different bytes always gives a different etag."""
        # Different bytes on purpose: S3's ETag is the MD5 of the bytes, so
        # rewriting identical bytes repeats it (ABA). Stores must not fake
        # uniqueness; the provider docs say which ones repeat.
        etags = {store.put("k", str(i).encode()) for i in range(5)}
        assert len(etags) == 5

    # -- delete --------------------------------------------------------------------

    def test_delete_with_current_etag(self, store: Store) -> None:
        """delete(if_match=current) removes the key."""
        etag = store.put("k", b"1")
        store.delete("k", if_match=etag)
        assert store.get("k") is None

    def test_delete_with_stale_etag_is_refused(self, store: Store) -> None:
        """delete(if_match=old) raises EtagMismatchError and keeps the value."""
        first = store.put("k", b"1")
        store.put("k", b"2", mode=Replace(first))
        with pytest.raises(EtagMismatchError):
            store.delete("k", if_match=first)
        assert entry_of(store, "k").data == b"2"

    def test_delete_of_missing_key_is_a_no_op(self, store: Store) -> None:
        """An unconditional delete of a missing key succeeds and changes nothing."""
        store.delete("missing")
        assert store.get("missing") is None

    def test_conditional_delete_of_missing_key_is_refused(self, store: Store) -> None:
        """delete(if_match=...) of a key already gone raises EtagMismatchError."""
        etag = store.put("k", b"1")
        store.delete("k")
        with pytest.raises(EtagMismatchError):
            store.delete("k", if_match=etag)
