"""CloudMapping behaves like a dict: one mapping never conflicts with itself,
held etags never move back, blind reads keep dict semantics, a prefix is a
folder, and `raw` shows the stored bytes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tenacity

from cloudmap import CloudMapping, KeySyncError
from cloudmap.codecs import json, pickle
from cloudmap.errors import CodecError
from cloudmap.stores import Entry, ListedKey, LocalStore, MemoryStore, PutMode, Store
from cloudmap.transfer import copy_keys

ONCE = tenacity.Retrying(stop=tenacity.stop_after_attempt(1), reraise=True)


class PauseAfter:
    """Forwards to `inner`; the first `op` call armed waits after the server answered.

    It stands for a slow response: the request is applied, the answer is late.
    """

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.armed: str | None = None
        self.paused = threading.Event()
        self.resume = threading.Event()

    @property
    def name(self) -> str:
        return self.inner.name

    def _after(self, op: str) -> None:
        if self.armed == op:
            self.armed = None
            self.paused.set()
            self.resume.wait(timeout=1)

    def get(
        self, key: str, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> Entry | None:
        entry = self.inner.get(key, if_match=if_match, if_none_match=if_none_match)
        self._after("get")
        return entry

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        etag = self.inner.put(key, data, mode=mode, metadata=metadata)
        self._after("put")
        return etag

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self.inner.delete(key, if_match=if_match)
        self._after("delete")

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        items = list(self.inner.list(prefix))
        self._after("list")
        yield from items

    def close(self) -> None:
        self.inner.close()


def _while_paused(
    store: PauseAfter, op: str, slow: Callable[[], object], other: Callable[[], object]
) -> BaseException | None:
    """Run `slow()` with its first `op` answer late, and `other()` meanwhile."""
    store.armed = op
    with ThreadPoolExecutor(2) as pool:
        slow_done = pool.submit(slow)
        assert store.paused.wait(timeout=5)
        other_done = pool.submit(other)
        error = other_done.exception(timeout=10)
        store.resume.set()
        slow_done.result(timeout=10)
    return error


@pytest.mark.parametrize("op", ["get", "list"])
def test_a_late_sync_answer_never_moves_the_etag_back(op: str) -> None:
    """sync_with_cloud(k) / sync_with_cloud() answered late keep a newer write's etag."""
    store = PauseAfter(MemoryStore())
    m: CloudMapping[bytes] = CloudMapping(store)
    m["k"] = b"1"

    def sync() -> None:
        m.sync_with_cloud("k" if op == "get" else None)

    def write() -> None:
        m["k"] = b"2"
        store.resume.set()

    assert _while_paused(store, op, sync, write) is None
    assert m.etags["k"] == store.inner.get("k").etag  # type: ignore[union-attr]
    m["k"] = b"3"
    assert m["k"] == b"3"


def test_a_write_waits_for_a_slow_modify_of_the_same_key() -> None:
    """A write racing a modify in the same mapping waits for it instead of conflicting."""
    store = PauseAfter(MemoryStore())
    m: CloudMapping[int] = CloudMapping(store, codec=json())
    m["k"] = 1

    def write() -> None:
        m["k"] = 10
        store.resume.set()

    error = _while_paused(
        store, "put", lambda: m.modify("k", lambda v: v + 1, retry=ONCE), write
    )
    assert error is None
    assert m["k"] == 10
    assert m.etags["k"] == store.inner.get("k").etag  # type: ignore[union-attr]


def test_threads_sharing_one_mapping_never_conflict(store: Store) -> None:
    """Writes, deletes, modifies and reads of one key from many threads: no KeySyncError."""
    m: CloudMapping[int] = CloudMapping(store, codec=json())
    m["n"] = 0
    rounds = 10

    def bump() -> None:
        for _ in range(rounds):
            m.modify("n", lambda v: v + 1, retry=ONCE)
            m.sync_with_cloud("n")

    def churn() -> None:
        for i in range(rounds):
            m["other"] = i
            assert m["other"] == i
            del m["other"]
            m.sync_with_cloud()

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(bump) for _ in range(3)] + [pool.submit(churn)]:
            future.result()
    assert m["n"] == 3 * rounds
    assert "other" not in m


