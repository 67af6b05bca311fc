"""Lease workers run in threads or spawned processes (module level, so spawn imports them)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudmap import CloudMapping, FencedError, LockLost, codecs
from cloudmap.stores import Store

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from tests.reliability_workers import Waitable

StoreFactory = Callable[[], Store]
COUNTER = "counter"
LOCK = "workers"
# Between the read and the write of an increment: long enough that workers
# started together all read before any writes, so an unlocked run loses updates.
READ_WRITE_GAP = 0.2

_barrier: Waitable | None = None


def set_barrier(barrier: Waitable) -> None:
    """Pool initializer: keep the barrier every worker process waits on."""
    global _barrier  # noqa: PLW0603
    _barrier = barrier


def blind(factory: StoreFactory) -> CloudMapping[Any]:
    """A JSON mapping whose reads ignore held etags (missing keys read as 0)."""
    return CloudMapping(
        factory(),
        codec=codecs.json(),
        sync_initially=False,
        read_blindly=True,
        read_blindly_default=0,
    )


def bump(m: CloudMapping[Any]) -> None:
    """An unconditional read-increment-write: safe only under a lock."""
    value = m[COUNTER]
    time.sleep(READ_WRITE_GAP)
    m.set(COUNTER, value + 1, force=True)


def increment(
    factory: StoreFactory,
    times: int,
    ttl: float,
    *,
    locked: bool,
    barrier: Waitable | None = None,
) -> list[int]:
    """Bump the counter `times` times (under the lock if `locked`); return the tokens."""
    tokens: list[int] = []
    with blind(factory) as m:
        chosen = barrier if barrier is not None else _barrier
        if chosen is not None:
            chosen.wait(120)
        for _ in range(times):
            if not locked:
                bump(m)
                continue
            with m.lock(LOCK, ttl=ttl, poll=0.02) as lease:
                tokens.append(lease.token)
                bump(m)
    return tokens


def hold_then_die(factory: StoreFactory, ttl: float, events: Queue[str]) -> None:
    """Take the lock with auto-renewal, report it, then die without releasing."""
    m: CloudMapping[Any] = CloudMapping(factory(), sync_initially=False)
    lease = m.lock(LOCK, ttl=ttl, auto_renew=True)
    lease.acquire()
    events.put("acquired")
    time.sleep(ttl / 2)  # let the renewer run once or so
    os._exit(0)


def append_token(lease_token: int) -> Callable[[list[int]], list[int]]:
    """A modify() function appending the writer's token to the stored list."""
    return lambda tokens: [*tokens, lease_token]


def paused_holder(
    factory: StoreFactory,
    ttl: float,
    commands: Queue[str],
    replies: Queue[tuple[str, object]],
) -> None:
    """Hold the lock, then run commands: write (fenced), renew, release, exit.

    No auto-renewal: the test stops this process with SIGSTOP while it idles,
    never in the middle of a request (a LocalStore write holds the directory's
    lock, which would stall the contender too).
    """
    m: CloudMapping[Any] = CloudMapping(
        factory(), codec=codecs.json(), sync_initially=False
    )
    lease = m.lock(LOCK, ttl=ttl)
    lease.acquire()
    replies.put(("acquired", lease.token))
    actions: dict[str, Callable[[], object]] = {
        "write": lambda: m.modify(
            "state", append_token(lease.token), default=[], fence=lease
        ),
        "renew": lease.renew,
        "release": lease.release,
    }
    while (command := commands.get()) != "exit":
        try:
            actions[command]()
        except (FencedError, LockLost) as exc:
            replies.put((command, type(exc).__name__))
        else:
            replies.put((command, "ok"))
