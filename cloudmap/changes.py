"""The change feed: what others added, modified and deleted since the held etags.

One paged listing is compared with the etags a mapping holds. The mapping's
own writes already moved its etags, so they never show up as changes; a write
of its own that lands while the listing runs is recognised afterwards (the
etag it now holds equals the one listed) and left out too.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from cloudmap._reserved import hidden
from cloudmap.stores._protocol import Store

__all__ = ["Changes", "Stop", "list_changes", "watch"]

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


def list_changes(  # noqa: PLR0917 - the mapping's parts, passed down explicitly
    store: Store,
    key_prefix: str,
    prefix: str,
    held: Mapping[str, str],
    record: Callable[[str, str | None, str | None], None] | None,
    forget: Callable[[str], None],
) -> Changes:
    """Compare one listing of `key_prefix + prefix` with the `held` etags.

    `held` is the mapping's live etag view; `record(key, before, after)` installs
    an etag unless the key moved meanwhile, and `forget(key)` drops its cached
    value. With `record=None` nothing is installed or dropped.
    """
    cut = len(key_prefix)

    before = {
        key: etag
        for key, etag in dict(held).items()
        if key.startswith(prefix) and not hidden(key_prefix + key, key_prefix)
    }
    listed = {
        item.key[cut:]: item.etag
        for item in store.list(key_prefix + prefix)
        if not hidden(item.key, key_prefix)
    }
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
    if interval < 0 or not 0 <= jitter < 1:
        msg = f"watch needs interval >= 0 and 0 <= jitter < 1, not {interval}, {jitter}"
        raise ValueError(msg)
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
