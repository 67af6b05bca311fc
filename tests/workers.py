"""Worker functions run in child processes (module level, so spawn can import them)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cloudmap import CloudMapping, KeyExistsError
from cloudmap.codecs import json
from cloudmap.stores import Store


def claim(factory: Callable[[], Store], key: str, threads: int) -> int:
    """Try to create `key` from `threads` threads at once; return how many won."""
    mapping: CloudMapping[object] = CloudMapping(factory(), codec=json())
    barrier = threading.Barrier(threads)
    wins: list[int] = []

    def attempt(worker: int) -> None:
        barrier.wait()
        try:
            mapping.create(key, worker)
        except KeyExistsError:
            return
        wins.append(worker)

    pool = [threading.Thread(target=attempt, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    mapping.close()
    return len(wins)


def increment(factory: Callable[[], Store], key: str, threads: int, times: int) -> None:
    """Add 1 to the counter at `key`, `times` times from each of `threads` threads."""
    mapping: CloudMapping[int] = CloudMapping(
        factory(), codec=json(), sync_initially=False
    )

    def work() -> None:
        for _ in range(times):
            mapping.modify(key, lambda value: value + 1, default=0)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    mapping.close()
