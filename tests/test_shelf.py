"""cloudmap.open() and Shelf: shelve's behaviour, ported from CPython's test_shelve."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import cloudmap
from cloudmap import BulkError, KeySyncError, ReadOnlyError, StoreError
from cloudmap.errors import CodecError
from cloudmap.stores import Store

REFERENCE = {"key1": "value1", "key2": 2, "key3": (1, 2, 3)}


# -- ported from CPython's Lib/test/test_shelve.py (TestCase) --------------------


def test_closed_shelf_refuses_every_operation(tmp_path: Path) -> None:
    """After close(), len and item access raise ValueError, as shelve's do."""
    s = cloudmap.open(tmp_path / "db", protocol=2)
    s["key1"] = [1, 2, 3, 4]
    assert s["key1"] == [1, 2, 3, 4]
    assert len(s) == 1
    s.close()
    with pytest.raises(ValueError, match="closed shelf"):
        len(s)
    with pytest.raises(ValueError, match="closed shelf"):
        s["key1"]
    with pytest.raises(ValueError, match="closed shelf"):
        s["key2"] = 1
    s.close()  # closing twice is harmless


@pytest.mark.parametrize("protocol", [0, 1, 2, None])
def test_file_shelf_round_trips_with_each_pickle_protocol(
    tmp_path: Path, protocol: int | None
) -> None:
    """A tuple stored under any pickle protocol reads back equal, after reopening."""
    with cloudmap.open(tmp_path / "db", protocol=protocol) as s:
        s["key1"] = (1, 2, 3, 4)
        assert s["key1"] == (1, 2, 3, 4)
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert s["key1"] == (1, 2, 3, 4)


def test_protocols_store_different_bytes(tmp_path: Path) -> None:
    """The protocol argument reaches pickle: protocol 0 and 2 store different bytes."""
    for protocol in (0, 2):
        with cloudmap.open(tmp_path / f"p{protocol}", protocol=protocol) as s:
            s["key1"] = (1, 2, 3, 4)
    zero = (tmp_path / "p0" / "key1").read_bytes()
    two = (tmp_path / "p2" / "key1").read_bytes()
    assert zero != two
    assert pickle.loads(zero) == pickle.loads(two) == (1, 2, 3, 4)


def test_mutating_a_value_without_writeback_is_not_stored(tmp_path: Path) -> None:
    """Without writeback, s[k].append() mutates a copy; with it, the change persists."""
    with cloudmap.open(tmp_path / "plain", writeback=False) as s:
        s["key1"] = [1, 2, 3, 4]
        s["key1"].append(5)
        assert s["key1"] == [1, 2, 3, 4]
    with cloudmap.open(tmp_path / "wb", writeback=True) as s:
        s["key1"] = [1, 2, 3, 4]
        s["key1"].append(5)
        assert s["key1"] == [1, 2, 3, 4, 5]
    with cloudmap.open(tmp_path / "wb", "r") as s:
        assert s["key1"] == [1, 2, 3, 4, 5]


def test_writeback_also_writes_immediately(tmp_path: Path) -> None:
    """With writeback, an assignment reaches the store at once (CPython issue 5754)."""
    with cloudmap.open(tmp_path / "db", writeback=True) as s:
        s["key"] = [1]
        first = (tmp_path / "db" / "key").read_bytes()
        s["key"].append(2)
    second = (tmp_path / "db" / "key").read_bytes()
    assert pickle.loads(first) == [1]
    assert pickle.loads(second) == [1, 2]


def test_with_statement_closes_the_shelf(tmp_path: Path) -> None:
    """Leaving a with block closes the shelf."""
    with cloudmap.open(tmp_path / "db") as s:
        s["key1"] = [1, 2, 3, 4]
        assert len(s) == 1
    with pytest.raises(ValueError, match="closed shelf"):
        len(s)


# -- ported from CPython's TestShelveBase (BasicTestMappingProtocol) -------------


