"""The change feed: what others added, modified and deleted since the held etags.

One paged listing is compared with the etags a mapping holds. The mapping's
own writes already moved its etags, so they never show up as changes; a write
of its own that lands while the listing runs is recognised afterwards (the
etag it now holds equals the one listed) and left out too. `Synchronised`, a
base of `CloudMapping`, holds the methods that refresh etags from listings.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from cloudmap._coordination import Coordination
from cloudmap._reserved import hidden
from cloudmap.stores._protocol import validate_key
from cloudmap.stores.prefixed import PrefixedStore

__all__ = [
    "Changes",
    "Stop",
    "Synchronised",
    "check_polling",
    "list_changes",
    "visible",
    "watch",
]

V = TypeVar("V")

Stop = threading.Event | Callable[[], bool] | None
"""What ends a watch: an Event that gets set, or a callable that returns True."""

_KINDS = ("added", "modified", "deleted")


@dataclass(frozen=True)
class Changes:
    """Keys others added, modified and deleted; iterable as `(kind, key)` pairs.

    Examples:
        >>> batch = Changes(added=frozenset({"b"}), deleted=frozenset({"a"}))
        >>> list(batch), bool(batch), len(batch)
        ([('added', 'b'), ('deleted', 'a')], True, 2)
    """

    added: frozenset[str] = field(default_factory=frozenset)
    modified: frozenset[str] = field(default_factory=frozenset)
    deleted: frozenset[str] = field(default_factory=frozenset)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for kind in _KINDS:
            for key in sorted(getattr(self, kind)):
                yield kind, key

    def __len__(self) -> int:
        return len(self.added) + len(self.modified) + len(self.deleted)

    def __bool__(self) -> bool:
        return len(self) > 0


def _diff(before: Mapping[str, str], listed: Mapping[str, str]) -> Changes:
    return Changes(
        added=frozenset(listed.keys() - before.keys()),
        modified=frozenset(
            key for key in listed.keys() & before.keys() if listed[key] != before[key]
        ),
        deleted=frozenset(before.keys() - listed.keys()),
    )


def _not_own(
    found: Changes, listed: Mapping[str, str], now: Mapping[str, str]
) -> Changes:
    """Drop what the mapping itself wrote while the listing ran."""
    return Changes(
        added=frozenset(k for k in found.added if now.get(k) != listed[k]),
        modified=frozenset(k for k in found.modified if now.get(k) != listed[k]),
        deleted=frozenset(k for k in found.deleted if k in now),
    )


def visible(keys: PrefixedStore, prefix: str = "") -> dict[str, str]:
    """Each key under `prefix` and its etag, cloudmap's own objects left out."""
    found = keys.list_etags(prefix)
    base = keys.prefix
    # The reserved-name check only for keys that could be reserved.
    for key in [key for key in found if ".cloudmap-" in base + key]:
        if hidden(base + key, base):
            del found[key]
    return found


def list_changes(
    keys: PrefixedStore,
    prefix: str,
    held: Mapping[str, str],
    record: Callable[[str, str | None, str | None], None] | None,
    forget: Callable[[str], None],
) -> Changes:
    """Compare one listing of `keys` under `prefix` with the `held` etags.

    `held` is the mapping's live etag view; `record(key, before, after)` installs
    an etag unless the key moved meanwhile, and `forget(key)` drops its cached
    value. With `record=None` nothing is installed or dropped.
    """
    before = {
        key: etag
        for key, etag in dict(held).items()
        if key.startswith(prefix) and not hidden(keys.prefix + key, keys.prefix)
    }
    listed = visible(keys, prefix)
    found = _not_own(_diff(before, listed), listed, dict(held))
    if record is not None:
        for key in found.added | found.modified:
            record(key, before.get(key), listed[key])
            forget(key)
        for key in found.deleted:
            record(key, before[key], None)
            forget(key)
    return found


