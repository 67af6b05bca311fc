"""Leases across real processes: exact counters, killed and paused holders.

Runs on every store that processes can share (local, moto single-threaded,
Azurite, fake-gcs-server); MemoryStore gets the same checks with threads and an
injected clock in tests/test_lease.py. The kill and pause tests need real time:
the ttl is small (GCS: its 3 s minimum) and the margins generous.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from cloudmap import CloudMapping, codecs
from cloudmap.fencing import FENCE_METADATA_KEY
from tests import lease_workers
from tests.spawned import spawn_pool

if TYPE_CHECKING:
    from tests.conftest import StoreFactory

PROCESSES = 4
TIMES = 2
POLL = 0.1
# Spawned processes, a loaded machine: the slack allowed beyond ttl + poll.
MARGIN = 3.0


def short_ttl(factory: StoreFactory) -> float:
    """1 s, or the store's minimum (3 s on GCS)."""
    return max(1.0, getattr(factory(), "min_lock_ttl", 0.0))


def run_increments(factory: StoreFactory, *, locked: bool) -> list[int]:
    """PROCESSES processes, started together, each bump the counter TIMES times."""
    with spawn_pool(PROCESSES, lease_workers.set_barrier) as pool:
        futures = [
            pool.submit(lease_workers.increment, factory, TIMES, 30.0, locked=locked)
            for _ in range(PROCESSES)
        ]
        return [token for future in futures for token in future.result()]


def counter(factory: StoreFactory) -> Any:
    with lease_workers.blind(factory) as m:
        return m[lease_workers.COUNTER]


def test_processes_bumping_under_the_lock_end_exact(
    process_store_factory: StoreFactory,
) -> None:
    """4 processes x 2 unconditional read-increment-writes under the lock: exact, tokens 1..8."""
    tokens = run_increments(process_store_factory, locked=True)
    assert sorted(tokens) == list(range(1, PROCESSES * TIMES + 1))
    assert counter(process_store_factory) == PROCESSES * TIMES


def test_processes_bumping_without_the_lock_lose_updates(
    process_store_factory: StoreFactory,
) -> None:
    """The control run: the same processes without the lock lose updates."""
    assert run_increments(process_store_factory, locked=False) == []
    assert counter(process_store_factory) < PROCESSES * TIMES


def test_killed_holder_is_taken_over_after_ttl(
    process_store_factory: StoreFactory,
) -> None:
    """A holder killed with os._exit is replaced within [ttl, ttl + poll + margin]."""
    ttl = short_ttl(process_store_factory)
    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    holder = ctx.Process(
        target=lease_workers.hold_then_die, args=(process_store_factory, ttl, events)
    )
    holder.start()
    assert events.get(timeout=120) == "acquired"
    holder.join(timeout=60)
    assert holder.exitcode == 0
    m: CloudMapping[Any] = CloudMapping(process_store_factory(), sync_initially=False)
    lease = m.lock(lease_workers.LOCK, ttl=ttl, poll=POLL)
    started = time.monotonic()
    assert lease.acquire(timeout=ttl + POLL + MARGIN)
    waited = time.monotonic() - started
    assert ttl <= waited <= ttl + POLL + MARGIN
    assert lease.token == 2
    lease.release()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX only")
def test_paused_holder_loses_the_lock_and_is_fenced(
    process_store_factory: StoreFactory,
) -> None:
    """A holder stopped past its ttl, then resumed: its fenced write is accepted
    until the new holder writes the key, refused after; renew and release raise LockLost.
    """
    ttl = short_ttl(process_store_factory)
    ctx = multiprocessing.get_context("spawn")
    commands, replies = ctx.Queue(), ctx.Queue()
    holder = ctx.Process(
        target=lease_workers.paused_holder,
        args=(process_store_factory, ttl, commands, replies),
    )
    holder.start()

    def ask(command: str) -> object:
        commands.put(command)
        name, outcome = replies.get(timeout=60)
        assert name == command
        return outcome

    try:
        assert replies.get(timeout=120) == ("acquired", 1)
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGSTOP)
        m: CloudMapping[Any] = CloudMapping(
            process_store_factory(), codec=codecs.json(), sync_initially=False
        )
        lease = m.lock(lease_workers.LOCK, ttl=ttl, poll=POLL)
        assert lease.acquire(timeout=ttl + POLL + MARGIN)
        assert lease.token == 2
        os.kill(holder.pid, signal.SIGCONT)
        assert ask("write") == "ok"  # the new holder has not written the key yet
        m.modify("state", lease_workers.append_token(2), default=[], fence=lease)
        assert ask("write") == "FencedError"
        assert ask("renew") == "LockLost"
        assert ask("release") == "LockLost"
        entry = m.store.get("state")
        assert entry is not None
        assert json.loads(entry.data) == [1, 2]
        assert entry.metadata[FENCE_METADATA_KEY] == "2"
        assert lease.held
        lease.release()
    finally:
        if holder.pid is not None and holder.is_alive():
            os.kill(holder.pid, signal.SIGCONT)
        commands.put("exit")
        holder.join(timeout=60)
        if holder.is_alive():
            holder.kill()
            holder.join()
