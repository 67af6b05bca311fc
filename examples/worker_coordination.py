"""Worker coordination: processes claim tasks atomically and share a counter.

Run: python examples/worker_coordination.py [TARGET]
TARGET is a directory or a URL every worker can reach (s3://bucket/prefix,
az://..., gs://...); it defaults to $CLOUDMAP_EXAMPLE_TARGET, else a temporary
directory.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import tempfile
from collections import Counter

from cloudmap import CloudMapping, KeyExistsError, codecs
from cloudmap.targets import open_store

TASKS = 30
WORKERS = 4


def open_mapping(target: str) -> CloudMapping[object]:
    store, prefix = open_store(target, create=True)
    return CloudMapping(store, codec=codecs.json(), key_prefix=prefix)


def worker(target: str, name: str) -> list[str]:
    """Claim what no one else has claimed, run it, count it."""
    tasks = [f"task-{i:02d}" for i in range(TASKS)]
    random.shuffle(tasks)
    ran = []
    with open_mapping(target) as shared:
        for task in tasks:
            try:
                shared.create(f"claims/{task}", name)  # exactly one worker wins
            except KeyExistsError:
                continue
            shared.modify("done", lambda n: n + 1, default=0)  # atomic increment
            ran.append(task)
    return ran


def main(target: str) -> None:
    context = multiprocessing.get_context("spawn")
    names = [f"worker-{i}" for i in range(WORKERS)]
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(worker, [(target, name) for name in names])
    runs = Counter(task for ran in results for task in ran)
    with open_mapping(target) as shared:
        done = shared["done"]
        claims = [key for key in shared if key.startswith("claims/")]
    for name, ran in zip(names, results, strict=True):
        print(f"{name} ran {len(ran)} tasks")
    print(f"tasks run: {sum(runs.values())}, claims: {len(claims)}, counter: {done}")
    assert max(runs.values()) == 1, "a task ran twice"
    assert done == len(claims) == TASKS
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
