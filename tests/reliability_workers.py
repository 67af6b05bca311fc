"""Workers for the concurrency tests, importable by spawned processes.

Each worker opens its own clients from a store factory, waits on a barrier so
that every worker starts together, runs its threads and returns the operations
it recorded (see `tests.linearizability`) plus counts for the figures.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from cloudmap import CloudMapping, KeyExistsError, codecs
from cloudmap.stores import Store
from tests.linearizability import Operation, Recorder

StoreFactory = Callable[[], Store]
BARRIER_TIMEOUT = 120.0


class Waitable(Protocol):
    """A threading or multiprocessing barrier."""

    def wait(self, timeout: float | None = None) -> int:
        """Block until every party has arrived."""
        ...


@dataclass
class Outcome:
    """What one worker process saw: its operations and its counts."""

    history: list[Operation] = field(default_factory=list)
    attempts: int = 0
    done: list[int] = field(default_factory=list)


_process_barrier: Waitable | None = None


def set_process_barrier(barrier: Waitable) -> None:
    """Pool initializer: keep the barrier shared by every worker process."""
    global _process_barrier  # noqa: PLW0603
    _process_barrier = barrier


def _start_together(barrier: Waitable | None) -> None:
    chosen = barrier if barrier is not None else _process_barrier
    if chosen is not None:
        chosen.wait(BARRIER_TIMEOUT)


def _in_threads(threads: int, fn: Callable[[int], None]) -> None:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(fn, i) for i in range(threads)]:
            future.result()


def count(
    factory: StoreFactory,
    key: str,
    threads: int,
    increments: int,
    barrier: Waitable | None = None,
) -> Outcome:
    """`threads` threads share one mapping and each apply `increments` x modify(+1)."""
    recorder = Recorder()
    outcome = Outcome(history=recorder.history)
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def plus_one(value: int) -> int:
        with lock:
            outcome.attempts += 1
        return value + 1

    with CloudMapping[Any](factory(), codec=codecs.json(), sync_initially=False) as m:

        def run(_: int) -> None:
            start.wait(BARRIER_TIMEOUT)
            for _ in range(increments):
                with recorder.record(key, "add", 1) as out:
                    out.append(m.modify(key, plus_one, default=0))

        _start_together(barrier)
        _in_threads(threads, run)
    return outcome


def create(
    factory: StoreFactory,
    key: str,
    threads: int,
    first_id: int,
    barrier: Waitable | None = None,
) -> Outcome:
    """`threads` threads, each with its own client, create `key` with their id."""
    recorder = Recorder()
    outcome = Outcome(history=recorder.history)
    mappings = [
        CloudMapping[Any](factory(), codec=codecs.json(), sync_initially=False)
        for _ in range(threads)
    ]
    start = threading.Barrier(threads)

    def run(i: int) -> None:
        start.wait(BARRIER_TIMEOUT)
        with recorder.record(key, "create", first_id + i) as out:
            try:
                mappings[i].create(key, first_id + i)
                out.append(True)
            except KeyExistsError:
                out.append(False)

    try:
        _start_together(barrier)
        _in_threads(threads, run)
    finally:
        for m in mappings:
            m.close()
    return outcome


def claim_tasks(
    factory: StoreFactory,
    tasks: int,
    worker_id: int,
    barrier: Waitable | None = None,
) -> Outcome:
    """Claim tasks with create on `claim/<n>`; do each claimed task once.

    Doing a task means creating `result/<n>`: a second execution would raise.
    """
    recorder = Recorder()
    outcome = Outcome(history=recorder.history)
    order = list(range(tasks))
    random.Random(worker_id).shuffle(order)
    with CloudMapping[Any](factory(), codec=codecs.json(), sync_initially=False) as m:
        _start_together(barrier)
        for task in order:
            key = f"claim/{task}"
            with recorder.record(key, "create", worker_id) as out:
                try:
                    m.create(key, worker_id)
                    out.append(True)
                except KeyExistsError:
                    out.append(False)
            if out[0]:
                m.create(f"result/{task}", {"task": task, "pid": os.getpid()})
                outcome.done.append(task)
    return outcome


def open_and_write(root: str, threads: int) -> int:
    """Open a LocalStore folder on `threads` threads at once and write a key each."""
    from cloudmap.stores import LocalStore  # noqa: PLC0415 - a local store only here

    def one(i: int) -> None:
        with LocalStore(root, fsync=False) as store:
            store.put(f"{os.getpid()}-{i}", b"v", mode="create")

    _start_together(None)
    _in_threads(threads, one)
    return threads
