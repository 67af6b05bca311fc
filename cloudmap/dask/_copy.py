"""`copy_keys(..., client=)`: a bulk copy split into partitions, one task each.

The calling process lists both sides and keeps the journal, exactly as a local
copy does; keys the journal shows in place are skipped there, and the rest are
cut into partitions of consecutive keys. Each task gets its partition's keys
and listed etags and the two *targets* (never a live client or a credential),
opens both stores on its worker, copies, and returns its report and journal
entries, which the caller saves as each task finishes. A rerun after a lost
worker therefore redoes only the partitions whose results never came back.

Each of a worker's task threads keeps its pool of `workers` threads for the
next task it runs, rather than starting a new one per task: on Python 3.11 a
thread started while dask's profiler samples the worker's stacks can deadlock
the worker (CPython issue 116969), so threads start once per task thread, not
once per partition.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap._bulk import LazyPool
from cloudmap._per_process import PerProcess
from cloudmap.stores.prefixed import PrefixedStore
from cloudmap.transfer import TransferReport, _Copier

if TYPE_CHECKING:
    from collections.abc import Callable

    from cloudmap.stores._protocol import Store

__all__ = [
    "Target",
    "connect",
    "copy_on_cluster",
    "is_directory",
    "open_target",
    "require_distributed",
]

Target = str | tuple[str, str]
"""A path, URL or ini file (its first provider), or (ini file, section name)."""


def require_distributed() -> Any:
    """Import `distributed`, or explain which extra provides it.

    Raises:
        MissingDependencyError: dask.distributed is not installed.
    """
    from cloudmap._extras import require  # noqa: PLC0415

    return require("distributed", extra="dask", purpose="cloudmap.dask")


def is_directory(target: Target) -> bool:
    """Whether `target` names a local directory (created on write, as the CLI does)."""
    from cloudmap.targets import parse_target  # noqa: PLC0415

    if isinstance(target, tuple) or target.lower().endswith(".ini"):
        return False
    return parse_target(target).provider == "local"


def connect(address: str) -> Any:
    """A `distributed.Client` of the scheduler at `address`, for the command line.

    The wait for the scheduler is dask's `distributed.comm.timeouts.connect`.

    Raises:
        MissingDependencyError: dask.distributed is not installed.
        OSError: no scheduler answered in time.
    """
    return require_distributed().Client(address, set_as_default=False)


def open_target(target: Target, *, create: bool = False) -> tuple[Store, str]:
    """Open the store a target names; return it with its key prefix.

    Raises:
        ConfigError: the target, the ini file or the section is invalid.
    """
    # Imported here: targets pull in the mapping layer, above this one.
    from cloudmap.errors import ConfigError  # noqa: PLC0415
    from cloudmap.targets import resolve  # noqa: PLC0415

    if isinstance(target, tuple):
        path, section = target
        stores = {config.section: config for config in resolve(path)}
        if section not in stores:
            raise ConfigError(f"{path}: no store section [{section}]")
        chosen = stores[section]
    else:
        chosen = resolve(target)[0]
    return chosen.open_store(create=create), chosen.prefix


@dataclass(frozen=True)
class _Job:
    """What every task of one copy shares: plain text, safe to send to workers."""

    source: Target
    destination: Target
    source_prefix: str
    destination_prefix: str
    workers: int
    compare: bool = False


def copy_on_cluster(
    client: Any,
    source: Target,
    destination: Target,
    *,
    source_prefix: str = "",
    destination_prefix: str = "",
    delete_extra: bool = False,
    journal: Path | None = None,
    workers: int = 8,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[], None] | None = None,
    partition_size: int = 1000,
    compare: bool = False,
) -> TransferReport:
    """`copy_keys` on a dask.distributed cluster (see its arguments).

    With `compare`, destination objects the journal does not vouch for are read
    and left alone when they already hold the source's bytes (for repairs).
    """
    distributed = require_distributed()
    if partition_size < 1:
        msg = f"partition_size must be at least 1, not {partition_size}"
        raise ValueError(msg)
    job = _Job(source, destination, source_prefix, destination_prefix, workers, compare)
    copier = _listed(job, journal)
    report = copier.report
    extra = sorted(set(copier.dst) - set(copier.src)) if delete_extra else []
    if on_total is not None:
        on_total(len(copier.src) + len(extra))
    progress = on_progress if on_progress is not None else _nothing
    todo = []
    for key in sorted(copier.src):
        if copier.in_place(key):
            report.skipped.append(key)
            progress()
        else:
            todo.append(key)
    partitions: list[tuple[list[tuple[str, str, str | None]], list[tuple[str, str]]]]
    partitions = [
        ([(key, copier.src[key], copier.dst.get(key)) for key in chunk], [])
        for chunk in _chunks(todo, partition_size)
    ]
    partitions += [
        ([], [(key, copier.dst[key]) for key in chunk])
        for chunk in _chunks(extra, partition_size)
    ]
    futures = {
        client.submit(copy_partition, job, copies, deletes, pure=False): [
            key for key, *_ in copies
        ]
        + [key for key, _ in deletes]
        for copies, deletes in partitions
    }
    try:
        for future in distributed.as_completed(futures):
            _collect(future, futures[future], copier)
            for _ in futures[future]:
                progress()
    finally:
        copier.journal.save()
    for items in (report.copied, report.skipped, report.deleted):
        items.sort()
    return report


def _nothing() -> None:
    """No progress callback."""


def _listed(job: _Job, journal: Path | None) -> _Copier:
    """A copier holding both listings and the journal; its stores are closed."""
    src, src_base = open_target(job.source)
    try:
        dst, dst_base = open_target(
            job.destination, create=is_directory(job.destination)
        )
        try:
            return _Copier(
                PrefixedStore(src, src_base + job.source_prefix),
                PrefixedStore(dst, dst_base + job.destination_prefix),
                journal,
            )
        finally:
            dst.close()
    finally:
        src.close()


def _chunks(keys: list[str], size: int) -> list[list[str]]:
    return [keys[start : start + size] for start in range(0, len(keys), size)]


def _collect(future: Any, keys: list[str], copier: _Copier) -> None:
    """Add one finished task's outcome to the report and journal, and save it."""
    report, journal = copier.report, copier.journal
    try:
        done, entries = future.result()
    except Exception as exc:  # noqa: BLE001 - a lost worker, an unopenable store...
        reason = f"{type(exc).__name__}: {exc}"
        report.failed.update(dict.fromkeys(keys, reason))
    else:
        report.copied += done.copied
        report.skipped += done.skipped
        report.deleted += done.deleted
        report.failed.update(done.failed)
        for key, etags in entries.items():
            journal.record(key, etags)
        for key in done.deleted:
            journal.record(key, None)
    journal.save()


