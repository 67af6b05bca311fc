"""Request economy at the Store level: one call per get, set and delete.

Each Store call is one HTTP request on the cloud stores; the HTTP-level counts
on the emulators are in tests/test_http_requests.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmap import CloudMapping
from cloudmap.stores import Replace
from tests.recording import RecordingStore

if TYPE_CHECKING:
    from tests.conftest import StoreFactory


def test_get_set_delete_are_one_call_each(store_factory: StoreFactory) -> None:
    """Create, replace, read and delete each make exactly one conditional call."""
    store = RecordingStore(store_factory())
    m: CloudMapping[bytes] = CloudMapping(store)
    store.reset()
    m["k"] = b"1"
    assert store.ops() == ["put"]
    first = m.etags["k"]
    m["k"] = b"2"
    second = m.etags["k"]
    assert store.ops() == ["put", "put"]
    assert m["k"] == b"2"
    assert store.ops() == ["put", "put", "get"]
    del m["k"]
    assert store.ops() == ["put", "put", "get", "delete"]
    create, replace, read, delete = (call.kwargs for call in store.calls)
    assert create["mode"] == "create"
    assert replace["mode"] == Replace(first)
    assert read["if_match"] == delete["if_match"] == second
    m.close()


def test_len_contains_iter_make_no_calls(store_factory: StoreFactory) -> None:
    """len, in and iteration answer from the held etags without a request."""
    store = RecordingStore(store_factory())
    m: CloudMapping[bytes] = CloudMapping(store)
    m.update({f"k{i}": b"v" for i in range(5)})
    store.reset()
    assert len(m) == 5
    assert "k1" in m
    assert "nope" not in m
    assert sorted(m) == [f"k{i}" for i in range(5)]
    assert store.calls == []
    m.close()


def test_sync_with_cloud_is_one_listing(store_factory: StoreFactory) -> None:
    """sync_with_cloud() lists once and reads no key."""
    writer: CloudMapping[bytes] = CloudMapping(store_factory())
    writer.update({f"k{i}": b"v" for i in range(30)})
    store = RecordingStore(store_factory())
    m: CloudMapping[bytes] = CloudMapping(store)
    assert store.ops() == ["list"]
    m.sync_with_cloud()
    assert store.ops() == ["list", "list"]
    assert len(m) == 30
    writer.close()
    m.close()


def test_unknown_key_makes_no_call(store_factory: StoreFactory) -> None:
    """Reading or deleting a key the mapping does not hold raises KeyError locally."""
    store = RecordingStore(store_factory())
    m: CloudMapping[bytes] = CloudMapping(store)
    store.reset()
    assert m.get("missing") is None
    assert store.calls == []
    m.close()
