"""Worker coordination: processes claim tasks atomically and share a counter.

Run: python examples/worker_coordination.py [TARGET]
TARGET is a directory or a URL every worker can reach (s3://bucket/prefix,
az://..., gs://...); it defaults to $CLOUDMAP_EXAMPLE_TARGET, else a temporary
directory. Each run works under its own `runs/<id>/` prefix, so running it again
on the same TARGET starts a fresh task list and leaves earlier runs as they are.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING

from cloudmap import CloudMapping, KeyExistsError, codecs
from cloudmap.targets import open_store

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

TASKS = 30
WORKERS = 4
WORK_SECONDS = 0.02  # what "running" a task costs, so that workers overlap


def open_mapping(target: str, run: str) -> CloudMapping[object]:
    store, prefix = open_store(target, create=True)
    return CloudMapping(store, codec=codecs.json(), key_prefix=f"{prefix}runs/{run}/")


def worker(
    target: str, run: str, name: str, start: Barrier, done: Queue[tuple[str, list[str]]]
) -> None:
    """Claim what no one else has claimed, run it, count it."""
    tasks = [f"task-{i:02d}" for i in range(TASKS)]
    random.shuffle(tasks)
    ran = []
    with open_mapping(target, run) as shared:
        start.wait(timeout=120)  # every worker starts at once: they really compete
        for task in tasks:
            try:
                shared.create(f"claims/{task}", name)  # exactly one worker wins
            except KeyExistsError:
                continue
            time.sleep(WORK_SECONDS)
            shared.modify("done", lambda n: n + 1, default=0)  # atomic increment
            ran.append(task)
    done.put((name, ran))


def main(target: str) -> None:
    run = uuid.uuid4().hex[:8]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    done: Queue[tuple[str, list[str]]] = context.Queue()
    names = [f"worker-{i}" for i in range(WORKERS)]
    processes = [
        context.Process(target=worker, args=(target, run, name, start, done))
        for name in names
    ]
    for process in processes:
        process.start()
    results = dict(done.get(timeout=300) for _ in processes)
    for process in processes:
        process.join()
    runs = Counter(task for ran in results.values() for task in ran)
    with open_mapping(target, run) as shared:
        total = shared["done"]
        claims = [key for key in shared if key.startswith("claims/")]
    for name in names:
        print(f"{name} ran {len(results[name])} tasks")
    print(f"tasks run: {sum(runs.values())}, claims: {len(claims)}, counter: {total}")
    assert max(runs.values()) == 1, "a task ran twice"
    assert total == len(claims) == TASKS
    busy = sum(1 for ran in results.values() if ran)
    assert busy > 1, "one worker ran everything: nothing was shared"
    print(f"{busy} workers shared the {TASKS} tasks (run {run})")
    print("every task ran exactly once")


if __name__ == "__main__":
    chosen = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CLOUDMAP_EXAMPLE_TARGET")
    )
    if chosen:
        main(chosen)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
