"""zict layers over a CloudMapping: what works, and what a shared store must avoid."""

from __future__ import annotations

import json as stdlib_json

import pytest
import zict

from cloudmap import CloudMapping, KeySyncError
from cloudmap.stores import Store
from tests.zict_checks import (
    check_bad_key_types,
    check_different_keys_threadsafe,
    check_mapping,
    check_same_key_threadsafe,
)


def _dumps(value: object) -> bytes:
    return stdlib_json.dumps(value).encode()


def _loads(data: bytes) -> object:
    return stdlib_json.loads(data)


def test_func_layer_encodes_and_conflicts_still_raise(store: Store) -> None:
    """zict.Func adds a codec over a raw mapping; KeySyncError passes through it."""
    raw_a: CloudMapping[bytes] = CloudMapping(store)
    layer = zict.Func(_dumps, _loads, raw_a)
    layer["k"] = {"n": 1}
    assert layer["k"] == {"n": 1}
    assert store.get("k").data == b'{"n": 1}'  # type: ignore[union-attr]
    raw_b: CloudMapping[bytes] = CloudMapping(store)
    raw_b["k"] = b'{"n": 2}'
    with pytest.raises(KeySyncError):
        layer["k"] = {"n": 3}
    with pytest.raises(KeySyncError):
        layer["k"]


def test_buffer_spills_a_private_working_set_to_the_store(store: Store) -> None:
    """zict.Buffer keeps n items in memory and moves the rest to the store."""
    slow = zict.Func(_dumps, _loads, CloudMapping(store))
    buffer: zict.Buffer[str, object] = zict.Buffer(
        fast={}, slow=slow, n=2, weight=lambda _k, _v: 1
    )
    for i in range(5):
        buffer[f"item{i}"] = {"i": i}
    assert len(buffer.fast) == 2
    assert sorted(item.key for item in store.list()) == ["item0", "item1", "item2"]
    assert buffer["item0"] == {"i": 0}  # read back from the store into memory
    assert all(buffer[f"item{i}"] == {"i": i} for i in range(5))


def test_buffer_moves_objects_out_of_the_store(store: Store) -> None:
    """Reading a spilled key through Buffer deletes it from the store: unfit for sharing."""
    slow = zict.Func(_dumps, _loads, CloudMapping(store))
    buffer: zict.Buffer[str, object] = zict.Buffer(
        fast={}, slow=slow, n=1, weight=lambda _k, _v: 1
    )
    buffer["a"] = 1
    buffer["b"] = 2
    assert [item.key for item in store.list()] == ["a"]
    assert buffer["a"] == 1
    assert [item.key for item in store.list()] == ["b"]


def test_cache_layer_does_not_see_keys_written_by_others(store: Store) -> None:
    """zict.Cache raises KeyError for keys another worker wrote: use cache= instead."""
    writer: CloudMapping[bytes] = CloudMapping(store)
    reader_data: CloudMapping[bytes] = CloudMapping(store)
    cache: zict.Cache[str, bytes] = zict.Cache(data=reader_data, cache={})
    writer["k"] = b"v"
    with pytest.raises(KeyError):
        cache["k"]


# -- zict's own generic checks, over a CloudMapping on every store --------------


def test_zict_check_mapping(store: Store) -> None:
    """zict's check_mapping: the full MutableMapping protocol, views included."""
    check_mapping(CloudMapping[bytes](store))


def test_zict_check_bad_key_types(store: Store) -> None:
    """Non-str keys miss on lookup, like dict; writes with them raise TypeError."""
    m: CloudMapping[bytes] = CloudMapping(store)
    m["k"] = b"v"
    check_bad_key_types(m)
    bad = object()
    assert m.get(bad, b"d") == b"d"  # type: ignore[call-overload]
    assert m.pop(bad, b"d") == b"d"  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="object"):
        m[bad] = b"v"  # type: ignore[index]
    assert [item.key for item in store.list()] == ["k"]


def test_zict_check_different_keys_threadsafe(store: Store) -> None:
    """zict's two-thread check: each thread writes, reads and deletes its own key."""
    check_different_keys_threadsafe(CloudMapping[bytes](store))


def test_zict_check_same_key_threadsafe(store: Store) -> None:
    """zict's four-thread check on one key: one mapping never conflicts with itself."""
    m: CloudMapping[bytes] = CloudMapping(store)
    check_same_key_threadsafe(m)
    assert "x" not in m
    assert list(store.list()) == []
