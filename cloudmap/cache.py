"""A bounded cache of decoded values, each tied to the etag it was read at.

A `CloudMapping` built with `cache=CacheSpec(...)` reads through
`ValueCache.revalidate`. A cached value is never served on trust: each read is
still one request, conditioned with `If-None-Match: <cached etag>`, and the
cached value is used only when the server answers "not modified" (no body is
sent). Eviction is least-recently-used by size, delegated to `zict.LRU`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import zict

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from cloudmap.stores._protocol import Entry

__all__ = ["CacheInfo", "CacheSpec", "ValueCache", "make_cache"]

V = TypeVar("V")

_DEFAULT_MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class CacheSpec:
    """How much a mapping's read cache may hold.

    Args:
        max_bytes: the most stored bytes kept, summed over cached values (the
            encoded size, as transferred); a single larger value is not cached.
        max_items: the most values kept, or None for no limit on the count.
    """

    max_bytes: int = _DEFAULT_MAX_BYTES
    max_items: int | None = None

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            msg = f"max_bytes must be >= 0, not {self.max_bytes}"
            raise ValueError(msg)
        if self.max_items is not None and self.max_items < 0:
            msg = f"max_items must be >= 0 or None, not {self.max_items}"
            raise ValueError(msg)


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a `ValueCache`, like `functools.lru_cache`'s `cache_info()`.

    Attributes:
        hits: reads answered from the cache after the server said "not modified".
        misses: reads whose body had to be transferred.
        items: values held now.
        bytes: stored bytes held now.
    """

    hits: int
    misses: int
    items: int
    bytes: int


@dataclass(frozen=True)
class _Cached(Generic[V]):
    etag: str
    value: V
    size: int


class ValueCache(Generic[V]):
    """Decoded values by key, each with its etag, evicted least recently used.

    Thread-safe. The same object is returned to every hit, as with
    `functools.lru_cache`: do not mutate values read from a cached mapping.
    """

    def __init__(self, spec: CacheSpec) -> None:
        self._spec = spec
        self._lock = threading.Lock()
        self._lru: zict.LRU[str, _Cached[V]] = zict.LRU(
            spec.max_bytes, {}, weight=lambda _key, item: item.size
        )
        self._hits = 0
        self._misses = 0

    @property
    def spec(self) -> CacheSpec:
        """The limits this cache keeps to."""
        return self._spec

    def etag(self, key: str) -> str | None:
        """The etag of the value cached for `key`, or None; does not count a use."""
        with self._lock:
            item = self._lru.d.get(key)
        return item.etag if item is not None else None

    def hit(self, key: str, etag: str) -> tuple[bool, Any]:
        """Return `(True, value)` if `key` is cached at `etag`, else `(False, None)`.

        Called once the server has confirmed `etag` is current; counts a hit.
        """
        with self._lock:
            item = self._lru.d.get(key)
            if item is None or item.etag != etag:
                self._misses += 1
                return False, None
            self._lru[key]  # a read marks the key recently used
            self._hits += 1
            return True, item.value

    def revalidate(
        self,
        key: str,
        held: str | None,
        fetch: Callable[[str | None], Entry | None],
        decode: Callable[[Entry], V],
    ) -> tuple[Entry, V] | None:
        """`key`'s value, from one request that sends no body when the cache is current.

        Args:
            key: the key read.
            held: the only etag a cached value may be served at; None for any.
            fetch: makes the request: given an etag, with `If-None-Match` on it;
                given None, without. Returns the entry, or None when missing.
            decode: turns a transferred entry into the value cached.

        Returns:
            The entry and its value, or None when `fetch` found no object.
        """
        cached = self.etag(key)
        entry = fetch(cached if held is None or cached == held else None)
        if entry is not None and entry.not_modified:
            found, value = self.hit(key, entry.etag)
            if found:
                return entry, value
            entry = fetch(None)  # evicted while the server said "not modified"
        if entry is None:
            self.discard(key)
            return None
        self.miss()
        fresh = decode(entry)
        self.put(key, entry.etag, fresh, len(entry.data))
        return entry, fresh

    def miss(self) -> None:
        """Count a read whose body was transferred."""
        with self._lock:
            self._misses += 1

    def put(self, key: str, etag: str, value: V, size: int) -> None:
        """Keep `value`, read at `etag` from `size` stored bytes."""
        if self._spec.max_items == 0:
            return
        with self._lock:
            # zict evicts an item heavier than max_bytes as soon as it is set.
            self._lru[key] = _Cached(etag, value, size)
            limit = self._spec.max_items
            while limit is not None and len(self._lru) > limit:
                self._lru.evict()

    def discard(self, key: str) -> None:
        """Forget `key`, after our own write or delete of it."""
        with self._lock:
            self._lru.discard(key)

    def retain(self, etags: Mapping[str, str]) -> None:
        """Forget every key whose etag differs from `etags` (a fresh listing)."""
        with self._lock:
            stale = [k for k, item in self._lru.d.items() if etags.get(k) != item.etag]
            for key in stale:
                self._lru.discard(key)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._lru.clear()

    def info(self) -> CacheInfo:
        """Hit and miss counts and the current size."""
        with self._lock:
            return CacheInfo(
                hits=self._hits,
                misses=self._misses,
                items=len(self._lru),
                bytes=int(self._lru.total_weight),
            )


def make_cache(option: CacheSpec | bool | None) -> ValueCache[Any] | None:
    """The cache a mapping option asks for: `True` means `CacheSpec()` defaults."""
    if option is None or option is False:
        return None
    return ValueCache(CacheSpec() if option is True else option)
