"""Leader election: one leader at a time, and a killed leader is replaced.

Run: python examples/leader_election.py [TARGET]
TARGET is a directory or a URL every worker can reach (s3://bucket/prefix,
az://..., gs://...); it defaults to $CLOUDMAP_EXAMPLE_TARGET, else a temporary
directory.

Three processes compete for one lease. The leader appends heartbeats to a shared
log with `modify(..., fence=lease)`, so a leader that lost its lease can never
write over a newer one. The first leader dies without releasing (`os._exit`);
another process takes over once the lease has gone `TTL` seconds unrenewed.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from typing import Any

from cloudmap import CloudMapping, LockLost, codecs
from cloudmap.targets import open_store

WORKERS = 3
TTL = 3.0  # GCS allows about one write per second per object: 3 s is its minimum
BEATS_PER_TERM = 3
TERMS = 3


def open_mapping(target: str) -> CloudMapping[Any]:
    store, prefix = open_store(target, create=True)
    return CloudMapping(
        store,
        codec=codecs.json(),
        key_prefix=prefix,
        sync_initially=False,
        read_blindly=True,
        read_blindly_default=[],
    )


def candidate(target: str, run: str, name: str) -> None:
    """Compete for the lease; while leading, write heartbeats fenced by its token."""
    log_key = f"runs/{run}/log"
    with open_mapping(target) as shared:
        lease = shared.lock(f"leader-{run}", ttl=TTL, poll=0.1, auto_renew=True)
        while len(shared[log_key]) < TERMS * BEATS_PER_TERM:
            if not lease.acquire(timeout=0.5):
                continue
            for _ in range(BEATS_PER_TERM):
                entry = [name, lease.token]
                shared.modify(log_key, lambda log, e=entry: [*log, e], fence=lease)
                time.sleep(0.05)
            if lease.token == 1:
                os._exit(1)  # the first leader crashes while leading
            try:
                lease.release()
            except LockLost:
                print(f"{name} lost its lease before releasing it")
            time.sleep(0.2)  # let another candidate win the next term


def main(target: str) -> None:
    run = uuid.uuid4().hex[:8]
    with open_mapping(target) as shared:
        shared.create(f"runs/{run}/log", [])
    context = multiprocessing.get_context("spawn")
    names = [f"worker-{i}" for i in range(WORKERS)]
    processes = {
        name: context.Process(target=candidate, args=(target, run, name))
        for name in names
    }
    for process in processes.values():
        process.start()
    for process in processes.values():
        process.join()
    with open_mapping(target) as shared:
        log = shared[f"runs/{run}/log"]
    terms: dict[int, set[str]] = {}
    for leader, token in log:
        terms.setdefault(token, set()).add(leader)
    for token, leaders in sorted(terms.items()):
        print(f"token {token}: {', '.join(sorted(leaders))}")
    crashed = [name for name, p in processes.items() if p.exitcode == 1]
    assert [token for _, token in log] == sorted(token for _, token in log)
    assert all(len(leaders) == 1 for leaders in terms.values()), "two leaders"
    assert crashed == sorted(terms[1]), "the first leader did not crash"
    assert terms[2] != terms[1], "the crashed leader was not replaced"
    print(f"{crashed[0]} was killed while leading; {min(terms[2])} took over")
    print("one leader at a time; the killed leader was replaced")


if __name__ == "__main__":
    chosen = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CLOUDMAP_EXAMPLE_TARGET")
    )
    if chosen:
        main(chosen)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
