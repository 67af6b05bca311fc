"""The change feed on every store: exactly what others did, never our own writes."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

from cloudmap import CloudMapping, codecs
from cloudmap.changes import Changes
from tests.recording import RecordingStore

if TYPE_CHECKING:
    from tests.conftest import StoreFactory


def mapping(factory: StoreFactory, **kwargs: Any) -> CloudMapping[Any]:
    return CloudMapping(factory(), codec=codecs.json(), **kwargs)


def changes(
    added: tuple[str, ...] = (),
    modified: tuple[str, ...] = (),
    deleted: tuple[str, ...] = (),
) -> Changes:
    return Changes(frozenset(added), frozenset(modified), frozenset(deleted))


@pytest.fixture
def seeded(store_factory: StoreFactory) -> tuple[CloudMapping[Any], CloudMapping[Any]]:
    """A watcher and another worker's mapping, both holding keys a, b, c."""
    other = mapping(store_factory)
    other.update({"a": 1, "b": 2, "c": 3})
    return mapping(store_factory), other


def test_another_mappings_changes_are_reported_exactly(
    seeded: tuple[CloudMapping[Any], CloudMapping[Any]],
) -> None:
    """Added, modified and deleted keys match what another mapping did."""
    m, other = seeded
    other["d"] = 4
    other["a"] = 10
    del other["b"]
    found = m.changes()
    assert found == changes(added=("d",), modified=("a",), deleted=("b",))
    assert list(found) == [("added", "d"), ("modified", "a"), ("deleted", "b")]
    assert sorted(m) == ["a", "c", "d"]
    assert m["a"] == 10  # the new etag was installed: no conflict
    assert m.changes() == changes()


def test_raw_store_writes_are_reported(
    seeded: tuple[CloudMapping[Any], CloudMapping[Any]],
    store_factory: StoreFactory,
) -> None:
    """Writes made directly on the store, below any mapping, are reported too."""
    m, _ = seeded
    raw = store_factory()
    raw.put("e", b"5")
    raw.put("c", b"30")
    raw.delete("a")
    assert m.changes() == changes(added=("e",), modified=("c",), deleted=("a",))


def test_own_writes_never_appear(
    seeded: tuple[CloudMapping[Any], CloudMapping[Any]],
) -> None:
    """Creating, replacing, modifying and deleting through the mapping reports nothing."""
    m, _ = seeded
    m["new"] = 1
    m["a"] = 100
    m.create("created", 2)
    m.modify("b", lambda v: v + 1)
    m.set("c", 0, force=True)
    del m["new"]
    assert m.changes() == changes()


def test_apply_false_only_looks(
    seeded: tuple[CloudMapping[Any], CloudMapping[Any]],
) -> None:
    """apply=False leaves the held etags as they were, so the same changes show again."""
    m, other = seeded
    other["a"] = 10
    del other["c"]
    held = dict(m.etags)
    expected = changes(modified=("a",), deleted=("c",))
    assert m.changes(apply=False) == expected
    assert dict(m.etags) == held
    assert m.changes(apply=False) == expected
    assert m.changes() == expected
    assert dict(m.etags) != held
    assert m.changes(apply=False) == changes()


def test_rewriting_equal_bytes_is_invisible_on_s3_only(
    seeded: tuple[CloudMapping[Any], CloudMapping[Any]],
    request: pytest.FixtureRequest,
) -> None:
    """S3's etag is the MD5 of the bytes, so A -> B -> A between polls shows nothing.

    Every other store gives each write a new etag, so the same rewrite shows.
    """
    m, other = seeded
    other["a"] = 99
    other["a"] = 1  # back to the bytes the watcher last saw
    on_s3 = request.node.callspec.params["store_factory"] in {"s3", "s3_obstore"}
    assert m.changes() == (changes() if on_s3 else changes(modified=("a",)))


