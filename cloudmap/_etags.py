"""The etag table a mapping holds: one etag per key, and a lock per key.

Operations on one key inside one mapping run one at a time under that key's
lock (striped: keys share a fixed set of locks), so a mapping never sends the
same held etag twice and never conflicts with itself. A full listing replaces
the table without moving back the etag of a key written while it ran.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType

__all__ = ["EtagTable"]

_STRIPES = 64


class EtagTable:
    """Held etags by key, with the per-key locks that order their changes."""

    def __init__(self) -> None:
        self._etags: dict[str, str] = {}
        self._lock = threading.RLock()
        self._stripes = tuple(threading.RLock() for _ in range(_STRIPES))
        # Counts every change; `_changed[key]` is the count at the key's last one.
        self._clock = 0
        self._changed: dict[str, int] = {}

    @property
    def view(self) -> Mapping[str, str]:
        """A read-only live view of the table."""
        return MappingProxyType(self._etags)

    def key_lock(self, key: str) -> threading.RLock:
        """The lock held around every request on `key` (re-entrant)."""
        return self._stripes[hash(key) % _STRIPES]

    def get(self, key: str) -> str | None:
        """The etag held for `key`, or None."""
        with self._lock:
            return self._etags.get(key)

    def record(self, key: str, etag: str | None) -> None:
        """Hold `etag` for `key` (None: forget the key); call under its key lock."""
        with self._lock:
            self._clock += 1
            self._changed[key] = self._clock
            if etag is None:
                self._etags.pop(key, None)
            else:
                self._etags[key] = etag

    def record_unless_moved(
        self, key: str, before: str | None, after: str | None
    ) -> None:
        """Hold `after` for `key` unless its etag moved past `before` meanwhile."""
        with self.key_lock(key), self._lock:
            if self._etags.get(key) == before:
                self.record(key, after)

    def clock(self) -> int:
        """A mark to pass to `replace` for a listing started now."""
        with self._lock:
            return self._clock

    def replace(self, listed: Mapping[str, str], since: int) -> dict[str, str]:
        """Take a listing started at mark `since`; return the table afterwards.

        Keys recorded after `since` keep their etag: the listing may predate it.
        """
        with self._lock:
            fresh = {
                key: etag
                for key, etag in listed.items()
                if self._changed.get(key, 0) <= since
            }
            for key, stamp in self._changed.items():
                if stamp > since and key in self._etags:
                    fresh[key] = self._etags[key]
            self._etags.clear()
            self._etags.update(fresh)
            self._changed = {
                key: stamp for key, stamp in self._changed.items() if stamp > since
            }
            return dict(fresh)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._etags

    def keys(self) -> list[str]:
        """A snapshot of the held keys."""
        with self._lock:
            return list(self._etags)

    def __len__(self) -> int:
        with self._lock:
            return len(self._etags)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())
