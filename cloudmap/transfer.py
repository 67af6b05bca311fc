"""Copy keys between any two stores, in parallel, resumable by etag comparison.

A copy lists both sides once, then copies each source key whose bytes the
destination may not hold. Which keys are already in place is decided from a
*journal*: for every key copied it records the source etag read and the
destination etag written. On the next run a key whose two listed etags still
match its journal entry is skipped without a request, so an interrupted copy
resumes where it stopped, and a finished one costs two listings.

Every destination write is conditional: create-only where the listing showed no
object, `if_match` on the listed etag otherwise, so a key changed at the
destination during the copy is reported, never overwritten.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cloudmap.errors import CloudMapError
from cloudmap.store import folder_prefix

if TYPE_CHECKING:
    from collections.abc import Callable

    from cloudmap.store import Store

__all__ = ["TransferReport", "copy_keys", "default_journal"]

_SAVE_EVERY = 100


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


class _Journal:
    """The key -> [source etag, destination etag] record, saved atomically."""

    def __init__(self, path: Path | None, source: str, destination: str) -> None:
        self._path = path
        self._header = {"source": source, "destination": destination}
        self._lock = threading.Lock()
        self._pending = 0
        self.entries: dict[str, list[str]] = {}
        if path is not None and path.is_file():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                saved = {}
            if isinstance(saved, dict) and all(
                saved.get(k) == v for k, v in self._header.items()
            ):
                self.entries = dict(saved.get("keys", {}))

    def record(self, key: str, etags: list[str] | None) -> None:
        with self._lock:
            if etags is None:
                self.entries.pop(key, None)
            else:
                self.entries[key] = etags
            self._pending += 1
            if self._pending >= _SAVE_EVERY:
                self._save_locked()

    def save(self) -> None:
        with self._lock:
            self._save_locked()

    def _save_locked(self) -> None:
        self._pending = 0
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps({**self._header, "keys": self.entries}))
        temp.replace(self._path)


def copy_keys(
    source: Store,
    destination: Store,
    *,
    source_prefix: str = "",
    destination_prefix: str = "",
    delete_extra: bool = False,
    journal: Path | None = None,
    workers: int = 8,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[], None] | None = None,
) -> TransferReport:
    """Copy every key under `source_prefix` to `destination_prefix`, bytes and metadata.

    Args:
        source: the store read from.
        destination: the store written to.
        source_prefix: the folder copied from: only keys under it are
            copied, with it removed. A prefix names a folder, as a mapping's
            `key_prefix` does: "/" is appended unless it ends in one.
        destination_prefix: the folder written to, prepended to each key
            (with "/" appended the same way).
        delete_extra: also delete destination keys missing from the source
            (a mirror), each conditioned on its listed etag.
        journal: the file recording what was copied, for resuming; None keeps
            no record (every key is copied again).
        workers: parallel requests.
        on_total: called once with the number of keys to examine.
        on_progress: called after each key is examined.

    Returns:
        What was copied, skipped, deleted, and which keys failed and why.
    """
    source_prefix = folder_prefix(source_prefix)
    destination_prefix = folder_prefix(destination_prefix)
    copier = _Copier(
        source,
        destination,
        source_prefix,
        destination_prefix,
        _Journal(
            journal, source.name + source_prefix, destination.name + destination_prefix
        ),
    )
    extra = sorted(set(copier.dst) - set(copier.src)) if delete_extra else []
    if on_total is not None:
        on_total(len(copier.src) + len(extra))
    tasks = [(copier.copy_one, key) for key in sorted(copier.src)]
    tasks += [(copier.delete_one, key) for key in extra]

    def run(task: Callable[[str], str], key: str) -> None:
        copier.run(task, key)
        if on_progress is not None:
            on_progress()

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(run, task, key) for task, key in tasks]:
                future.result()
    finally:
        copier.journal.save()
    report = copier.report
    for items in (report.copied, report.skipped, report.deleted):
        items.sort()
    return report


class _Copier:
    """One copy's listings, journal and report; its methods run in threads."""

    def __init__(
        self,
        source: Store,
        destination: Store,
        source_prefix: str,
        destination_prefix: str,
        journal: _Journal,
    ) -> None:
        self.source, self.destination = source, destination
        self.source_prefix, self.destination_prefix = source_prefix, destination_prefix
        self.journal = journal
        self.report = TransferReport()
        self._lock = threading.Lock()
        cut_src, cut_dst = len(source_prefix), len(destination_prefix)
        self.src = {
            item.key[cut_src:]: item.etag for item in source.list(source_prefix)
        }
        self.dst = {
            item.key[cut_dst:]: item.etag
            for item in destination.list(destination_prefix)
        }

    def copy_one(self, key: str) -> str:
        held = self.dst.get(key)
        if held is not None and self.journal.entries.get(key) == [self.src[key], held]:
            return "skipped"
        entry = self.source.get(self.source_prefix + key)
        if entry is None:
            return "skipped"  # deleted since the listing: nothing to copy
        etag = self.destination.put(
            self.destination_prefix + key,
            entry.data,
            if_match=held,
            if_none_match=held is None,
            metadata=entry.metadata,
        )
        self.journal.record(key, [entry.etag, etag])
        return "copied"

    def delete_one(self, key: str) -> str:
        self.destination.delete(self.destination_prefix + key, if_match=self.dst[key])
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
