"""Counters, creates and claims stay exact and linearizable under real concurrency.

The thread tests run over every provider (`store_factory`); the process tests
over every store that processes can share (`process_store_factory`), each
process with its own clients. `--stress` runs them at the issue's full scale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest

from cloudmap import CloudMapping, codecs
from cloudmap.stores import Store
from tests import reliability_workers as workers
from tests.linearizability import Operation, check, check_per_key
from tests.scale import Scale
from tests.spawned import spawn_pool

StoreFactory = Callable[[], Store]
Recorder = Callable[[str, object], None]


def run_workers(
    parties: int,
    *,
    processes: bool,
    submit: Callable[[Executor, int, Any], Future[workers.Outcome]],
) -> list[workers.Outcome]:
    """Run `parties` workers (processes or threads) released together by a barrier."""
    if processes:
        with spawn_pool(parties, workers.set_process_barrier) as pool:
            futures = [submit(pool, i, None) for i in range(parties)]
            return [future.result() for future in futures]
    barrier = threading.Barrier(parties)
    with ThreadPoolExecutor(max_workers=parties) as pool:
        futures = [submit(pool, i, barrier) for i in range(parties)]
        return [future.result() for future in futures]


def history_of(outcomes: list[workers.Outcome]) -> list[Operation]:
    return [op for outcome in outcomes for op in outcome.history]


def read(factory: StoreFactory, key: str) -> Any:
    with CloudMapping[Any](factory(), codec=codecs.json()) as m:
        return m[key]


@pytest.fixture
def figures(record_property: Recorder, scale: Scale) -> Recorder:
    """Record figures for the reliability docs (visible with --junitxml)."""
    record_property("scale", scale.name)
    return record_property


def assert_counter(
    factory: StoreFactory,
    outcomes: list[workers.Outcome],
    total: int,
    elapsed: float,
    figures: Recorder,
) -> None:
    history = history_of(outcomes)
    assert read(factory, "counter") == total
    assert sorted(int(op.output) for op in history) == list(range(1, total + 1))  # type: ignore[call-overload]
    assert check(history), "the counter's history is not linearizable"
    attempts = sum(outcome.attempts for outcome in outcomes)
    figures("increments", total)
    figures("conflicts_retried", attempts - total)
    figures("seconds", round(elapsed, 2))
    figures("increments_per_second", round(total / elapsed, 1))


def test_counter_across_processes_ends_exact(
    process_store_factory: StoreFactory, scale: Scale, figures: Recorder
) -> None:
    """Processes x threads applying modify(+1) end exactly at their total, linearizably."""
    start = time.monotonic()
    outcomes = run_workers(
        scale.processes,
        processes=True,
        submit=lambda pool, _, barrier: pool.submit(
            workers.count,
            process_store_factory,
            "counter",
            scale.threads,
            scale.increments,
            barrier,
        ),
    )
    elapsed = time.monotonic() - start
    assert_counter(
        process_store_factory, outcomes, scale.total_increments, elapsed, figures
    )


def test_counter_across_clients_ends_exact(
    store_factory: StoreFactory, scale: Scale, figures: Recorder
) -> None:
    """Separate clients in threads applying modify(+1) end exactly at their total."""
    start = time.monotonic()
    outcomes = run_workers(
        scale.processes,
        processes=False,
        submit=lambda pool, _, barrier: pool.submit(
            workers.count,
            store_factory,
            "counter",
            scale.threads,
            scale.increments,
            barrier,
        ),
    )
    elapsed = time.monotonic() - start
    assert_counter(store_factory, outcomes, scale.total_increments, elapsed, figures)


def check_creates(
    factory: StoreFactory, scale: Scale, *, processes: bool, figures: Recorder
) -> None:
    parties = 4 if processes else 1
    per_party = scale.creators // parties
    outcomes = run_workers(
        parties,
        processes=processes,
        submit=lambda pool, i, barrier: pool.submit(
            workers.create, factory, "claim", per_party, i * per_party, barrier
        ),
    )
    history = history_of(outcomes)
    winners = [op.arg for op in history if op.output is True]
    assert len(history) == scale.creators
    assert len(winners) == 1, f"{len(winners)} creates won"
    assert read(factory, "claim") == winners[0]
    assert check(history), "the creates are not linearizable"
    figures("creators", scale.creators)


def test_concurrent_creates_have_exactly_one_winner(
    store_factory: StoreFactory, scale: Scale, figures: Recorder
) -> None:
    """Of many clients creating one key in threads exactly one wins; its value stays."""
    check_creates(store_factory, scale, processes=False, figures=figures)


def test_concurrent_creates_across_processes_have_exactly_one_winner(
    process_store_factory: StoreFactory, scale: Scale, figures: Recorder
) -> None:
    """Of many processes creating one key exactly one create wins; its value stays."""
    check_creates(process_store_factory, scale, processes=True, figures=figures)


def check_work_queue(
    factory: StoreFactory,
    tasks: int,
    scale: Scale,
    *,
    processes: bool,
    figures: Recorder,
) -> None:
    start = time.monotonic()
    outcomes = run_workers(
        scale.task_workers,
        processes=processes,
        submit=lambda pool, i, barrier: pool.submit(
            workers.claim_tasks, factory, tasks, i, barrier
        ),
    )
    elapsed = time.monotonic() - start
    done = sorted(task for outcome in outcomes for task in outcome.done)
    assert done == list(range(tasks)), "some task ran twice or never"
    with CloudMapping[Any](factory(), codec=codecs.json()) as m:
        assert sorted(m) == sorted(
            [f"claim/{t}" for t in range(tasks)] + [f"result/{t}" for t in range(tasks)]
        )
        for worker_id, outcome in enumerate(outcomes):
            for task in outcome.done:
                assert m[f"claim/{task}"] == worker_id
    assert check_per_key(history_of(outcomes)) == []
    figures("tasks", tasks)
    figures("workers", scale.task_workers)
    figures("claims_per_second", round(tasks * scale.task_workers / elapsed, 1))


def test_work_queue_runs_every_task_exactly_once(
    store_factory: StoreFactory, scale: Scale, figures: Recorder
) -> None:
    """Threads claiming tasks with create run every task once and only once."""
    check_work_queue(
        store_factory, scale.tasks // 4, scale, processes=False, figures=figures
    )


def test_work_queue_across_processes_runs_every_task_exactly_once(
    process_store_factory: StoreFactory, scale: Scale, figures: Recorder
) -> None:
    """Processes claiming tasks with create run every task once and only once."""
    check_work_queue(
        process_store_factory, scale.tasks, scale, processes=True, figures=figures
    )
