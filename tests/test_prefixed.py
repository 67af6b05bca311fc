"""PrefixedStore: a folder of a store, with keys named without the folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cloudmap.errors import EtagMismatchError, KeyExistsError
from cloudmap.mapping import CloudMapping
from cloudmap.stores import LocalStore, MemoryStore
from cloudmap.stores._protocol import MAX_KEY_BYTES, Replace
from cloudmap.stores.prefixed import PrefixedStore
from cloudmap.transfer import copy_keys

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from cloudmap.stores._protocol import Store


@pytest.fixture(params=["memory", "local"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store: Store = MemoryStore() if request.param == "memory" else LocalStore(tmp_path)
    yield store
    store.close()


def test_keys_live_under_the_prefix_and_list_without_it(root: Store) -> None:
    """Writes land under the prefix; the view lists only its folder, prefix removed."""
    tenant = PrefixedStore(root, "tenant1/")
    tenant.put("a/b", b"1", mode="create")
    root.put("tenant10/a/b", b"other", mode="create")
    root.put("tenant1x", b"other", mode="create")

    assert sorted(item.key for item in root.list("tenant1/")) == ["tenant1/a/b"]
    assert [item.key for item in tenant.list()] == ["a/b"]
    assert [item.key for item in tenant.list("a/")] == ["a/b"]
    assert tenant.list_etags() == {item.key: item.etag for item in tenant.list()}
    entry = tenant.get("a/b")
    assert entry is not None
    assert entry.data == b"1"


def test_conflicts_name_the_key_without_the_prefix(root: Store) -> None:
    """A refused create or replace names the view's key, the inner error as cause."""
    tenant = PrefixedStore(root, "tenant1/")
    etag = tenant.put("k", b"1", mode="create")

    with pytest.raises(KeyExistsError) as exists:
        tenant.put("k", b"2", mode="create")
    assert exists.value.key == "k"
    assert "'k'" in str(exists.value)
    assert "tenant1/k" not in str(exists.value)
    assert isinstance(exists.value.__cause__, KeyExistsError)
    assert exists.value.__cause__.key == "tenant1/k"

    tenant.put("k", b"3", mode=Replace(etag))
    with pytest.raises(EtagMismatchError) as stale:
        tenant.delete("k", if_match=etag)
    assert (stale.value.key, stale.value.expected_etag) == ("k", etag)
    assert stale.value.store == root.name


def test_keys_too_long_with_the_prefix_are_refused(root: Store) -> None:
    """A key that fits alone but not with the prefix is refused before any request."""
    tenant = PrefixedStore(root, "tenant1/")
    key = "k" * (MAX_KEY_BYTES - 1)
    with pytest.raises(ValueError, match="limit is 1024"):
        tenant.put(key, b"1")
    assert list(root.list()) == []


def test_an_empty_prefix_is_the_store_itself(root: Store) -> None:
    """Without a prefix, keys and conflicts are the inner store's own."""
    whole = PrefixedStore(root, "")
    whole.put("k", b"1", mode="create")
    with pytest.raises(KeyExistsError) as exists:
        whole.put("k", b"2", mode="create")
    assert exists.value.key == "k"
    assert [item.key for item in whole.list()] == ["k"]


def test_a_copy_through_a_prefix_keeps_the_object_named_by_the_prefix() -> None:
    """An object stored exactly at the prefix (an S3 "folder") is copied as key ''."""
    source, destination = MemoryStore(), MemoryStore()
    source.put("data/", b"folder")
    source.put("data/a", b"1")
    report = copy_keys(
        source, destination, source_prefix="data/", destination_prefix="backup/"
    )
    assert sorted(report.copied) == ["", "a"]
    assert not report.failed
    assert sorted(item.key for item in destination.list()) == ["backup/", "backup/a"]
    mapping = CloudMapping(source, key_prefix="data")
    with pytest.raises(ValueError, match="empty"):
        mapping[""] = b"x"
