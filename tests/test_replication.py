"""ReplicatedMapping: writes everywhere, reads from the first, no silent drift."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tenacity

from cloudmap import CloudMapping, codecs
from cloudmap.errors import KeySyncError, ReplicationError, TransientStoreError
from cloudmap.replication import ReplicatedMapping
from cloudmap.retry import retry_policy
from cloudmap.stores import LocalStore, MemoryStore, Store
from cloudmap.testing import Call, Fault, FaultyStore

StoreFactory = Callable[[], Store]


def fast() -> tenacity.Retrying:
    return retry_policy(attempts=3, jitter=0, sleep=lambda _: None)


def failing(
    ops: set[str], fault: Fault = Fault.THROTTLE
) -> Callable[[Call], Fault | None]:
    return lambda call: fault if call.op in ops else None


@pytest.fixture
def three(store: Store, tmp_path: Path) -> list[Store]:
    """Memory, Local and the provider under test, as three replicas' stores."""
    return [MemoryStore("primary"), LocalStore(tmp_path / "local"), store]


def values(store: Store, codec: codecs.Codec | None = None) -> dict[str, object]:
    m: CloudMapping[object] = CloudMapping(store, codec=codec, retry=None)
    return dict(m.items())


def test_writes_and_deletes_reach_every_replica(three: list[Store]) -> None:
    """A write and a delete land on every replica, each with its own etag."""
    m = ReplicatedMapping(three, retry=fast())
    m["a"] = b"1"
    m["b"] = b"2"
    del m["a"]
    for store in three:
        assert values(store) == {"b": b"2"}
    assert dict(m) == {"b": b"2"}
    assert len({replica.etags["b"] for replica in m.replicas}) >= 2


def test_reads_come_from_the_first_replica(three: list[Store]) -> None:
    """A read returns the primary's value even when a replica holds another."""
    m = ReplicatedMapping(three, retry=fast())
    m["k"] = b"v"
    three[1].put("k", b"drifted")
    assert m["k"] == b"v"


def test_read_falls_back_on_transient_failure(
    three: list[Store], caplog: pytest.LogCaptureFixture
) -> None:
    """A primary failing reads transiently is skipped, with a warning."""
    primary = CloudMapping(FaultyStore(three[0], failing({"get"})), retry=fast())
    m = ReplicatedMapping(
        [primary, *(CloudMapping(s, retry=fast()) for s in three[1:])]
    )
    m["k"] = b"v"
    with caplog.at_level(logging.WARNING, logger="cloudmap.replication"):
        assert m["k"] == b"v"
    assert "memory://primary" in caplog.text


def test_read_without_fallback_raises(three: list[Store]) -> None:
    """With read_fallback=False the primary's transient failure reaches the caller."""
    primary = CloudMapping(FaultyStore(three[0], failing({"get"})), retry=fast())
    m = ReplicatedMapping([primary, *three[1:]], read_fallback=False)
    m["k"] = b"v"
    with pytest.raises(TransientStoreError):
        m["k"]


def test_failed_replica_does_not_stop_the_others(three: list[Store]) -> None:
    """A replica failing after retries gets a ReplicationError naming who holds the write."""
    broken = CloudMapping(FaultyStore(three[1], failing({"put"})), retry=fast())
    m = ReplicatedMapping(
        [
            CloudMapping(three[0], retry=fast()),
            broken,
            CloudMapping(three[2], retry=fast()),
        ]
    )
    with pytest.raises(ReplicationError) as info:
        m["k"] = b"v"
    names = m.names
    assert info.value.applied == [names[0], names[2]]
    assert info.value.failed == [names[1]]
    assert isinstance(info.value.outcomes[names[1]], TransientStoreError)
    assert values(three[0]) == values(three[2]) == {"k": b"v"}
    assert values(three[1]) == {}


