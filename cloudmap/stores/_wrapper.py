"""StoreWrapper: what every store wrapping another store shares.

A wrapper (retrying, fault-injecting, prefixed) is a `Store` over an inner
store. Its name, its repr, its close and its context management are the inner
store's, so they live here once; each wrapper writes only the operations it
changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

    from cloudmap.stores._protocol import Store

__all__ = ["StoreWrapper"]


class StoreWrapper:
    """The plumbing of a store that forwards to `inner`.

    A subclass defines `get`, `put`, `delete` and `list`; with them it is a
    `Store`. It takes the inner store's name, closes the inner store on
    `close()` and on leaving a `with` block, and shows as
    `ClassName(inner_repr)` (a subclass with more arguments extends
    `__repr__`). Wrappers that look through others (a lease reading the inner
    store's `min_lock_ttl`) follow `inner`.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> class Counting(StoreWrapper):
        ...     puts = 0
        ...     def put(self, key, data, **options):
        ...         self.puts += 1
        ...         return self.inner.put(key, data, **options)
        ...     def get(self, key, **options):
        ...         return self.inner.get(key, **options)
        ...     def delete(self, key, **options):
        ...         self.inner.delete(key, **options)
        ...     def list(self, prefix=""):
        ...         return self.inner.list(prefix)
        >>> with Counting(MemoryStore("m")) as store:
        ...     etag = store.put("a", b"1")
        >>> store, store.name, store.puts
        (Counting(MemoryStore('m')), 'memory://m', 1)
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def inner(self) -> Store:
        """The store the calls are forwarded to."""
        return self._store

    @property
    def name(self) -> str:
        """The inner store's name."""
        return self._store.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"

    def close(self) -> None:
        """Close the inner store."""
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
