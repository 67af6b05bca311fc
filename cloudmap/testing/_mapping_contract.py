"""`MappingContract`: `CloudMapping`'s semantics over any store, as pytest tests.

One test per row of the semantics table (DESIGN.md, "CloudMapping semantics"):
what each dict operation sends, and what it raises, when the key's etag is held
and when it is not. Subclass it and provide a `store_factory` fixture: a
callable returning a new client of one fresh, empty storage on every call, so
that a second client can change a key "remotely".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from cloudmap.errors import EtagMismatchError, KeyExistsError, KeySyncError
from cloudmap.mapping import CloudMapping
from cloudmap.stores import Store
from cloudmap.testing.faults import Call, FaultyStore

__all__ = ["MappingContract"]

Pair = tuple[CloudMapping[bytes], CloudMapping[bytes]]


class Recording(FaultyStore):
    """A store that passes every call to `inner` and records it."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner, self._record)
        self.calls: list[Call] = []

    def _record(self, call: Call) -> None:
        self.calls.append(call)

    def ops(self) -> list[str]:
        """The operations sent since the last call, then forget them."""
        ops: list[str] = [call.op for call in self.calls]
        self.calls.clear()
        return ops


def _changed_remotely(pair: Pair) -> Pair:
    """`here` writes "k"; `remote` then replaces it, so here's etag is stale."""
    here, remote = pair
    here["k"] = b"1"
    remote.sync_with_cloud()
    remote["k"] = b"2"
    return here, remote


def _assert_remote_value_kept(remote: CloudMapping[bytes]) -> None:
    remote.sync_with_cloud("k")
    assert remote["k"] == b"2"


