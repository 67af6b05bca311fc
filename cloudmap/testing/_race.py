"""`race`: release N threads together to provoke a conflict."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from cloudmap.errors import CloudMapError

__all__ = ["race"]


def race(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run `fn(i)` in `n` threads released together; return results or exceptions.

    A `CloudMapError` raised by `fn` is returned in its slot, so a caller can count
    winners and losers; any other exception propagates.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> store = MemoryStore()
        >>> outcomes = race(4, lambda i: store.put("k", b"%d" % i, mode="create"))
        >>> sum(isinstance(o, str) for o in outcomes)
        1
    """
    barrier = threading.Barrier(n)

    def run(i: int) -> object:
        barrier.wait()
        try:
            return fn(i)
        except CloudMapError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