def test_primary_conflict_touches_no_replica(three: list[Store]) -> None:
    """A conflict on the primary stops the write before any replica changes."""
    m = ReplicatedMapping(three, retry=fast())
    m["k"] = b"v1"
    three[0].put("k", b"someone else")
    with pytest.raises(KeySyncError):
        m["k"] = b"v2"
    assert values(three[1]) == values(three[2]) == {"k": b"v1"}


def test_lagging_and_repair_bring_replicas_in_line(three: list[Store]) -> None:
    """repair() copies what differs from the primary and removes what it lacks."""
    m = ReplicatedMapping(three, retry=fast())
    for i in range(5):
        m[f"k{i}"] = b"v%d" % i
    three[1].put("k1", b"drifted")
    three[2].delete("k2")
    three[2].put("extra", b"x")
    assert m.lagging() == {
        "extra": [m.names[2]],
        "k1": [m.names[1]],
        "k2": [m.names[2]],
    }
    progress: list[tuple[int, int]] = []
    report = m.repair(progress=lambda done, total: progress.append((done, total)))
    assert report.ok
    assert report.lagging == 3
    assert sorted(report.copied) == [("k1", m.names[1]), ("k2", m.names[2])]
    assert report.deleted == (("extra", m.names[2]),)
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert m.lagging() == {}
    assert values(three[0]) == values(three[1]) == values(three[2])
    m["k1"] = b"after repair"  # the replicas' etags were refreshed
    assert values(three[1])["k1"] == b"after repair"


def test_each_replica_keeps_its_own_codec(tmp_path: Path) -> None:
    """Replicas encode with their own codecs and still compare equal."""
    local = LocalStore(tmp_path / "l")
    cloud = MemoryStore("cloud")
    m = ReplicatedMapping(
        [
            CloudMapping(local, codec=codecs.json() | codecs.zlib(level=6)),
            CloudMapping(cloud, codec=codecs.json() | codecs.zlib(level=9)),
        ]
    )
    value = {"text": "abc" * 500, "n": list(range(200))}
    m["k"] = value
    local_entry, cloud_entry = local.get("k"), cloud.get("k")
    assert local_entry is not None
    assert cloud_entry is not None
    assert local_entry.data != cloud_entry.data
    fresh = ReplicatedMapping(
        [
            CloudMapping(local, codec=codecs.json() | codecs.zlib(level=6)),
            CloudMapping(cloud, codec=codecs.json() | codecs.zlib(level=9)),
        ]
    )
    assert fresh.lagging() == {}
    assert fresh["k"] == value


def test_repair_after_primary_failure_restores_the_primarys_state(
    three: list[Store],
) -> None:
    """When only the primary missed a write, repair() makes the primary's value win."""
    primary = CloudMapping(FaultyStore(three[0], failing({"put"})), retry=fast())
    m = ReplicatedMapping(
        [primary, *(CloudMapping(s, retry=fast()) for s in three[1:])]
    )
    with pytest.raises(ReplicationError) as info:
        m["k"] = b"v"
    assert info.value.failed == [m.names[0]]
    assert m.repair().deleted == (("k", m.names[1]), ("k", m.names[2]))
    assert values(three[1]) == values(three[2]) == {}


def test_delete_reaches_replicas_that_did_not_know_the_key(
    three: list[Store],
) -> None:
    """Replicas holding a key written by another client still have it deleted."""
    ours = ReplicatedMapping(three, retry=fast())
    theirs = ReplicatedMapping(three, retry=fast())
    theirs["k"] = b"v"
    ours.primary.sync_with_cloud("k")  # only the primary's etag is learnt
    del ours["k"]
    assert all(store.get("k") is None for store in three)


def test_replicas_need_unique_names() -> None:
    """Two replicas with the same store name are told apart by a suffix."""
    m = ReplicatedMapping([MemoryStore(), MemoryStore()])
    assert m.names == ("memory://", "memory://#2")
    with pytest.raises(ValueError, match="at least one"):
        ReplicatedMapping([])


# -- repair converges in one pass -------------------------------------------------


