"""CloudMapping semantics (DESIGN.md's table), over every store."""

from __future__ import annotations

import pytest

from cloudmap import (
    BulkError,
    CloudMapping,
    EtagMismatchError,
    KeyExistsError,
    KeySyncError,
)
from cloudmap.codecs import CODEC_METADATA_KEY, json, pickle, zlib
from cloudmap.errors import CodecError
from cloudmap.stores import Store
from tests.conftest import StoreFactory
from tests.recording import RecordingStore


@pytest.fixture
def pair(
    store_factory: StoreFactory,
) -> tuple[CloudMapping[bytes], CloudMapping[bytes]]:
    """Two workers' mappings over the same storage."""
    return CloudMapping(store_factory()), CloudMapping(store_factory())


def test_set_then_get(store: Store) -> None:
    """A written value reads back, and the key is known locally."""
    m: CloudMapping[bytes] = CloudMapping(store)
    m["a"] = b"1"
    assert m["a"] == b"1"
    assert "a" in m
    assert list(m) == ["a"]
    assert len(m) == 1


def test_unknown_key_raises_key_error(store: Store) -> None:
    """Reading or deleting a key the mapping has not seen raises KeyError."""
    m: CloudMapping[bytes] = CloudMapping(store)
    with pytest.raises(KeyError):
        m["nope"]
    with pytest.raises(KeyError):
        del m["nope"]
    assert m.get("nope", b"d") == b"d"


def test_sync_initially_learns_existing_keys(store: Store) -> None:
    """A new mapping lists the store once and knows every key's etag."""
    etag = store.put("x", b"1")
    m: CloudMapping[bytes] = CloudMapping(store)
    assert m.etags == {"x": etag}
    assert m["x"] == b"1"


def test_sync_initially_false_knows_nothing(store: Store) -> None:
    """With sync_initially=False the mapping starts empty and refuses blind writes."""
    store.put("x", b"1")
    m: CloudMapping[bytes] = CloudMapping(store, sync_initially=False)
    assert len(m) == 0
    with pytest.raises(KeyExistsError):
        m["x"] = b"2"
    assert store.get("x").data == b"1"  # type: ignore[union-attr]


