"""Worker processes for the cross-process tests, started together by one barrier."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def spawn_pool(parties: int, set_barrier: Callable[[Any], None]) -> ProcessPoolExecutor:
    """`parties` spawned processes; each gets a shared barrier from `set_barrier`."""
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=parties,
        mp_context=ctx,
        initializer=set_barrier,
        initargs=(ctx.Barrier(parties),),
    )