@pytest.mark.parametrize("writeback", [False, True])
def test_mapping_protocol_on_every_store(store: Store, writeback: bool) -> None:
    """A shelf on any store behaves as a dict for the mapping protocol."""
    with cloudmap.open(store, writeback=writeback) as s:
        assert len(s) == 0
        assert list(s) == []
        assert "key1" not in s
        with pytest.raises(KeyError):
            s["key1"]
        s.update(REFERENCE)
        assert len(s) == 3
        assert sorted(s) == sorted(REFERENCE)
        assert dict(s.items()) == REFERENCE
        assert sorted(map(repr, s.values())) == sorted(map(repr, REFERENCE.values()))
        assert s.get("key2") == 2
        assert s.get("missing") is None
        assert s.get("missing", 7) == 7
        assert s.setdefault("key2", 9) == 2
        assert s.pop("key1") == "value1"
        assert "key1" not in s
        assert s.pop("key1", "gone") == "gone"
        del s["key3"]
        with pytest.raises(KeyError):
            del s["key3"]
        s["key2"] = "replaced"
        assert dict(s) == {"key2": "replaced"}
        s.clear()
        assert len(s) == 0


# -- cloudmap's own flags, writeback and conflicts ---------------------------------


def test_cpython_docs_example_runs_with_only_the_import_changed(tmp_path: Path) -> None:
    """The example of CPython's shelve documentation runs unchanged on cloudmap."""
    filename, key, data = str(tmp_path / "docs-example"), "spam", {"eggs": 1}

    import cloudmap as shelve  # noqa: PLC0415 - the only change to the example

    d = shelve.open(filename)  # open -- file may get suffix added by low-level
    # library

    d[key] = data  # store data at key (overwrites old data if
    # using an existing key)
    data = d[key]  # retrieve a COPY of data at key (raise KeyError
    # if no such key)
    del d[key]  # delete data stored at key (raises KeyError
    # if no such key)

    flag = key in d  # true if the key exists
    klist = list(d.keys())  # a list of all existing keys (slow!)

    # as d was opened WITHOUT writeback=True, beware:
    d["xx"] = [0, 1, 2]  # this works as expected, but...
    d["xx"].append(3)  # *this doesn't!* -- d['xx'] is STILL [0, 1, 2]!

    # having opened d without writeback=True, you need to code carefully:
    temp = d["xx"]  # extracts the copy
    temp.append(5)  # mutates the copy
    d["xx"] = temp  # stores the copy right back, to persist it

    # or, d=shelve.open(filename,writeback=True) would let you just code
    # d['xx'].append(5) and have it work as expected, BUT it would also
    # consume more memory and make the d.close() operation slower.

    d.close()  # close it

    assert data == {"eggs": 1}
    assert flag is False
    assert klist == []
    with shelve.open(filename, "r") as check:
        assert dict(check) == {"xx": [0, 1, 2, 5]}


def test_read_only_flag_refuses_writes(tmp_path: Path) -> None:
    """Flag 'r' reads existing data and raises ReadOnlyError on every write."""
    with cloudmap.open(tmp_path / "db") as s:
        s["a"] = 1
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert s["a"] == 1
        with pytest.raises(ReadOnlyError):
            s["a"] = 2
        with pytest.raises(ReadOnlyError):
            del s["a"]
        with pytest.raises(ReadOnlyError):
            s.clear()
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert dict(s) == {"a": 1}


@pytest.mark.parametrize("flag", ["r", "w"])
def test_read_and_write_flags_need_an_existing_directory(
    tmp_path: Path, flag: str
) -> None:
    """Flags 'r' and 'w' do not create a missing directory; 'c' does."""
    with pytest.raises(StoreError, match="does not exist"):
        cloudmap.open(tmp_path / "missing", flag)  # type: ignore[arg-type]
    assert not (tmp_path / "missing").exists()
    cloudmap.open(tmp_path / "missing", "c").close()
    with cloudmap.open(tmp_path / "missing", flag) as s:  # type: ignore[arg-type]
        assert len(s) == 0