def test_write_after_remote_change_raises(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """A write conditioned on a stale etag raises KeySyncError and keeps the other's value."""
    a, b = pair
    a["k"] = b"a1"
    b.sync_with_cloud()
    b["k"] = b"b1"
    with pytest.raises(KeySyncError) as info:
        a["k"] = b"a2"
    assert not isinstance(info.value, KeyError)
    assert info.value.key == "k"
    assert info.value.expected_etag == a.etags["k"]
    assert b["k"] == b"b1"


def test_read_after_remote_change_raises(pair: tuple[CloudMapping[bytes], ...]) -> None:
    """A read of a key changed elsewhere raises KeySyncError, not a stale value."""
    a, b = pair
    a["k"] = b"a1"
    b.sync_with_cloud()
    b["k"] = b"b1"
    with pytest.raises(EtagMismatchError):
        a["k"]
    with pytest.raises(KeySyncError):
        a.get("k", b"default")


def test_read_after_remote_delete_raises(pair: tuple[CloudMapping[bytes], ...]) -> None:
    """A read of a key deleted elsewhere raises KeySyncError with no actual etag."""
    a, b = pair
    a["k"] = b"a1"
    b.sync_with_cloud()
    del b["k"]
    with pytest.raises(EtagMismatchError) as info:
        a["k"]
    assert info.value.actual_etag is None


def test_delete_after_remote_change_raises(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """A delete conditioned on a stale etag raises and leaves the object."""
    a, b = pair
    a["k"] = b"a1"
    b.sync_with_cloud()
    b["k"] = b"b1"
    with pytest.raises(KeySyncError):
        del a["k"]
    assert "k" in a
    assert b["k"] == b"b1"


def test_create_of_remotely_created_key_raises(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """Writing a key unknown locally is create-only: an existing object wins."""
    a, b = pair
    a["k"] = b"a1"
    with pytest.raises(KeyExistsError):
        b["k"] = b"b1"
    with pytest.raises(KeyExistsError):
        b.setdefault("k", b"b1")
    assert a["k"] == b"a1"


def test_sync_with_cloud_drops_remote_deletions(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """A full sync replaces the etag table: deleted keys vanish, new keys appear."""
    a, b = pair
    a["gone"] = b"1"
    b.sync_with_cloud()
    del a["gone"]
    a["new"] = b"2"
    b.sync_with_cloud()
    assert set(b) == {"new"}
    assert b.etags == a.etags


def test_sync_with_cloud_one_key(pair: tuple[CloudMapping[bytes], ...]) -> None:
    """sync_with_cloud(key) refreshes or drops just that key."""
    a, b = pair
    a["x"] = b"1"
    a["y"] = b"2"
    b.sync_with_cloud("x")
    assert set(b) == {"x"}
    b["x"] = b"b"
    a.sync_with_cloud("x")
    assert a["x"] == b"b"
    del b["x"]
    a.sync_with_cloud("x")
    assert "x" not in a


def test_pop_and_popitem_are_conditional(pair: tuple[CloudMapping[bytes], ...]) -> None:
    """pop() returns the value and deletes it; a conflict is never hidden by a default."""
    a, b = pair
    a["k"] = b"1"
    assert a.pop("k") == b"1"
    assert "k" not in a
    assert a.pop("k", b"d") == b"d"
    a["k"] = b"2"
    b.sync_with_cloud()
    b["k"] = b"3"
    with pytest.raises(KeySyncError):
        a.pop("k", b"d")


def test_update_clear_items_values(store: Store) -> None:
    """update, items, values and clear behave like dict's."""
    m: CloudMapping[bytes] = CloudMapping(store)
    m.update({"a": b"1", "b": b"2"}, c=b"3")
    assert dict(m.items()) == {"a": b"1", "b": b"2", "c": b"3"}
    assert sorted(m.values()) == [b"1", b"2", b"3"]
    m.clear()
    assert len(m) == 0
    assert list(store.list()) == []


def test_clear_reports_conflicts_and_deletes_the_rest(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """clear() deletes what it can and raises BulkError naming keys changed elsewhere."""
    a, b = pair
    a.update({"x": b"1", "y": b"2"})
    b.sync_with_cloud()
    b["y"] = b"changed"
    with pytest.raises(BulkError) as info:
        a.clear()
    assert set(info.value.errors) == {"y"}
    assert isinstance(info.value.errors["y"], KeySyncError)
    b.sync_with_cloud()
    assert dict(b.items()) == {"y": b"changed"}


def test_bulk_get_many_reports_missing_and_stale(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """get_many returns what it read and names each failing key with its error."""
    a, b = pair
    a.update({"x": b"1", "y": b"2"})
    b.sync_with_cloud()
    b["y"] = b"3"
    with pytest.raises(BulkError) as info:
        a.get_many(["x", "y", "zz"])
    assert info.value.results == {"x": b"1"}
    assert isinstance(info.value.errors["y"], KeySyncError)
    assert isinstance(info.value.errors["zz"], KeyError)
    assert b.get_many(["x", "y"]) == {"x": b"1", "y": b"3"}


def test_create_is_create_only(pair: tuple[CloudMapping[bytes], ...]) -> None:
    """create() succeeds once; a second create by anyone raises KeyExistsError."""
    a, b = pair
    a.create("lock", b"a")
    with pytest.raises(KeyExistsError):
        b.create("lock", b"b")
    with pytest.raises(KeyExistsError):
        a.create("lock", b"again")
    assert a["lock"] == b"a"


def test_force_set_overwrites_unconditionally(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """set(force=True) replaces whatever is stored and records the new etag."""
    a, b = pair
    a["k"] = b"a"
    b.set("k", b"b", force=True)
    assert b["k"] == b"b"
    b.set("k", b"c")
    assert b["k"] == b"c"


def test_modify_applies_function_atomically(store: Store) -> None:
    """modify() reads the latest value, applies fn, and returns the new value."""
    m: CloudMapping[object] = CloudMapping(store, codec=json())
    assert m.modify("n", lambda v: v + 1, default=0) == 1  # type: ignore[operator]
    other: CloudMapping[object] = CloudMapping(store, codec=json())
    other["n"] = 10
    # `m` holds a stale etag, but modify reads the latest value first.
    assert m.modify("n", lambda v: v * 2) == 20  # type: ignore[operator]
    assert m["n"] == 20
    with pytest.raises(KeyError):
        m.modify("missing", lambda v: v)


def test_read_blindly_returns_latest_and_records_etag(
    pair: tuple[CloudMapping[bytes], ...],
) -> None:
    """A blind read returns the latest value or the default, and a later write is conditional."""
    a, _ = pair
    blind: CloudMapping[bytes] = CloudMapping(
        a.store, sync_initially=False, read_blindly=True, read_blindly_default=b"none"
    )
    assert blind["k"] == b"none"
    a["k"] = b"1"
    assert blind["k"] == b"1"
    assert blind.etags["k"] == a.etags["k"]
    blind["k"] = b"2"
    with pytest.raises(KeySyncError):
        a["k"] = b"3"


def test_key_prefix_isolates_mappings(store: Store) -> None:
    """Mappings with different prefixes see only their own keys."""
    jobs: CloudMapping[bytes] = CloudMapping(store, key_prefix="jobs/")
    logs: CloudMapping[bytes] = CloudMapping(store, key_prefix="logs/")
    jobs["1"] = b"j"
    logs["1"] = b"l"
    jobs.sync_with_cloud()
    assert dict(jobs.items()) == {"1": b"j"}
    assert sorted(item.key for item in store.list()) == ["jobs/1", "logs/1"]


def test_prefixed_conflict_names_the_mapping_key(store: Store) -> None:
    """A conflict under a prefix names the key as the mapping knows it."""
    a: CloudMapping[bytes] = CloudMapping(store, key_prefix="p/")
    a["k"] = b"1"
    store.put("p/k", b"other")
    with pytest.raises(KeySyncError) as info:
        a["k"] = b"2"
    assert info.value.key == "k"


def test_codec_tag_is_written_and_checked(store: Store) -> None:
    """Values carry their codec name; another chain refuses to decode them."""
    m: CloudMapping[object] = CloudMapping(store, codec=json() | zlib(9))
    m["k"] = {"a": [1, 2]}
    assert store.get("k").metadata[CODEC_METADATA_KEY] == "json|zlib"  # type: ignore[union-attr]
    assert m["k"] == {"a": [1, 2]}
    other: CloudMapping[object] = CloudMapping(store, codec=pickle())
    with pytest.raises(CodecError, match=r"'k'.*json\|zlib.*pickle"):
        other["k"]


def test_untagged_values_use_the_configured_codec(store: Store) -> None:
    """Objects written by other tools (no tag) are decoded with the mapping's codec."""
    store.put("k", b'{"x": 1}')
    m: CloudMapping[object] = CloudMapping(store, codec=json())
    assert m["k"] == {"x": 1}


def test_undecodable_bytes_raise_codec_error(store: Store) -> None:
    """Corrupt stored bytes raise CodecError naming the key."""
    store.put("k", b"not zlib")
    m: CloudMapping[object] = CloudMapping(store, codec=pickle() | zlib())
    with pytest.raises(CodecError, match="'k'"):
        m["k"]


def test_unencodable_value_changes_nothing(store: Store) -> None:
    """A value the codec cannot encode raises CodecError before any write."""
    m: CloudMapping[object] = CloudMapping(store, codec=json())
    with pytest.raises(CodecError, match="'k'"):
        m["k"] = {1, 2}
    raw: CloudMapping[object] = CloudMapping(store)
    with pytest.raises(CodecError, match="bytes"):
        raw["k"] = "text"
    assert list(store.list()) == []


@pytest.mark.parametrize(
    ("key", "error"), [(1, TypeError), ("", ValueError), ("a\x00", ValueError)]
)
def test_bad_keys_raise_before_any_request(
    store: Store, key: object, error: type[Exception]
) -> None:
    """Invalid keys raise TypeError/ValueError naming the key."""
    m: CloudMapping[bytes] = CloudMapping(store)
    with pytest.raises(error):
        m[key] = b"v"  # type: ignore[index]
    assert list(store.list()) == []


def test_etags_view_is_read_only(store: Store) -> None:
    """The etags view reflects writes and cannot be assigned to."""
    m: CloudMapping[bytes] = CloudMapping(store)
    view = m.etags
    m["a"] = b"1"
    assert "a" in view
    with pytest.raises(TypeError):
        view["a"] = "forged"  # type: ignore[index]


def test_constructors_pick_the_codec(store: Store) -> None:
    """with_pickle/with_json/with_json_zlib/with_buffers choose the codec chain."""
    assert CloudMapping.with_pickle(store).codec.name == "pickle"
    assert CloudMapping.with_json(store).codec.name == "json"
    assert CloudMapping.with_json_zlib(store).codec.name == "json|zlib"
    m = CloudMapping.with_buffers([str.encode], [bytes.decode], store)
    m["s"] = "text"
    assert m["s"] == "text"
    assert store.get("s").data == b"text"  # type: ignore[union-attr]


def test_context_manager_and_repr(store: Store) -> None:
    """A mapping is a context manager and its repr names store, codec and size."""
    with CloudMapping[object](store, codec=json(), key_prefix="p/") as m:
        m["a"] = 1
        assert repr(m).endswith("prefix='p/' codec=json keys=1>")


def test_latest_reads_whatever_etag_is_held(store: Store) -> None:
    """`latest` returns the stored bytes and value in one read and holds its etag."""
    recorded = RecordingStore(store)
    m: CloudMapping[object] = CloudMapping(recorded, codec=json(), key_prefix="p")
    m["k"] = [1]
    other: CloudMapping[object] = CloudMapping(store, codec=json(), key_prefix="p")
    other["k"] = [2]
    recorded.reset()

    found = m.latest("k")
    assert found is not None
    assert found[1] == [2]
    assert json().loads(found[0], key="k") == [2]
    assert recorded.ops() == ["get"]
    assert m.etags["k"] == other.etags["k"]
    m["k"] = [3]  # conditioned on the etag `latest` saw: no conflict

    del m["k"]
    assert other.latest("k") is None
    assert "k" not in other
