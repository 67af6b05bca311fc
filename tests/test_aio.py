"""AsyncCloudMapping: concurrency on its own pool, a free event loop, sync semantics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import cloudmap
from cloudmap import (
    AsyncCloudMapping,
    BulkError,
    CloudMapping,
    EtagMismatchError,
    FencedError,
    KeyExistsError,
    KeySyncError,
)
from cloudmap.codecs import json
from cloudmap.errors import ConfigError
from cloudmap.stores import MemoryStore, Store
from cloudmap.testing import Call, FaultyStore
from tests.conftest import StoreFactory

T = TypeVar("T")
LATENCY = 0.03


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def slow_store(inner: Store, seconds: float = LATENCY) -> FaultyStore:
    """`inner`, with every request taking `seconds` longer, as a distant server would."""

    def delay(call: Call) -> None:
        time.sleep(seconds)

    return FaultyStore(inner, delay)


def filled_memory(n: int) -> MemoryStore:
    inner = MemoryStore()
    for i in range(n):
        inner.put(f"k{i}", str(i).encode())
    return inner


def test_concurrent_gets_are_five_times_faster_than_sequential() -> None:
    """100 gets gathered at once beat 100 awaited one by one at least 5x, at 30 ms each."""
    keys = [f"k{i}" for i in range(100)]

    async def main() -> tuple[float, float]:
        async with AsyncCloudMapping(CloudMapping(slow_store(filled_memory(100)))) as m:
            start = time.perf_counter()
            one_by_one = [await m.get(key) for key in keys]
            sequential = time.perf_counter() - start
            start = time.perf_counter()
            together = await asyncio.gather(*(m.get(key) for key in keys))
            concurrent = time.perf_counter() - start
        assert together == one_by_one == [str(i).encode() for i in range(100)]
        return sequential, concurrent

    sequential, concurrent = asyncio.run(main())
    assert sequential >= 100 * LATENCY
    assert concurrent * 5 <= sequential, (sequential, concurrent)


def test_event_loop_stays_responsive_during_requests() -> None:
    """A 10 ms heartbeat is never more than 50 ms late while 200 requests run.

    On a loaded machine the OS alone delays a bare heartbeat by up to ~30 ms, so
    the run is measured up to three times and the best run must meet the bound;
    a loop blocked by requests would be late by 30 ms per request in every run.
    """

    async def main() -> list[float]:
        lateness: list[float] = []
        async with AsyncCloudMapping(CloudMapping(slow_store(filled_memory(200)))) as m:
            done = asyncio.Event()

            async def heartbeat() -> None:
                while not done.is_set():
                    before = time.perf_counter()
                    await asyncio.sleep(0.01)
                    lateness.append(time.perf_counter() - before - 0.01)

            beat = asyncio.create_task(heartbeat())
            await asyncio.sleep(0.02)
            values = await asyncio.gather(*(m.get(f"k{i}") for i in range(200)))
            done.set()
            await beat
        assert values == [str(i).encode() for i in range(200)]
        return lateness

    worst = []
    for _ in range(3):
        lateness = asyncio.run(main())
        assert len(lateness) >= 20  # 200 requests on 16 threads: >= 12 rounds of 30 ms
        worst.append(max(lateness))
        if worst[-1] < 0.05:
            break
    assert min(worst) < 0.05, worst


def test_cancelled_write_in_flight_leaves_the_etag_right() -> None:
    """A write cancelled mid-request completes in its thread and records its etag."""
    inner = MemoryStore()

    async def main() -> None:
        m: AsyncCloudMapping[bytes] = AsyncCloudMapping(
            CloudMapping(slow_store(inner, 0.2)), max_workers=1
        )
        async with m:
            task = asyncio.create_task(m.set("k", b"1"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The single thread runs calls in order: this one starts after the write.
            assert await m.get("unknown", b"none") == b"none"
            assert m.etags["k"] == inner.get("k").etag  # type: ignore[union-attr]
            await m.set("k", b"2")  # conditioned on the recorded etag: no conflict
            assert await m.get("k") == b"2"

    run(main())


def test_cancelled_call_still_queued_never_runs() -> None:
    """A call cancelled before a thread took it sends nothing and changes no etag."""
    inner = MemoryStore()

    async def main() -> None:
        m: AsyncCloudMapping[bytes] = AsyncCloudMapping(
            CloudMapping(slow_store(inner, 0.1)), max_workers=1
        )
        async with m:
            first = asyncio.create_task(m.set("a", b"1"))
            queued = asyncio.create_task(m.set("b", b"1"))
            await asyncio.sleep(0.03)
            queued.cancel()
            await first
            with pytest.raises(asyncio.CancelledError):
                await queued
            await m.sync_with_cloud()
        assert set(m.etags) == {"a"}
        assert inner.get("b") is None

    run(main())


def test_cancelled_modify_leaves_the_etag_right() -> None:
    """A modify cancelled between its read and its write still records the new etag."""
    inner = MemoryStore()

    async def main() -> None:
        m: AsyncCloudMapping[Any] = AsyncCloudMapping(
            CloudMapping(slow_store(inner, 0.1), codec=json()), max_workers=1
        )
        async with m:
            await m.set("n", 1)
            task = asyncio.create_task(m.modify("n", lambda v: v + 1))
            await asyncio.sleep(0.15)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await m.get("n") == 2  # the held etag is current
            await m.set("n", 3)

    run(main())


# -- the sync mapping's conflict tests, through the async API, on every store ------


@pytest.fixture
def pair(
    store_factory: StoreFactory,
) -> Callable[[], tuple[AsyncCloudMapping[bytes], AsyncCloudMapping[bytes]]]:
    """Makes two workers' async mappings over the same storage (inside a loop)."""
    return lambda: (
        AsyncCloudMapping(CloudMapping(store_factory())),
        AsyncCloudMapping(CloudMapping(store_factory())),
    )