def test_new_flag_empties_the_store(tmp_path: Path) -> None:
    """Flag 'n' deletes every existing key before use."""
    with cloudmap.open(tmp_path / "db") as s:
        s.update({"a": 1, "b": 2})
    with cloudmap.open(tmp_path / "db", "n") as s:
        assert len(s) == 0
        s["c"] = 3
    with cloudmap.open(tmp_path / "db", "w") as s:
        assert dict(s) == {"c": 3}


def test_unknown_flag_and_codec_are_refused(tmp_path: Path) -> None:
    """A flag outside r/w/c/n, an unknown codec or a protocol without pickle is a ValueError."""
    with pytest.raises(ValueError, match="flag"):
        cloudmap.open(tmp_path / "db", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="codec"):
        cloudmap.open(tmp_path / "db", codec="yaml")
    with pytest.raises(ValueError, match="protocol"):
        cloudmap.open(tmp_path / "db", protocol=2, codec="json")
    assert not (tmp_path / "db").exists()


def test_json_codec_writes_readable_json(tmp_path: Path) -> None:
    """codec='json' stores plain JSON that other tools can read."""
    with cloudmap.open(tmp_path / "db", codec="json") as s:
        s["cfg"] = {"workers": 4}
    assert (tmp_path / "db" / "cfg").read_text() == '{"workers": 4}'


def test_writeback_writes_only_changed_values(tmp_path: Path) -> None:
    """On sync(), writeback rewrites only the entries whose bytes changed."""
    with cloudmap.open(tmp_path / "db") as s:
        s.update({f"k{i}": [i] for i in range(5)})
    with cloudmap.open(tmp_path / "db", writeback=True) as s:
        mapping = s.mapping
        assert isinstance(mapping, cloudmap.CloudMapping)
        before = dict(mapping.etags)
        for i in range(5):
            assert s[f"k{i}"] == [i]
        s["k3"].append("changed")
        s.sync()
        after = dict(mapping.etags)
    assert {k for k in before if before[k] != after[k]} == {"k3"}
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert s["k3"] == [3, "changed"]


def test_writeback_conflict_raises_and_keeps_the_other_write(tmp_path: Path) -> None:
    """A cached value changed by another writer raises KeySyncError on close; theirs stays."""
    with cloudmap.open(tmp_path / "db") as s:
        s["counter"] = [0]
    mine = cloudmap.open(tmp_path / "db", writeback=True)
    mine["counter"].append("mine")
    with cloudmap.open(tmp_path / "db") as theirs:
        theirs["counter"] = [0, "theirs"]
    with pytest.raises(KeySyncError) as info:
        mine.close()
    assert info.value.key == "counter"
    with pytest.raises(ValueError, match="closed shelf"):
        len(mine)
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert s["counter"] == [0, "theirs"]


def test_failed_writeback_stays_cached_for_another_sync(tmp_path: Path) -> None:
    """After a conflict on sync(), refreshing the key and syncing again succeeds."""
    with cloudmap.open(tmp_path / "db") as s:
        s.update({"a": [1], "b": [2]})
    with cloudmap.open(tmp_path / "db", writeback=True) as mine:
        mine["a"].append("mine")
        mine["b"].append("mine")
        with cloudmap.open(tmp_path / "db") as theirs:
            theirs["a"] = ["theirs"]
        with pytest.raises(KeySyncError):
            mine.sync()
        assert set(mine.cache) == {"a"}
        mapping = mine.mapping
        assert isinstance(mapping, cloudmap.CloudMapping)
        mapping.sync_with_cloud("a")
        mine.sync()
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert dict(s) == {"a": [1, "mine"], "b": [2, "mine"]}