def test_repair_converges_when_a_replica_holds_a_stale_etag(
    three: list[Store],
) -> None:
    """A replica whose held etag is stale is repaired in one pass, not refused."""
    m = ReplicatedMapping(three, retry=fast())
    m["k"] = b"v"
    m["gone"] = b"x"
    three[1].put("k", b"drifted")  # the replica's held etag is now stale
    three[0].delete("gone")  # the primary lost it; replica 2 must delete it
    three[2].put("gone", b"changed")  # with a stale etag too
    report = m.repair()
    assert report.ok, report.failed
    assert m.lagging() == {}
    again = m.repair()
    assert (again.lagging, again.copied, again.deleted) == (0, (), ())
    assert values(three[0]) == values(three[1]) == values(three[2]) == {"k": b"v"}


def test_replicas_with_different_codecs_converge(tmp_path: Path) -> None:
    """pickle and json replicas agree once repaired: tuples and int keys are not rewritten forever."""
    shared = MemoryStore("p")
    primary = CloudMapping[Any](shared, codec=codecs.pickle())
    replica = CloudMapping[Any](LocalStore(tmp_path / "r"), codec=codecs.json())
    m = ReplicatedMapping([primary, replica])
    primary["tuple"] = (1, 2)
    primary["int-keys"] = {1: "a"}
    assert set(m.lagging()) == {"tuple", "int-keys"}
    assert m.repair().ok
    assert m.lagging() == {}
    again = m.repair()
    assert (again.lagging, again.copied) == (0, ())
    assert replica["tuple"] == [1, 2]
    fresh = ReplicatedMapping(
        [
            CloudMapping[Any](shared, codec=codecs.pickle()),
            CloudMapping[Any](LocalStore(tmp_path / "r"), codec=codecs.json()),
        ]
    )
    assert fresh.lagging() == {}


def test_lagging_reads_through_each_replicas_codec_check(tmp_path: Path) -> None:
    """A replica value tagged with another codec differs, even if it would decode."""
    primary = CloudMapping[Any](MemoryStore("tags-p"), codec=codecs.json())
    store = LocalStore(tmp_path / "r")
    replica = CloudMapping[Any](store, codec=codecs.json())
    m = ReplicatedMapping([primary, replica])
    m["k"] = [1]
    store.put("k", b"[1]", metadata={"cloudmap-codec": "text(utf-8)"})
    assert m.lagging() == {"k": [m.names[1]]}
    assert m.repair().ok
    assert store.get("k").metadata["cloudmap-codec"] == "json"  # type: ignore[union-attr]
    assert m.lagging() == {}


def test_retry_with_mapping_replicas_is_refused() -> None:
    """retry= would not reach a CloudMapping replica: it is refused, not ignored."""
    with pytest.raises(
        ValueError, match="retry= applies only to replicas given as stores"
    ):
        ReplicatedMapping([CloudMapping(MemoryStore()), MemoryStore()], retry=fast())
    with pytest.raises(ValueError, match="retry="):
        ReplicatedMapping([CloudMapping(MemoryStore())], retry=None)


def test_encrypted_replicas_agree_after_one_repair(tmp_path: Path) -> None:
    """Replicas whose codec encrypts with a random nonce compare by decoded value."""
    pytest.importorskip("cryptography")
    key = {"k1": bytes(range(32))}
    chain = codecs.json() | codecs.encrypted(key)
    m = ReplicatedMapping(
        [
            CloudMapping[Any](MemoryStore("enc-p"), codec=chain),
            CloudMapping[Any](LocalStore(tmp_path / "r"), codec=chain),
        ]
    )
    m["k"] = {"a": 1}
    m.replicas[1].store.delete("k")
    assert m.lagging() == {"k": [m.names[1]]}
    assert m.repair().ok
    assert m.lagging() == {}
    assert (m.repair().lagging, m.replicas[1]["k"]) == (0, {"a": 1})