class MappingContract:
    """How a `CloudMapping` reads, writes and syncs over the store under test."""

    @pytest.fixture
    def pair(self, store_factory: Callable[[], Store]) -> Iterator[Pair]:
        """Two mappings over two clients of the same storage: "here" and "remote"."""
        here: CloudMapping[bytes] = CloudMapping(store_factory())
        remote: CloudMapping[bytes] = CloudMapping(store_factory())
        yield here, remote
        here.close()
        remote.close()

    @pytest.fixture
    def recorded(self, store_factory: Callable[[], Store]) -> Iterator[Recording]:
        """A client of the storage that records the calls a mapping sends."""
        store = Recording(store_factory())
        yield store
        store.close()

    # -- m[k] --------------------------------------------------------------------

    def test_read_of_a_held_key_changed_remotely_raises(self, pair: Pair) -> None:
        """`m[k]` conditions its GET on the held etag: a remote change raises."""
        here, _ = _changed_remotely(pair)
        with pytest.raises(KeySyncError) as info:
            here["k"]
        assert not isinstance(info.value, KeyError)
        assert info.value.key == "k"

    def test_read_of_a_held_key_deleted_remotely_raises(self, pair: Pair) -> None:
        """`m[k]` of a key deleted remotely is a KeySyncError, not a KeyError."""
        here, remote = pair
        here["k"] = b"1"
        remote.sync_with_cloud()
        del remote["k"]
        with pytest.raises(KeySyncError):
            here["k"]

    def test_read_of_an_unknown_key_sends_nothing(
        self, pair: Pair, recorded: Recording
    ) -> None:
        """`m[k]` of a key whose etag is not held is a KeyError without a request."""
        _, remote = pair
        remote["k"] = b"1"
        m: CloudMapping[bytes] = CloudMapping(recorded, sync_initially=False)
        with pytest.raises(KeyError):
            m["k"]
        assert recorded.ops() == []

    def test_blind_read_of_an_unknown_key_reads_the_latest(
        self, pair: Pair, recorded: Recording
    ) -> None:
        """With `read_blindly`, one GET returns the latest value, or the default."""
        _, remote = pair
        m: CloudMapping[bytes] = CloudMapping(
            recorded, sync_initially=False, read_blindly=True, read_blindly_default=b"-"
        )
        assert m["k"] == b"-"
        remote["k"] = b"1"
        assert m["k"] == b"1"
        assert m.etags["k"] == remote.etags["k"]
        assert recorded.ops() == ["get", "get"]

    # -- m[k] = v ----------------------------------------------------------------

    def test_write_of_a_held_key_changed_remotely_raises(self, pair: Pair) -> None:
        """`m[k] = v` replaces only the held etag: a remote change wins, here raises."""
        here, remote = _changed_remotely(pair)
        with pytest.raises(EtagMismatchError):
            here["k"] = b"3"
        _assert_remote_value_kept(remote)

    def test_write_of_an_unknown_key_is_create_only(self, pair: Pair) -> None:
        """`m[k] = v` of a key not held creates it, or raises if it exists."""
        here, remote = pair
        remote["k"] = b"remote"
        with pytest.raises(KeyExistsError):
            here["k"] = b"here"
        here["new"] = b"1"
        remote.sync_with_cloud()
        assert remote["k"] == b"remote"
        assert remote["new"] == b"1"

    def test_a_write_sends_one_request(self, recorded: Recording) -> None:
        """Creating and replacing a key cost one PUT each, and no read."""
        m: CloudMapping[bytes] = CloudMapping(recorded, sync_initially=False)
        m["k"] = b"1"
        m["k"] = b"2"
        assert recorded.ops() == ["put", "put"]

    # -- del m[k] ----------------------------------------------------------------

    def test_delete_of_a_held_key_changed_remotely_raises(self, pair: Pair) -> None:
        """`del m[k]` deletes only the held etag: a remote change is kept."""
        here, remote = _changed_remotely(pair)
        with pytest.raises(EtagMismatchError):
            del here["k"]
        _assert_remote_value_kept(remote)

    def test_delete_of_an_unknown_key_sends_nothing(
        self, pair: Pair, recorded: Recording
    ) -> None:
        """`del m[k]` of a key not held is a KeyError without a request."""
        _, remote = pair
        remote["k"] = b"1"
        m: CloudMapping[bytes] = CloudMapping(recorded, sync_initially=False)
        with pytest.raises(KeyError):
            del m["k"]
        assert recorded.ops() == []
        assert remote["k"] == b"1"

    # -- k in m, len, iter -------------------------------------------------------

    def test_membership_length_and_iteration_send_nothing(
        self, recorded: Recording
    ) -> None:
        """`in`, `len` and iteration read the held etags only."""
        m: CloudMapping[bytes] = CloudMapping(recorded, sync_initially=False)
        m["a"] = b"1"
        m["b"] = b"2"
        recorded.ops()
        assert "a" in m
        assert "c" not in m
        assert len(m) == 2
        assert sorted(m) == ["a", "b"]
        assert recorded.ops() == []

    # -- sync_with_cloud ---------------------------------------------------------

    def test_sync_with_cloud_replaces_the_held_etags(
        self, pair: Pair, recorded: Recording
    ) -> None:
        """`sync_with_cloud()` is one LIST that replaces the etags: deletions vanish."""
        _, remote = pair
        remote["gone"] = b"1"
        m: CloudMapping[bytes] = CloudMapping(recorded)
        del remote["gone"]
        remote["new"] = b"2"
        recorded.ops()
        m.sync_with_cloud()
        assert recorded.ops() == ["list"]
        assert set(m) == {"new"}
        assert dict(m.etags) == dict(remote.etags)

    def test_sync_with_cloud_of_one_key_refreshes_or_drops_it(self, pair: Pair) -> None:
        """`sync_with_cloud(k)` refreshes that key's etag, or drops it if deleted."""
        here, remote = pair
        here["k"] = b"1"
        here["other"] = b"1"
        remote.sync_with_cloud("k")
        assert set(remote) == {"k"}
        remote["k"] = b"2"
        here.sync_with_cloud("k")
        assert here["k"] == b"2"
        del remote["k"]
        here.sync_with_cloud("k")
        assert "k" not in here
        assert "other" in here

    # -- the rules under the table -----------------------------------------------

    def test_get_with_a_default_never_hides_a_conflict(self, pair: Pair) -> None:
        """`m.get(k, d)` raises on a remote change instead of returning `d`."""
        here, _ = _changed_remotely(pair)
        with pytest.raises(KeySyncError):
            here.get("k", b"default")
        assert here.get("missing", b"default") == b"default"

    def test_create_modify_and_forced_set(self, pair: Pair) -> None:
        """`create` is create-only, `modify` reads the latest, `force` overwrites."""
        here, remote = pair
        here.create("k", b"1")
        with pytest.raises(KeyExistsError):
            remote.create("k", b"2")
        remote.set("k", b"forced", force=True)
        assert here.modify("k", lambda v: v + b"!") == b"forced!"
        remote.sync_with_cloud("k")
        assert remote["k"] == b"forced!"

    def test_etags_view_is_read_only(self, pair: Pair) -> None:
        """`m.etags` shows the held etags and cannot be changed."""
        here, _ = pair
        here["k"] = b"1"
        assert list(here.etags) == ["k"]
        with pytest.raises(TypeError):
            here.etags["k"] = "forged"  # type: ignore[index]