def _stopped(stop: Stop) -> bool:
    if stop is None:
        return False
    if isinstance(stop, threading.Event):
        return stop.is_set()
    return stop()


def check_polling(interval: float, jitter: float) -> None:
    """Refuse a watch's polling interval and jitter unless usable.

    Raises:
        ValueError: `interval` is negative or `jitter` is outside [0, 1).
    """
    if interval < 0 or not 0 <= jitter < 1:
        msg = f"watch needs interval >= 0 and 0 <= jitter < 1, not {interval}, {jitter}"
        raise ValueError(msg)


def watch(
    poll: Callable[[], Changes],
    *,
    interval: float,
    jitter: float,
    stop: Stop,
    sleep: Callable[[float], None] | None,
    rng: random.Random | None = None,
) -> Iterator[Changes]:
    """Call `poll` every `interval` s (± `jitter` of it); yield non-empty batches.

    The first poll runs at once. Without `sleep`, the pause is `stop.wait` when
    `stop` is an Event (so setting it ends the watch at once), else `time.sleep`.

    Raises:
        ValueError: `interval` is negative or `jitter` is outside [0, 1).
    """
    check_polling(interval, jitter)
    pause: Callable[[float], object] = time.sleep
    if sleep is not None:
        pause = sleep
    elif isinstance(stop, threading.Event):
        pause = stop.wait
    spread = rng or random.Random()  # noqa: S311 - spreads polls, not a secret

    def polls() -> Iterator[Changes]:
        while not _stopped(stop):
            batch = poll()
            if batch:
                yield batch
            if _stopped(stop):
                return
            pause(interval * (1 + spread.uniform(-jitter, jitter)))

    return polls()


class Synchronised(Coordination[V]):
    """The methods of `CloudMapping` that refresh its etags from the store."""

    def sync_with_cloud(self, key: str | None = None) -> None:
        """Refresh held etags: all of them from one listing, or just `key`'s.

        A full sync replaces the etag table, so keys deleted remotely disappear
        and keys created remotely appear. Lock objects (see `lock`) are left
        out.
        """
        if key is None:
            since = self._etags.clock()
            self._hold(visible(self._keys), since)
            return
        with self._etags.key_lock(key):
            entry = self._keys.get(key)
            self._etags.record(key, None if entry is None else entry.etag)
            if entry is None or (self._evict and self._evict.etag(key) != entry.etag):
                self._forget(key)

    def restore_etags(self, etags: Mapping[str, str]) -> None:
        """Hold `etags` in place of the current ones, as saved from `dict(m.etags)`.

        Lets a worker save its etags (through JSON, say) and resume where it
        stopped: `changes()` then reports what changed since the save.
        """
        self._hold({validate_key(key): str(etag) for key, etag in etags.items()})

    def changes(self, prefix: str = "", *, apply: bool = True) -> Changes:
        """What others added, modified and deleted under `prefix` since the held etags.

        One paged listing, no per-key request; this mapping's own writes never
        appear. `apply=True` installs the listed etags of the changed keys and
        drops their cached values (a `sync_with_cloud()` that reports);
        `apply=False` only looks. Lock objects (see `lock`) are left out.
        """
        return list_changes(
            self._keys,
            prefix,
            self._etags.view,
            self._etags.record_unless_moved if apply else None,
            self._forget,
        )

    def watch(
        self,
        interval: float = 10,
        jitter: float = 0.1,
        stop: Stop = None,
        *,
        prefix: str = "",
        sleep: Callable[[float], None] | None = None,
    ) -> Iterator[Changes]:
        """Yield each non-empty `changes(prefix)` batch, polling every `interval` s.

        Polls spread by ± `jitter` (a fraction of `interval`) and run until `stop`
        (an Event or a callable returning True) says so; `sleep` replaces the
        pause between polls (tests inject one).
        """
        return watch(
            lambda: self.changes(prefix),
            interval=interval,
            jitter=jitter,
            stop=stop,
            sleep=sleep,
        )