def test_prefix_limits_the_listing(store_factory: StoreFactory) -> None:
    """changes(prefix) lists and reports only keys under the prefix."""
    other = mapping(store_factory, key_prefix="app/")
    m = mapping(store_factory, key_prefix="app/")
    other.update({"cfg/x": 1, "data/y": 2})
    assert m.changes("cfg/") == changes(added=("cfg/x",))
    assert "data/y" not in m
    assert m.changes() == changes(added=("data/y",))


def test_lock_objects_are_left_out(store_factory: StoreFactory) -> None:
    """A lock object is neither a key nor a change, unless looked for on purpose."""
    m = mapping(store_factory)
    with mapping(store_factory).lock("job", ttl=10):
        assert m.changes() == changes()
        m.sync_with_cloud()
        assert list(m) == []
        locks = mapping(store_factory, key_prefix=".cloudmap-locks/")
        assert list(locks) == ["job"]
        assert locks.changes() == changes()


def test_changed_keys_drop_their_cached_values(store_factory: StoreFactory) -> None:
    """After changes(), a cached mapping reads the other worker's new value."""
    m = mapping(store_factory, cache=True)
    other = mapping(store_factory)
    other["k"] = 1
    m.changes()
    assert m["k"] == 1
    other["k"] = 2
    assert m.changes() == changes(modified=("k",))
    assert m["k"] == 2


def test_saved_etags_round_trip_through_json(
    seeded: tuple[CloudMapping[Any], CloudMapping[Any]],
    store_factory: StoreFactory,
) -> None:
    """A worker restarted from etags saved as JSON sees what changed meanwhile."""
    m, other = seeded
    saved = json.dumps(dict(m.etags))
    other["a"] = 10
    other["z"] = 26
    resumed = mapping(store_factory, sync_initially=False)
    resumed.restore_etags(json.loads(saved))
    assert dict(resumed.etags) == json.loads(saved)
    assert resumed.changes() == changes(added=("z",), modified=("a",))


def test_changes_is_one_listing_and_nothing_per_key(
    store_factory: StoreFactory,
) -> None:
    """changes() sends one listing call, whatever changed, and reads no key."""
    other = mapping(store_factory)
    other.update({f"k{i}": i for i in range(20)})
    store = RecordingStore(store_factory())
    m: CloudMapping[Any] = CloudMapping(store, codec=codecs.json())
    other.update({f"k{i}": -i - 1 for i in range(10)})
    other.delete_many([f"k{i}" for i in range(15, 20)])
    store.reset()
    assert len(m.changes(apply=False)) == 15
    assert len(m.changes()) == 15
    assert store.ops() == ["list", "list"]


def test_watch_polls_every_interval_and_stops(store_factory: StoreFactory) -> None:
    """watch() yields non-empty batches, pauses interval ± jitter, and ends on stop."""
    m = mapping(store_factory)
    other = mapping(store_factory)
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # a change lands during the second pause
            other["cfg"] = len(pauses)

    batches = list(m.watch(30, 0.1, stop=lambda: len(pauses) >= 4, sleep=sleep))
    assert batches == [changes(added=("cfg",))]
    assert len(pauses) == 4
    assert all(27 <= pause <= 33 for pause in pauses)
    assert len(set(pauses)) > 1  # jittered


def test_watch_ends_when_the_event_is_set(store_factory: StoreFactory) -> None:
    """A set Event ends the watch; without an injected sleep it waits on the Event."""
    m = mapping(store_factory)
    other = mapping(store_factory)
    other["a"] = 1
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)  # wakes the hour-long wait early
    timer.start()
    assert list(m.watch(interval=3600, stop=stop)) == [changes(added=("a",))]
    timer.join()


def test_watch_rejects_bad_timing() -> None:
    """A negative interval or a jitter outside [0, 1) is refused."""
    from cloudmap.stores import MemoryStore  # noqa: PLC0415

    m: CloudMapping[Any] = CloudMapping(MemoryStore())
    with pytest.raises(ValueError, match="jitter"):
        m.watch(interval=1, jitter=1.5)
    with pytest.raises(ValueError, match="interval"):
        m.watch(interval=-1)
