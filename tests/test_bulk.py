"""Bulk reads, writes and deletes: parallel, per-key etags, one BulkError."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from cloudmap import BulkError, CloudMapping, EtagMismatchError, KeyExistsError
from cloudmap.stores import MemoryStore
from tests.recording import RecordingStore

if TYPE_CHECKING:
    from tests.conftest import StoreFactory


def test_set_many_then_get_many_round_trips(store_factory: StoreFactory) -> None:
    """set_many writes every item with one request each; get_many reads them back."""
    store = RecordingStore(store_factory())
    m: CloudMapping[bytes] = CloudMapping(store)
    items = {f"k{i}": str(i).encode() for i in range(40)}
    store.reset()
    m.set_many(items)
    assert sorted(store.ops()) == ["put"] * 40
    assert all(call.kwargs["mode"] == "create" for call in store.calls)
    store.reset()
    assert m.get_many(items) == items
    assert store.ops() == ["get"] * 40
    assert all(call.kwargs["if_match"] == m.etags[call.key] for call in store.calls)
    m.close()


def test_failures_are_reported_together_and_the_rest_applied(
    store_factory: StoreFactory,
) -> None:
    """Keys changed elsewhere fail together in one BulkError; the others are written."""
    m: CloudMapping[bytes] = CloudMapping(store_factory())
    m.set_many({f"k{i}": b"old" for i in range(10)})
    other: CloudMapping[bytes] = CloudMapping(store_factory())
    other["k3"] = b"theirs"
    other["new"] = b"theirs"
    with pytest.raises(BulkError) as info:
        m.set_many({**{f"k{i}": b"mine" for i in range(10)}, "new": b"mine"})
    assert set(info.value.errors) == {"k3", "new"}
    assert isinstance(info.value.errors["k3"], EtagMismatchError)
    assert isinstance(info.value.errors["new"], KeyExistsError)
    other.sync_with_cloud()
    assert other.get_many([f"k{i}" for i in range(10) if i != 3]) == {
        f"k{i}": b"mine" for i in range(10) if i != 3
    }
    assert other["k3"] == other["new"] == b"theirs"
    m.close()
    other.close()


def test_get_many_reports_missing_and_changed_keys(store_factory: StoreFactory) -> None:
    """get_many returns what it read in BulkError.results and names each failure."""
    m: CloudMapping[bytes] = CloudMapping(store_factory())
    m.update(a=b"1", b=b"2")
    other: CloudMapping[bytes] = CloudMapping(store_factory())
    other["b"] = b"changed"
    with pytest.raises(BulkError) as info:
        m.get_many(["a", "b", "unknown"])
    assert info.value.results == {"a": b"1"}
    assert isinstance(info.value.errors["b"], EtagMismatchError)
    assert isinstance(info.value.errors["unknown"], KeyError)
    m.close()
    other.close()


def test_delete_many_and_clear(store_factory: StoreFactory) -> None:
    """delete_many deletes each key conditionally; clear empties the store."""
    m: CloudMapping[bytes] = CloudMapping(store_factory())
    m.update({f"k{i}": b"v" for i in range(12)})
    m.delete_many([f"k{i}" for i in range(6)])
    assert sorted(m) == sorted(f"k{i}" for i in range(6, 12))
    m.clear()
    fresh: CloudMapping[bytes] = CloudMapping(store_factory())
    assert len(m) == len(fresh) == 0
    m.close()
    fresh.close()


def test_update_raises_bulk_error_on_conflict(store_factory: StoreFactory) -> None:
    """update() writes in bulk, so a conflict surfaces as a BulkError."""
    m: CloudMapping[bytes] = CloudMapping(store_factory())
    other: CloudMapping[bytes] = CloudMapping(store_factory())
    other["x"] = b"theirs"
    with pytest.raises(BulkError) as info:
        m.update({"x": b"mine", "y": b"mine"})
    assert list(info.value.errors) == ["x"]
    assert m["y"] == b"mine"
    m.close()
    other.close()


def test_bulk_calls_overlap_their_requests() -> None:
    """With 50 ms per request, 32 writes on 16 workers take far less than 32 x 50 ms."""
    store = RecordingStore(MemoryStore(), delay=0.05)
    m: CloudMapping[bytes] = CloudMapping(store, max_workers=16)
    start = time.perf_counter()
    m.set_many({f"k{i}": b"v" for i in range(32)})
    assert m.get_many(list(m)) == {f"k{i}": b"v" for i in range(32)}
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0  # serial: 64 x 50 ms = 3.2 s; parallel: ~4 x 50 ms
    m.close()


def test_max_workers_must_be_positive() -> None:
    """max_workers=0 is refused at construction."""
    with pytest.raises(ValueError, match="max_workers"):
        CloudMapping(MemoryStore(), max_workers=0)
