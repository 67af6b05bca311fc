"""The worker-coordination demos: processes share a directory and never collide.

Each worker process walks the same task list in its own random order. It
claims a task with `create("claims/<task>")`, which the store grants to exactly
one worker, then "runs" it: it adds one to a shared counter with `modify` and
records its result. At the end the counter equals the number of tasks and the
workers' own reports add up to it, which proves no task ran twice.

The lock round (`cloudmap demo --lock`) has the workers take turns under one
lease; the first holder dies while holding it and another takes over after the
ttl. The tokens come out as 1..n, one per term.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import queue
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap.codecs import json
from cloudmap.errors import KeyExistsError
from cloudmap.mapping import CloudMapping
from cloudmap.stores.local import LocalStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

__all__ = ["DemoReport", "LockDemoReport", "run_demo", "run_lock_demo"]


@dataclass(frozen=True)
class DemoReport:
    """The outcome of a demo run."""

    directory: str
    tasks: int
    workers: int
    runs_per_worker: dict[str, int]
    claims: int
    counter: int
    seconds: float

    @property
    def ok(self) -> bool:
        """Every task ran exactly once."""
        runs = sum(self.runs_per_worker.values())
        return runs == self.claims == self.counter == self.tasks

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "directory": self.directory,
            "tasks": self.tasks,
            "workers": self.workers,
            "runs_per_worker": self.runs_per_worker,
            "claims": self.claims,
            "counter": self.counter,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
        }


def _open(directory: str) -> CloudMapping[Any]:
    return CloudMapping(LocalStore(directory, fsync=False), codec=json())


def _worker(
    directory: str,
    worker: int,
    tasks: int,
    barrier: Barrier,
    results: Queue[tuple[int, list[str]]],
) -> None:
    names = [f"task-{i:04d}" for i in range(tasks)]
    random.Random(worker).shuffle(names)  # noqa: S311 - an order, not a secret
    ran: list[str] = []
    with _open(directory) as mapping:
        barrier.wait()
        for task in names:
            try:
                mapping.create(f"claims/{task}", {"worker": worker, "pid": os.getpid()})
            except KeyExistsError:
                continue  # another worker holds it
            mapping.modify("counter", lambda n: n + 1, default=0)
            mapping.create(f"results/{task}", {"worker": worker})
            ran.append(task)
    results.put((worker, ran))


def run_demo(
    directory: str | os.PathLike[str],
    *,
    workers: int = 4,
    tasks: int = 40,
    on_progress: Callable[[int], None] | None = None,
    timeout: float = 300,
) -> DemoReport:
    """Run `workers` processes over `tasks` tasks in a fresh folder of `directory`.

    `on_progress` is called with the number of tasks claimed so far while the
    workers run.
    """
    root = Path(directory) / f"demo-{os.getpid()}-{time.time_ns()}"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    results: Queue[tuple[int, list[str]]] = context.Queue()
    LocalStore(root).close()
    processes = [
        context.Process(
            target=_worker, args=(str(root), worker, tasks, barrier, results)
        )
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=timeout)
        started = time.perf_counter()
        runs: dict[str, int] = {}
        with _open(str(root)) as watcher:
            while len(runs) < workers:
                if on_progress is not None:
                    watcher.sync_with_cloud()
                    on_progress(sum(1 for key in watcher if key.startswith("claims/")))
                try:
                    worker, ran = results.get(timeout=0.2)
                except queue.Empty:
                    _check_alive(processes, started, timeout)
                    continue
                runs[f"worker-{worker}"] = len(ran)
            seconds = time.perf_counter() - started
            watcher.sync_with_cloud()
            claims = sum(1 for key in watcher if key.startswith("claims/"))
            counter = int(watcher["counter"]) if "counter" in watcher else 0
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()
        results.close()
        results.join_thread()
    if on_progress is not None:
        on_progress(claims)
    return DemoReport(
        str(root), tasks, workers, dict(sorted(runs.items())), claims, counter, seconds
    )


def _check_alive(
    processes: Sequence[multiprocessing.process.BaseProcess],
    started: float,
    timeout: float,
) -> None:
    failed = [p for p in processes if p.exitcode not in (None, 0)]
    if failed:
        msg = f"demo worker exited with code {failed[0].exitcode}"
        raise RuntimeError(msg)
    if time.perf_counter() - started > timeout:
        raise TimeoutError(f"demo workers did not finish within {timeout} s")


# -- the lock round: workers take turns under one lease --------------------------

LOCK_TTL = 2.0
LOCK_ROUNDS = 2


@dataclass(frozen=True)
class LockDemoReport:
    """The outcome of a `--lock` demo run: one line per term of the lease."""

    directory: str
    workers: int
    terms: list[dict[str, Any]]
    counter: int
    killed: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        """Tokens 1..n, each term counted once, and every killed holder taken over."""
        tokens = [term["token"] for term in self.terms]
        takeovers = sum(1 for term in self.terms if term["takeover"])
        return (
            tokens == list(range(1, len(tokens) + 1))
            and self.counter == len(tokens)
            and takeovers == len(self.killed)
        )

    def lines(self) -> list[str]:
        """What `cloudmap demo --lock` prints."""
        out = []
        for term in self.terms:
            how = (
                f"took over after {term['waited']:.1f} s (ttl {LOCK_TTL:g} s)"
                if term["takeover"]
                else "acquired"
            )
            end = "killed while holding" if term["killed"] else "released"
            out.append(f"  token {term['token']}: {term['worker']} {how}; {end}")
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "directory": self.directory,
            "workers": self.workers,
            "terms": self.terms,
            "counter": self.counter,
            "killed": self.killed,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
        }


def _append(entry: list[Any], log: list[Any]) -> list[Any]:
    return [*log, entry]


def _lock_worker(directory: str, worker: int, barrier: Barrier) -> None:
    """Hold the lease LOCK_ROUNDS times; worker 0 dies holding it the first time."""
    name = f"worker-{worker}"
    with _open(directory) as mapping:
        lease = mapping.lock("demo", ttl=LOCK_TTL, poll=0.05)
        if worker == 0:
            # Worker 0 holds the first term before anyone starts, so that its death
            # is always seen, however fast the others take their turns.
            lease.acquire()
        barrier.wait()
        for _ in range(LOCK_ROUNDS):
            started = time.monotonic()
            if not (worker == 0 and lease.held):
                lease.acquire()
            entry: list[Any] = [name, lease.token, time.monotonic() - started]
            mapping.modify(
                "log", functools.partial(_append, entry), default=[], fence=lease
            )
            mapping.modify("counter", lambda n: n + 1, default=0, fence=lease)
            if worker == 0:
                os._exit(1)  # killed while holding: never released
            lease.release()
            time.sleep(0.05)  # let the others have a turn


def run_lock_demo(
    directory: str | os.PathLike[str], *, workers: int = 4
) -> LockDemoReport:
    """Run `workers` processes taking turns under one lease; one dies holding it."""
    root = Path(directory) / f"demo-lock-{os.getpid()}-{time.time_ns()}"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    LocalStore(root).close()
    processes = [
        context.Process(target=_lock_worker, args=(str(root), worker, barrier))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=300)
        started = time.perf_counter()
        for process in processes:
            process.join(timeout=300)
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()
    killed = [f"worker-{i}" for i, p in enumerate(processes) if p.exitcode == 1]
    failed = [p.exitcode for p in processes if p.exitcode not in (0, 1)]
    if failed:
        msg = f"demo worker exited with code {failed[0]}"
        raise RuntimeError(msg)
    with _open(str(root)) as mapping:
        log = mapping["log"]
        counter = int(mapping["counter"])
    terms = []
    for i, (worker, token, waited) in enumerate(log):
        previous = log[i - 1][0] if i else None
        terms.append(
            {
                "token": token,
                "worker": worker,
                "waited": waited,
                "takeover": previous in killed,
                "killed": worker in killed,
            }
        )
    return LockDemoReport(str(root), workers, terms, counter, killed, seconds)