Pair = Callable[[], tuple[AsyncCloudMapping[bytes], AsyncCloudMapping[bytes]]]


def test_stale_write_raises_through_the_async_api(pair: Pair) -> None:
    """A write on a stale etag raises KeySyncError (not KeyError), as in sync."""

    async def main() -> None:
        a, b = pair()
        async with a, b:
            await a.set("k", b"a1")
            await b.sync_with_cloud()
            await b.set("k", b"b1")
            with pytest.raises(KeySyncError) as info:
                await a.set("k", b"a2")
            assert not isinstance(info.value, KeyError)
            assert info.value.key == "k"
            assert info.value.expected_etag == a.etags["k"]
            assert await b.get("k") == b"b1"
            with pytest.raises(KeyError):
                await b.delete("unknown")
            assert await b.get("unknown", b"default") == b"default"

    run(main())


def test_stale_read_raises_through_the_async_api(pair: Pair) -> None:
    """Reads of keys changed or deleted elsewhere raise, defaults never hide it."""

    async def main() -> None:
        a, b = pair()
        async with a, b:
            await a.set("k", b"a1")
            await a.set("gone", b"a1")
            await b.sync_with_cloud()
            await b.set("k", b"b1")
            await b.delete("gone")
            with pytest.raises(EtagMismatchError):
                await a.getitem("k")
            with pytest.raises(KeySyncError):
                await a.get("k", b"default")
            with pytest.raises(EtagMismatchError) as gone:
                await a.getitem("gone")
            assert gone.value.actual_etag is None
            with pytest.raises(BulkError) as info:
                await a.get_many(["gone", "k"])
            assert info.value.results == {}
            assert isinstance(info.value.errors["k"], KeySyncError)

    run(main())


def test_stale_delete_raises_through_the_async_api(pair: Pair) -> None:
    """A delete on a stale etag raises and leaves the other's value."""

    async def main() -> None:
        a, b = pair()
        async with a, b:
            await a.set("k", b"a1")
            await b.sync_with_cloud()
            await b.set("k", b"b1")
            with pytest.raises(KeySyncError):
                await a.delete("k")
            assert "k" in a
            assert await b.get("k") == b"b1"

    run(main())


def test_create_is_create_only_through_the_async_api(pair: Pair) -> None:
    """create() and a write of an unknown key raise KeyExistsError when the key exists."""

    async def main() -> None:
        a, b = pair()
        async with a, b:
            await a.create("lock", b"a")
            with pytest.raises(KeyExistsError):
                await b.create("lock", b"b")
            with pytest.raises(KeyExistsError):
                await b.set("lock", b"b")
            await b.set("lock", b"forced", force=True)
            assert await b.get("lock") == b"forced"

    run(main())


