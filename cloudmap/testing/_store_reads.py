"""Conditional reads, listings and races: the second half of `StoreContract`."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from cloudmap.errors import EtagMismatchError, KeyExistsError
from cloudmap.stores import Entry, Replace, Store
from cloudmap.testing._race import race

__all__ = ["ReadsContract", "entry_of"]


def entry_of(store: Store, key: str) -> Entry:
    """The entry under `key`, which must exist."""
    entry = store.get(key)
    assert entry is not None, f"{key!r} missing from {store.name}"
    return entry


class ReadsContract:
    """How a Store reads conditionally, lists, and settles races between clients."""

    # -- conditional reads ---------------------------------------------------------

    def test_get_if_match_current(self, store: Store) -> None:
        """get(if_match=current) returns the value."""
        etag = store.put("k", b"1")
        entry = store.get("k", if_match=etag)
        assert entry is not None
        assert entry.data == b"1"

    def test_get_if_match_stale_is_refused(self, store: Store) -> None:
        """get(if_match=old) raises EtagMismatchError naming the key."""
        first = store.put("k", b"1")
        store.put("k", b"2", mode=Replace(first))
        with pytest.raises(EtagMismatchError) as info:
            store.get("k", if_match=first)
        assert info.value.key == "k"

    def test_get_if_match_of_deleted_key_is_refused(self, store: Store) -> None:
        """get(if_match=...) of a deleted key raises EtagMismatchError, not None."""
        etag = store.put("k", b"1")
        store.delete("k")
        with pytest.raises(EtagMismatchError):
            store.get("k", if_match=etag)

    def test_get_if_none_match_unchanged_is_not_modified(self, store: Store) -> None:
        """get(if_none_match=current) reports not_modified without the body."""
        etag = store.put("k", b"payload")
        entry = store.get("k", if_none_match=etag)
        assert entry is not None
        assert entry.not_modified
        assert entry.etag == etag

    def test_get_if_none_match_changed_returns_value(self, store: Store) -> None:
        """get(if_none_match=old) of a changed key returns the new value."""
        first = store.put("k", b"1")
        second = store.put("k", b"2", mode=Replace(first))
        entry = store.get("k", if_none_match=first)
        assert entry is not None
        assert not entry.not_modified
        assert (entry.data, entry.etag) == (b"2", second)

    # -- listing ---------------------------------------------------------------------

    def test_list_reports_every_key_with_its_etag(self, store: Store) -> None:
        """A listing gives each key once, with the etag its write returned."""
        written = {key: store.put(key, b"x") for key in ("a", "b/c", "b/d", "e f")}
        listed = {item.key: item.etag for item in store.list()}
        assert listed == written

    def test_list_prefix_isolates_keys(self, store: Store) -> None:
        """list(prefix) yields only keys starting with the prefix."""
        for key in ("jobs/1", "jobs/2", "jobsx", "other/1"):
            store.put(key, b"x")
        assert sorted(item.key for item in store.list("jobs/")) == ["jobs/1", "jobs/2"]
        assert sorted(item.key for item in store.list("jobs")) == [
            "jobs/1",
            "jobs/2",
            "jobsx",
        ]
        assert list(store.list("nothing/")) == []

    def test_list_pages_past_a_thousand_keys(self, store: Store) -> None:
        """A listing of 2,500 keys returns all of them (several pages on S3)."""
        keys = [f"many/{i:05d}" for i in range(2500)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda key: store.put(key, b""), keys))
        assert sorted(item.key for item in store.list("many/")) == keys

    # -- races -----------------------------------------------------------------------

    def test_racing_creates_have_exactly_one_winner(
        self, store: Store, store_factory: Callable[[], Store]
    ) -> None:
        """16 clients creating one key at once: one succeeds, 15 get KeyExistsError."""
        clients = [store_factory() for _ in range(4)]
        outcomes = race(
            16,
            lambda i: clients[i % 4].put("claim", str(i).encode(), mode="create"),
        )
        winners = [o for o in outcomes if isinstance(o, str)]
        losers = [o for o in outcomes if isinstance(o, KeyExistsError)]
        assert (len(winners), len(losers)) == (1, 15), outcomes
        assert entry_of(store, "claim").etag == winners[0]

    def test_racing_replaces_have_exactly_one_winner(
        self, store: Store, store_factory: Callable[[], Store]
    ) -> None:
        """8 clients replacing one etag at once: one wins, 7 get EtagMismatchError."""
        etag = store.put("token", b"start")
        clients = [store_factory() for _ in range(4)]
        outcomes = race(
            8,
            lambda i: clients[i % 4].put("token", str(i).encode(), mode=Replace(etag)),
        )
        winners = [o for o in outcomes if isinstance(o, str)]
        losers = [o for o in outcomes if isinstance(o, EtagMismatchError)]
        assert (len(winners), len(losers)) == (1, 7), outcomes
        assert entry_of(store, "token").etag == winners[0]