# Per (pool size, task thread): the pool that thread's tasks run on.
_POOLS: PerProcess[tuple[int, int], LazyPool] = PerProcess(
    lambda size_and_thread: LazyPool(size_and_thread[0], "cloudmap-copy")
)


def copy_partition(
    job: _Job,
    copies: list[tuple[str, str, str | None]],
    deletes: list[tuple[str, str]],
) -> tuple[TransferReport, dict[str, list[str]]]:
    """Copy one partition on a worker: open both targets, copy, report.

    `copies` holds (key, source etag, destination etag or None) and `deletes`
    (key, destination etag), as listed by the caller.
    """
    src, src_base = open_target(job.source)
    try:
        dst, dst_base = open_target(job.destination)
        try:
            copier = _Copier(
                PrefixedStore(src, src_base + job.source_prefix),
                PrefixedStore(dst, dst_base + job.destination_prefix),
                None,
                src={key: etag for key, etag, _ in copies},
                dst={key: etag for key, _, etag in copies if etag is not None}
                | dict(deletes),
                compare=job.compare,
            )
            report = copier.run_all(
                [key for key, *_ in copies],
                [key for key, _ in deletes],
                _POOLS.get((job.workers, threading.get_ident())).get(),
                None,
            )
            return report, copier.journal.entries
        finally:
            dst.close()
    finally:
        src.close()