def test_sync_and_bulk_through_the_async_api(pair: Pair) -> None:
    """Bulk writes and deletes apply; sync_with_cloud drops remote deletions."""

    async def main() -> None:
        a, b = pair()
        async with a, b:
            await a.set_many({"x": b"1", "y": b"2", "gone": b"3"})
            await b.sync_with_cloud()
            assert sorted([key async for key in b]) == ["gone", "x", "y"]
            await a.delete_many(["gone"])
            await b.set("y", b"changed")
            await b.sync_with_cloud()
            assert "gone" not in b
            assert len(b) == 2
            assert await b.get_many(["x", "y"]) == {"x": b"1", "y": b"changed"}

    run(main())


def test_changes_and_watch_through_the_async_api(pair: Pair) -> None:
    """changes() reports others' writes; watch() yields them until stop is set."""

    async def main() -> None:
        a, b = pair()
        async with a, b:
            await b.set("new", b"1")
            batch = await a.changes()
            assert batch.added == {"new"}
            assert "new" in a  # applied: the etag is held now
            assert not await a.changes()
            stop = asyncio.Event()
            seen = []
            await b.set("later", b"2")
            async for found in a.watch(interval=0.01, stop=stop):
                seen.append(found)
                stop.set()
            assert [sorted(found.added) for found in seen] == [["later"]]

    run(main())


def test_concurrent_modify_counts_exactly(store_factory: StoreFactory) -> None:
    """Two workers' 10 gathered increments each end at exactly 20."""

    async def main() -> int:
        a = AsyncCloudMapping(CloudMapping(store_factory(), codec=json()))
        b = AsyncCloudMapping(CloudMapping(store_factory(), codec=json()))
        async with a, b:
            await asyncio.gather(
                *(m.modify("n", lambda v: v + 1, default=0) for m in (a, b) * 10)
            )
            await a.sync_with_cloud("n")
            value: int = await a.get("n")
        return value

    assert run(main()) == 20


def test_fenced_modify_through_the_async_api(store_factory: StoreFactory) -> None:
    """`modify(fence=lease)` stores the token; an older holder's write is refused."""
    old_sync = CloudMapping(store_factory(), codec=json())
    new_sync = CloudMapping(store_factory(), codec=json())
    old, new = old_sync.lock("state", ttl=60), new_sync.lock("state", ttl=60)
    old.acquire()
    old.release()
    new.acquire()
    assert (old.token, new.token) == (1, 2)

    async def main() -> None:
        async with AsyncCloudMapping(new_sync) as a, AsyncCloudMapping(old_sync) as b:
            await a.modify("state", lambda v: [*v, 2], default=[], fence=new)
            with pytest.raises(FencedError) as refused:
                await b.modify("state", lambda v: [*v, 1], default=[], fence=old)
            assert (refused.value.token, refused.value.fence) == (1, 2)
            await b.sync_with_cloud("state")
            assert await b.get("state") == [2]
            # Before `async with` closes the stores the lease writes through.
            new.release()

    run(main())


# -- opening ------------------------------------------------------------------------


def test_open_async_on_a_directory(tmp_path: Path) -> None:
    """open_async opens a path like cloudmap.open, and async with stops its threads."""

    async def main() -> None:
        async with await cloudmap.open_async(tmp_path / "d", create=True) as m:
            await m.set("a", b"1")
        async with await cloudmap.open_async(f"file://{tmp_path}/d", codec="raw") as m:
            assert [key async for key in m] == ["a"]
            assert await m.get("a") == b"1"
        with pytest.raises(RuntimeError, match="shutdown"):
            await m.get("a")  # the facade's threads are gone

    run(main())


def test_open_async_refuses_a_replicated_config(tmp_path: Path) -> None:
    """An ini with two providers is refused with ConfigError: no async replication."""
    ini = tmp_path / "two.ini"
    ini.write_text(
        "[default]\nproviders = a, b\nprovider_routing = all\n"
        f"[a]\nprovider = filesystem\nfolder_path = {tmp_path / 'a'}\n"
        f"[b]\nprovider = filesystem\nfolder_path = {tmp_path / 'b'}\n"
    )
    with pytest.raises(ConfigError, match="several stores"):
        run(cloudmap.open_async(ini, create=True))


def test_max_workers_must_be_positive() -> None:
    """A facade with no threads is refused up front."""
    with pytest.raises(ValueError, match="max_workers"):
        AsyncCloudMapping(CloudMapping(MemoryStore()), max_workers=0)