def test_other_mappings_still_conflict(store: Store) -> None:
    """The locks are per mapping: a second mapping's stale etag still conflicts."""
    a: CloudMapping[bytes] = CloudMapping(store)
    b: CloudMapping[bytes] = CloudMapping(store)
    a["k"] = b"1"
    b.sync_with_cloud()
    a["k"] = b"2"
    with pytest.raises(KeySyncError):
        b["k"] = b"3"


# -- m.raw ----------------------------------------------------------------------


def test_raw_reads_stored_bytes_without_decoding(store: Store) -> None:
    """m.raw[k] is the pickled bytes of m[k]; same prefix, same etags."""
    m: CloudMapping[object] = CloudMapping(store, codec=pickle(), key_prefix="p")
    m["k"] = (1, 2)
    assert m.raw["k"] == pickle().dumps((1, 2))
    assert store.get("p/k").data == m.raw["k"]  # type: ignore[union-attr]
    assert m.raw.etags is not None
    assert dict(m.raw.etags) == dict(m.etags)
    assert list(m.raw) == ["k"]
    assert m.raw.key_prefix == m.key_prefix == "p/"


def test_raw_writes_share_the_etag_table(store: Store) -> None:
    """A write through m.raw moves m's held etag: m neither conflicts nor reads stale."""
    m: CloudMapping[object] = CloudMapping(store, codec=pickle(), cache=True)
    m["k"] = [1]
    assert m["k"] == [1]
    m.raw["k"] = pickle().dumps([2])
    assert m["k"] == [2]
    m["k"] = [3]
    del m.raw["k"]
    assert "k" not in m
    m.close()


def test_raw_reads_any_codec_tag(store: Store) -> None:
    """The raw view reads bytes whatever codec wrote them; m itself still checks."""
    CloudMapping[object](store, codec=json())["k"] = {"a": 1}
    m: CloudMapping[object] = CloudMapping(store, codec=pickle())
    assert m.raw["k"] == b'{"a": 1}'
    with pytest.raises(CodecError):
        m["k"]


# -- read_blindly ---------------------------------------------------------------


def test_blind_reads_keep_dict_semantics(store: Store) -> None:
    """get/pop/setdefault on a missing key behave as on a dict when reading blindly."""
    m: CloudMapping[bytes] = CloudMapping(
        store, read_blindly=True, read_blindly_default=b"blind"
    )
    assert m["missing"] == b"blind"
    assert m.get("missing", b"d") == b"d"
    assert m.get("missing") is None
    assert m.pop("missing", b"d") == b"d"
    with pytest.raises(KeyError):
        m.pop("missing")
    assert m.setdefault("s", b"d") == b"d"
    assert store.get("s").data == b"d"  # type: ignore[union-attr]
    assert m.setdefault("s", b"other") == b"d"
    CloudMapping[bytes](store)["remote"] = b"r"
    assert m.pop("remote", b"d") == b"r"
    assert store.get("remote") is None


# -- prefixes -------------------------------------------------------------------


def test_a_prefix_is_a_folder(store: Store) -> None:
    """key_prefix="tenant1" never lists nor deletes "tenant10/..."."""
    store.put("tenant10/secret", b"s")
    m: CloudMapping[bytes] = CloudMapping(store, key_prefix="tenant1")
    assert list(m) == []
    m["a"] = b"1"
    m.clear()
    assert [item.key for item in store.list()] == ["tenant10/secret"]
    assert m.key_prefix == "tenant1/"


def test_an_explicit_separator_keeps_a_raw_prefix(store: Store) -> None:
    """prefix_separator="" uses the prefix as given, for flat naming schemes."""
    store.put("run-1", b"s")
    m: CloudMapping[bytes] = CloudMapping(store, key_prefix="run-", prefix_separator="")
    assert list(m) == ["1"]
    assert m.key_prefix == "run-"


def test_copy_prefixes_are_folders(tmp_path: Path) -> None:
    """copy_keys(source_prefix="runs") copies runs/..., never runs2/..."""
    source, destination = MemoryStore("src"), LocalStore(tmp_path / "dst")
    source.put("runs/a", b"1")
    source.put("runs2/b", b"2")
    destination.put("backup2/keep", b"k")
    report = copy_keys(
        source,
        destination,
        source_prefix="runs",
        destination_prefix="backup",
        delete_extra=True,
    )
    assert report.copied == ["a"]
    assert sorted(item.key for item in destination.list()) == [
        "backup/a",
        "backup2/keep",
    ]
