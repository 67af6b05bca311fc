"""Real races: threads and processes contend for one key; the server picks one winner."""

from __future__ import annotations

import multiprocessing

from cloudmap import CloudMapping
from cloudmap.codecs import json
from tests import workers
from tests.conftest import StoreFactory


def test_threads_racing_to_create_have_one_winner(store_factory: StoreFactory) -> None:
    """16 threads, each with its own mapping, create one key: exactly one succeeds."""
    assert workers.claim(store_factory, "claim", threads=16) == 1


def test_threads_incrementing_with_modify_end_exact(
    store_factory: StoreFactory,
) -> None:
    """8 threads x 25 modify(+1) on one key end at exactly 200."""
    workers.increment(store_factory, "counter", threads=8, times=25)
    m: CloudMapping[int] = CloudMapping(store_factory(), codec=json())
    assert m["counter"] == 200


def test_processes_racing_to_create_have_one_winner(
    process_store_factory: StoreFactory,
) -> None:
    """4 processes x 4 threads create one key: exactly one of the 16 succeeds."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        wins = pool.starmap(workers.claim, [(process_store_factory, "claim", 4)] * 4)
    assert sum(wins) == 1


def test_processes_incrementing_with_modify_end_exact(
    process_store_factory: StoreFactory,
) -> None:
    """4 processes x 2 threads x 25 modify(+1) on one key end at exactly 200."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.starmap(workers.increment, [(process_store_factory, "n", 2, 25)] * 4)
    m: CloudMapping[int] = CloudMapping(process_store_factory(), codec=json())
    assert m["n"] == 200