def test_sync_sees_keys_written_by_others(store: Store) -> None:
    """sync() refreshes the key listing, so keys written elsewhere appear."""
    with cloudmap.open(store) as mine:
        other = cloudmap.CloudMapping.with_pickle(store)
        other["new"] = 1
        assert "new" not in mine
        mine.sync()
        assert mine["new"] == 1


def test_memory_urls_share_one_store_per_name() -> None:
    """Two shelves on memory://name see each other's data; other names do not."""
    with cloudmap.open("memory://shelf-test-shared/p") as a:
        a["x"] = 1
    with cloudmap.open("memory://shelf-test-shared/p", "r") as b:
        assert b["x"] == 1
    with cloudmap.open("memory://shelf-test-other/p", "r") as c:
        assert "x" not in c


# -- more of CPython's test_shelve: bytes paths, default protocol -----------------


class _BytesPath:
    """An os.PathLike whose __fspath__ returns bytes (CPython's FakePath)."""

    def __init__(self, path: bytes) -> None:
        self._path = path

    def __fspath__(self) -> bytes:
        return self._path


@pytest.mark.parametrize("kind", ["bytes", "pathlike-bytes"])
def test_open_takes_bytes_paths(tmp_path: Path, kind: str) -> None:
    """shelve.open accepts bytes and path-likes returning bytes; so does cloudmap.open."""
    raw = os.fsencode(tmp_path / "db")
    target = raw if kind == "bytes" else _BytesPath(raw)
    with cloudmap.open(target) as s:
        s["key1"] = REFERENCE
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert s["key1"] == REFERENCE


def test_default_protocol_is_pickles_default(store: Store) -> None:
    """Values are pickled with pickle.DEFAULT_PROTOCOL, as shelve does."""
    with cloudmap.open(store) as s:
        s["k"] = REFERENCE
        stored = store.get("k")  # closing the shelf closes the store
    assert stored is not None
    assert stored.data == pickle.dumps(REFERENCE, protocol=pickle.DEFAULT_PROTOCOL)


# -- writeback: one bad value never drops the others ------------------------------


def test_writeback_sync_writes_the_others_when_one_cannot_be_encoded(
    tmp_path: Path,
) -> None:
    """An unpicklable cached value fails alone: the rest are written, it stays cached."""
    with cloudmap.open(tmp_path / "db") as s:
        s.update({"a": [1], "b": [2], "c": [3]})
    with cloudmap.open(tmp_path / "db", writeback=True) as mine:
        mine["a"].append(lambda: 0)
        mine["b"].append("mine")
        mine["c"].append("mine")
        with pytest.raises(CodecError, match="'a'"):
            mine.sync()
        assert set(mine.cache) == {"a"}
        mine["a"].pop()
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert dict(s) == {"a": [1], "b": [2, "mine"], "c": [3, "mine"]}


def test_writeback_close_names_every_failed_key_and_still_closes(
    tmp_path: Path,
) -> None:
    """close() writes what it can, raises one error naming the failed keys, and closes."""
    with cloudmap.open(tmp_path / "db") as s:
        s.update({"a": [1], "b": [2], "c": [3]})
    mine = cloudmap.open(tmp_path / "db", writeback=True)
    mine["a"].append(lambda: 0)
    mine["b"].append("mine")
    mine["c"].append("mine")
    with cloudmap.open(tmp_path / "db") as theirs:
        theirs["b"] = ["theirs"]
    with pytest.raises(BulkError) as info:
        mine.close()
    assert set(info.value.errors) == {"a", "b"}
    assert "'a'" in str(info.value)
    assert "'b'" in str(info.value)
    assert isinstance(info.value.errors["a"], CodecError)
    assert isinstance(info.value.errors["b"], KeySyncError)
    with pytest.raises(ValueError, match="closed shelf"):
        len(mine)
    with cloudmap.open(tmp_path / "db", "r") as s:
        assert dict(s) == {"a": [1], "b": ["theirs"], "c": [3, "mine"]}
