"""Copy keys between any two stores, in parallel, resumable by etag comparison.

A copy lists both sides once, then copies each source key whose bytes the
destination may not hold. Which keys are already in place is decided from a
*journal*: for every key copied it records the source etag read and the
destination etag written. On the next run a key whose two listed etags still
match its journal entry is skipped without a request, so an interrupted copy
resumes where it stopped, and a finished one costs two listings.

Every destination write is conditional: create-only where the listing showed no
object, `Replace` of the listed etag otherwise, so a key changed at the
destination during the copy is reported, never overwritten (unless it already
holds exactly the bytes being copied, as after a retried partition).

With a dask.distributed `client=`, the same copy runs on a cluster (see
`cloudmap.dask`): the listings and the journal stay on the calling process,
and each partition of keys is copied by a task on a worker.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap._bulk import run_each
from cloudmap._journal import Journal
from cloudmap._reserved import reserved
from cloudmap.errors import CloudMapError, KeySyncError
from cloudmap.retry import WRITE_ID_METADATA_KEY
from cloudmap.stores._protocol import Entry, Store, folder_prefix, replace_or_create
from cloudmap.stores.prefixed import PrefixedStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from concurrent.futures import Executor

__all__ = ["TransferReport", "copy_keys", "default_journal"]


@dataclass
class TransferReport:
    """What a copy did, key by key (keys are relative to the prefixes)."""

    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "copied": len(self.copied),
            "skipped": len(self.skipped),
            "deleted": len(self.deleted),
            "failed": self.failed,
        }


def default_journal(source: str, destination: str) -> Path:
    """Where the journal of a copy from `source` to `destination` is kept by default.

    Under `$XDG_CACHE_HOME/cloudmap` (or `~/.cache/cloudmap`), named after a
    hash of both targets' printable names, which hold no credentials.
    """
    import hashlib  # noqa: PLC0415 - only the CLI's default needs it

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(f"{source}\n{destination}".encode()).hexdigest()[:16]
    return base / "cloudmap" / f"copy-{digest}.json"


def copy_keys(
    source: Store | str | os.PathLike[str],
    destination: Store | str | os.PathLike[str],
    *,
    source_prefix: str = "",
    destination_prefix: str = "",
    delete_extra: bool = False,
    journal: Path | None = None,
    workers: int = 8,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[], None] | None = None,
    client: Any = None,
    partition_size: int = 1000,
) -> TransferReport:
    """Copy every key under `source_prefix` to `destination_prefix`, bytes and metadata.

    Args:
        source: the store read from; with `client`, its target instead (a path,
            URL or ini file that every worker can open).
        destination: the store written to; with `client`, its target.
        source_prefix: the folder copied from: only keys under it are
            copied, with it removed. A prefix names a folder, as a mapping's
            `key_prefix` does: "/" is appended unless it ends in one.
        destination_prefix: the folder written to, prepended to each key
            (with "/" appended the same way).
        delete_extra: also delete destination keys missing from the source
            (a mirror), each conditioned on its listed etag.
        journal: the file recording what was copied, for resuming; None keeps
            no record (every key is copied again).
        workers: parallel requests (per task, with `client`).
        on_total: called once with the number of keys to examine.
        on_progress: called after each key is examined.
        client: a `distributed.Client`: copy on its cluster, one task per
            partition of keys (needs the `dask` extra).
        partition_size: keys per task, with `client`.

    Returns:
        What was copied, skipped, deleted, and which keys failed and why.

    Raises:
        TypeError: stores were given with `client` (workers open their own
            from targets), or targets without it.
    """
    source_prefix = folder_prefix(source_prefix)
    destination_prefix = folder_prefix(destination_prefix)
    if client is not None:
        if isinstance(source, Store) or isinstance(destination, Store):
            msg = "with client=, pass targets (paths, URLs, ini files), not stores"
            raise TypeError(msg)
        from cloudmap.dask._copy import copy_on_cluster  # noqa: PLC0415 - optional

        return copy_on_cluster(
            client,
            os.fspath(source),
            os.fspath(destination),
            source_prefix=source_prefix,
            destination_prefix=destination_prefix,
            delete_extra=delete_extra,
            journal=journal,
            workers=workers,
            on_total=on_total,
            on_progress=on_progress,
            partition_size=partition_size,
        )
    if not isinstance(source, Store) or not isinstance(destination, Store):
        msg = "pass stores, or targets together with a dask client="
        raise TypeError(msg)
    copier = _Copier(
        PrefixedStore(source, source_prefix),
        PrefixedStore(destination, destination_prefix),
        journal,
    )
    extra = sorted(set(copier.dst) - set(copier.src)) if delete_extra else []
    if on_total is not None:
        on_total(len(copier.src) + len(extra))
    return copier.run_all(sorted(copier.src), extra, workers, on_progress)


def listing(keys: PrefixedStore) -> dict[str, str]:
    """Every key of `keys` and its etag: one listing.

    cloudmap's own objects (lock objects, verify scratch keys) are left out,
    even under a prefix inside them: a copy never copies, overwrites or deletes
    them (a sync that deleted a live lock would reset its fencing tokens).
    """
    return {
        item.key: item.etag
        for item in keys.list()
        if not reserved(keys.prefix + item.key)
    }


class _Copier:
    """One copy's listings, journal and report; its methods run in threads.

    `source` and `destination` are seen through their prefixes; `journal` is
    the journal's file (None: no file). `src` and `dst` are the listings (keys
    to etags); they are listed here unless given, as a cluster's task is given
    its partition's. With
    `compare`, a destination object the journal does not vouch for is read
    first and left alone when it already holds the source's bytes (a repair
    of replicas written by a `ReplicatedMapping`, not by a copy).
    """

    def __init__(
        self,
        source: PrefixedStore,
        destination: PrefixedStore,
        journal: Path | None,
        *,
        src: dict[str, str] | None = None,
        dst: dict[str, str] | None = None,
        compare: bool = False,
    ) -> None:
        self.source, self.destination = source, destination
        self.journal = Journal(
            journal,
            source.name + source.prefix,
            destination.name + destination.prefix,
        )
        self.compare = compare
        self.report = TransferReport()
        self._lock = threading.Lock()
        self.src = listing(source) if src is None else src
        self.dst = listing(destination) if dst is None else dst

    def in_place(self, key: str) -> bool:
        """Whether the journal shows `key` copied and unchanged on both sides since."""
        held = self.dst.get(key)
        return held is not None and self.journal.entries.get(key) == [
            self.src[key],
            held,
        ]

    def copy_one(self, key: str) -> str:
        if self.in_place(key):
            return "skipped"
        held = self.dst.get(key)
        entry = self.source.get(key)
        if entry is None:
            return "skipped"  # deleted since the listing: nothing to copy
        if self.compare and held is not None:
            found = self.destination.get(key)
            if found is not None and _same(found, entry):
                self.journal.record(key, [entry.etag, found.etag])
                return "skipped"
        try:
            etag = self.destination.put(
                key,
                entry.data,
                mode=replace_or_create(held),
                metadata=entry.metadata,
            )
        except KeySyncError:
            # A retried task finds its own earlier write: the same bytes are
            # in place, so the copy of this key is done; anything else conflicts.
            found = self.destination.get(key)
            if found is None or not _same(found, entry):
                raise
            etag = found.etag
        self.journal.record(key, [entry.etag, etag])
        return "copied"

    def delete_one(self, key: str) -> str:
        self.destination.delete(key, if_match=self.dst[key])
        self.journal.record(key, None)
        return "deleted"

    def run(self, task: Callable[[str], str], key: str) -> None:
        try:
            outcome = task(key)
        except CloudMapError as exc:
            with self._lock:
                self.report.failed[key] = f"{type(exc).__name__}: {exc}"
        else:
            with self._lock:
                getattr(self.report, outcome).append(key)

    def run_all(
        self,
        copies: Iterable[str],
        deletes: Iterable[str],
        workers: int | Executor,
        on_progress: Callable[[], None] | None,
    ) -> TransferReport:
        """Copy then delete the keys given, on `workers` threads (or a pool)."""
        tasks = dict.fromkeys(copies, self.copy_one)
        tasks.update(dict.fromkeys(deletes, self.delete_one))

        def run(key: str) -> None:
            self.run(tasks[key], key)
            if on_progress is not None:
                on_progress()

        try:
            run_each(tasks, run, workers)
        finally:
            self.journal.save()
        for items in (self.report.copied, self.report.skipped, self.report.deleted):
            items.sort()
        return self.report


def _same(found: Entry, entry: Entry) -> bool:
    """Whether two objects hold the same bytes and metadata, write ids aside.

    Each replica's write of one value carries its own write id (see
    `cloudmap.retry`), so it never tells whether the values agree.
    """

    def kept(metadata: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in metadata.items() if k != WRITE_ID_METADATA_KEY}

    return (found.data, kept(found.metadata)) == (entry.data, kept(entry.metadata))
