"""The read cache: values kept by etag, revalidated with one If-None-Match GET."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cloudmap import CloudMapping, EtagMismatchError
from cloudmap.cache import CacheSpec
from tests.recording import RecordingStore

if TYPE_CHECKING:
    from tests.conftest import StoreFactory


def _cached(
    factory: StoreFactory, **options: object
) -> tuple[CloudMapping[bytes], RecordingStore]:
    store = RecordingStore(factory())
    spec = options.pop("cache", CacheSpec(max_bytes=1 << 20))
    return CloudMapping(store, cache=spec, **options), store  # type: ignore[arg-type]


def test_reread_of_unchanged_value_transfers_no_body(
    store_factory: StoreFactory,
) -> None:
    """An unchanged cached value is re-read with one GET answered not-modified."""
    m, store = _cached(store_factory)
    m["k"] = b"x" * 1000
    assert m["k"] == b"x" * 1000
    store.reset()
    assert m["k"] == b"x" * 1000
    [call] = store.calls
    assert call.op == "get"
    assert call.kwargs["if_none_match"] == m.etags["k"]
    assert call.result.not_modified
    assert call.result.data == b""
    info = m.cache.info()  # type: ignore[union-attr]
    assert (info.hits, info.items, info.bytes) == (1, 1, 1000)
    m.close()


def test_cached_value_changed_elsewhere_is_a_conflict(
    store_factory: StoreFactory,
) -> None:
    """A cached key changed elsewhere raises KeySyncError, never the stale value."""
    m, _ = _cached(store_factory)
    m["k"] = b"1"
    assert m["k"] == b"1"
    other = CloudMapping(store_factory())
    other["k"] = b"2"
    with pytest.raises(EtagMismatchError) as info:
        m["k"]
    assert info.value.expected_etag == m.etags["k"]
    m.sync_with_cloud()
    assert m["k"] == b"2"
    m.close()
    other.close()


def test_cached_value_deleted_elsewhere_is_a_conflict(
    store_factory: StoreFactory,
) -> None:
    """A cached key deleted by another writer raises KeySyncError."""
    m, _ = _cached(store_factory)
    m["k"] = b"1"
    assert m["k"] == b"1"
    other = CloudMapping(store_factory())
    del other["k"]
    with pytest.raises(EtagMismatchError):
        m["k"]
    m.sync_with_cloud()
    assert "k" not in m
    assert m.cache.info().items == 0  # type: ignore[union-attr]
    m.close()
    other.close()


def test_own_write_and_delete_invalidate(store_factory: StoreFactory) -> None:
    """After our own write the new value is read; after our delete nothing is cached."""
    m, _ = _cached(store_factory)
    m["k"] = b"1"
    assert m["k"] == b"1"
    m["k"] = b"2"
    assert m.cache.info().items == 0  # type: ignore[union-attr]
    assert m["k"] == b"2"
    del m["k"]
    assert m.cache.info().items == 0  # type: ignore[union-attr]
    m.close()


def test_blind_reads_revalidate_and_see_new_values(store_factory: StoreFactory) -> None:
    """A blind read serves the cached value when unchanged and the new one otherwise."""
    m, store = _cached(store_factory, read_blindly=True)
    other = CloudMapping(store_factory())
    other["k"] = b"1"
    assert m["k"] == b"1"
    store.reset()
    assert m["k"] == b"1"
    assert store.calls[0].result.not_modified
    other["k"] = b"2"
    assert m["k"] == b"2"
    del other["k"]
    assert m["k"] is None
    assert m.cache.info().items == 0  # type: ignore[union-attr]
    m.close()
    other.close()


def test_cache_stays_within_max_bytes_and_max_items(
    store_factory: StoreFactory,
) -> None:
    """Reading more than fits evicts least recently used values to stay in bounds."""
    m, _ = _cached(store_factory, cache=CacheSpec(max_bytes=5000, max_items=3))
    for i in range(10):
        m[f"k{i}"] = bytes(1000)
    for i in range(10):
        assert m[f"k{i}"] == bytes(1000)
        info = m.cache.info()  # type: ignore[union-attr]
        assert info.items <= 3
        assert info.bytes <= 5000
    m["big"] = bytes(6000)
    assert m["big"] == bytes(6000)
    assert m.cache.etag("big") is None  # type: ignore[union-attr]
    assert m.cache.etag("k9") is not None  # type: ignore[union-attr]
    m.close()


def test_value_evicted_during_revalidation_is_read_again(
    store_factory: StoreFactory,
) -> None:
    """A value evicted while the server says not-modified is read again."""
    m, store = _cached(store_factory)
    m["k"] = b"v"
    assert m["k"] == b"v"
    store.before_get = lambda _key: m.cache.clear()  # type: ignore[union-attr]
    assert m["k"] == b"v"
    store.before_get = None
    m.close()


def test_cache_true_uses_default_spec(store_factory: StoreFactory) -> None:
    """cache=True enables a cache with the default limits; the default has none."""
    m = CloudMapping(store_factory(), cache=True)
    assert m.cache is not None
    assert m.cache.spec == CacheSpec()
    assert CloudMapping(store_factory()).cache is None
    m.close()


def test_invalid_spec_is_refused() -> None:
    """Negative limits raise ValueError."""
    with pytest.raises(ValueError, match="max_bytes"):
        CacheSpec(max_bytes=-1)
    with pytest.raises(ValueError, match="max_items"):
        CacheSpec(max_items=-1)
