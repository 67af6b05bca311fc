"""CloudMapping: a MutableMapping over a Store, with one etag held per key.

Every write and delete is conditioned, on the server, on the etag this mapping
last saw for the key; a conflict raises `KeySyncError` and changes nothing.
It stands on the etag table (`_etags`), the codec's tag check (`_tagged`), the
read cache (`cache`) and the key prefix (`stores.prefixed`); its bases add the
bulk methods (`_bulk`), the helpers built on its operations (`_coordination`)
and the listings (`changes`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from cloudmap._bulk import Bulk, LazyPool
from cloudmap._etags import EtagTable
from cloudmap._sentinels import ABSENT
from cloudmap._tagged import TaggedCodec
from cloudmap.cache import CacheSpec, ValueCache, make_cache
from cloudmap.changes import Synchronised
from cloudmap.codecs import Codec, raw
from cloudmap.errors import EtagMismatchError
from cloudmap.retry import DEFAULT, retrying_store
from cloudmap.stores._protocol import folder_prefix, replace_or_create, validate_key
from cloudmap.stores.prefixed import PrefixedStore
from cloudmap.verify import require

if TYPE_CHECKING:
    import tenacity

    from cloudmap.stores._protocol import Entry, Store

__all__ = ["CloudMapping"]

V = TypeVar("V")


class CloudMapping(Bulk[V], Synchronised[V]):
    """A dict whose items live in a `Store`, safe to share between workers.

    Args:
        store: where the bytes live.
        codec: turns values into bytes; the default `raw()` stores bytes as given.
        key_prefix: the folder the keys live in: keys are stored as
            `key_prefix + "/" + key` (no "/" is added to a prefix ending in
            one), and only keys under the folder are seen, so `"tenant1"`
            never sees `"tenant10/..."`.
        prefix_separator: what is appended to `key_prefix` unless it ends with
            it; `""` uses `key_prefix` as a raw string prefix.
        sync_initially: list the store once at construction to learn every etag.
        read_blindly: reads ignore the held etag and return the latest value
            (or `read_blindly_default` when the key is missing); the etag seen is
            recorded, so a later write is conditioned on it.
        read_blindly_default: what `m[k]` returns for a missing key when reading
            blindly; `get`, `pop` and `setdefault` keep their dict meaning.
        cache: keep decoded values (`True`, or a `CacheSpec` bounding their
            size) and revalidate them with `If-None-Match`, so re-reading an
            unchanged value still costs one request but transfers no body.
        max_workers: threads used by the bulk methods.
        retry: the tenacity policy every store call runs under (see
            `cloudmap.retry`); None makes each call once.
        verify: first probe, once per process per store, that the server
            enforces every precondition (see `cloudmap.verify`); raises
            `NotSupportedError` naming what it ignores.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> m = CloudMapping(MemoryStore())
        >>> m["a"] = b"1"
        >>> m["a"], "a" in m, len(m)
        (b'1', True, 1)
    """

    def __init__(
        self,
        store: Store,
        *,
        codec: Codec | None = None,
        key_prefix: str = "",
        prefix_separator: str = "/",
        sync_initially: bool = True,
        read_blindly: bool = False,
        read_blindly_default: Any = None,
        cache: CacheSpec | bool = False,
        max_workers: int = 16,
        retry: tenacity.Retrying | None = DEFAULT,
        verify: bool = False,
    ) -> None:
        prefix = folder_prefix(key_prefix, prefix_separator)
        if prefix:
            validate_key(prefix)
        self._bulk = LazyPool(max_workers)
        if verify:
            require(store, prefix)
        self._store = retrying_store(store, retry)
        self._keys = PrefixedStore(self._store, prefix)
        self._tagged = TaggedCodec(raw() if codec is None else codec, store.name)
        self.read_blindly = read_blindly
        self.read_blindly_default = read_blindly_default
        self._cache: ValueCache[V] | None = make_cache(cache)
        self._evict = self._cache  # writes through `raw` drop cached values too
        self._owns_store = True
        self._etags = EtagTable()
        if sync_initially:
            self.sync_with_cloud()

    @property
    def store(self) -> Store:
        """The store this mapping calls, at its root (the prefix is added to keys).

        A `RetryingStore` around the store given, unless `retry=None` or the
        store never fails transiently (`LocalStore`).
        """
        return self._store

    @property
    def codec(self) -> Codec:
        """The codec chain values pass through."""
        return self._tagged.codec

    @property
    def key_prefix(self) -> str:
        """The prefix added to every key in the store (with its separator)."""
        return self._keys.prefix

    @functools.cached_property
    def raw(self) -> CloudMapping[bytes]:
        """The bytes-level view of this mapping: same store, prefix and etag table.

        Reads return the stored bytes undecoded, whatever codec wrote them;
        writes store bytes as given, tagged with this mapping's codec, so
        `m.raw[k] = m.codec.dumps(v, key=k)` is read back by `m[k]` as `v`.
        """
        view: CloudMapping[bytes] = object.__new__(CloudMapping)
        view.__dict__.update(self.__dict__, _cache=None, _owns_store=False)
        view.read_blindly_default = None
        view.__dict__.update(
            _bulk=LazyPool(self._bulk.workers), _tagged=self._tagged.bytes_view()
        )
        return view

    @property
    def cache(self) -> ValueCache[V] | None:
        """The read cache, or None when the mapping was built without one."""
        return self._cache

    @property
    def etags(self) -> Mapping[str, str]:
        """A read-only live view of the etag held for each key."""
        return self._etags.view

    def __repr__(self) -> str:
        prefix = f" prefix={self.key_prefix!r}" if self.key_prefix else ""
        return (
            f"<{type(self).__name__} {self._store.name}{prefix} "
            f"codec={self.codec.name} keys={len(self._etags)}>"
        )

    def __getitem__(self, key: str) -> V:
        value = self._lookup(key)
        return self.read_blindly_default if value is ABSENT else value  # type: ignore[no-any-return]

    def _lookup(self, key: object) -> Any:
        """`key`'s value, or `ABSENT` when a blind read finds no object.

        Raises:
            KeyError: the key is not held (and not read blindly), or not a str.
        """
        if not isinstance(key, str):
            raise KeyError(key)
        self._keys.check_key(key)
        with self._etags.key_lock(key):
            held = self._etags.get(key)
            if held is None and not self.read_blindly:
                raise KeyError(key)
            expected = None if self.read_blindly else held
            fetch = functools.partial(self._fetch, key, expected)
            if self._cache is None:
                entry = fetch(None)
                return ABSENT if entry is None else self._tagged.decode(key, entry)
            found = self._cache.revalidate(
                key, expected, fetch, functools.partial(self._tagged.decode, key)
            )
        return ABSENT if found is None else found[1]

    def _fetch(self, key: str, held: str | None, cached: str | None) -> Entry | None:
        """One GET of `key`: If-None-Match `cached`, else If-Match `held` if held.

        With no `held` (a blind read) the etag seen is recorded; otherwise a
        changed or deleted object raises `EtagMismatchError`.
        """
        if held is None:
            entry = self._keys.get(key, if_none_match=cached)
            self._etags.record(key, None if entry is None else entry.etag)
            return entry
        if cached is None:
            entry = self._keys.get(key, if_match=held)
        else:
            # Still one request: If-None-Match answers "not modified" when the
            # held etag is current; a changed object is a conflict.
            entry = self._keys.get(key, if_none_match=cached)
            if entry is not None and entry.etag != held:
                actual = entry.etag
                raise EtagMismatchError(
                    key, expected_etag=held, actual_etag=actual, store=self.store.name
                )
        if entry is None:
            raise EtagMismatchError(key, expected_etag=held, store=self.store.name)
        return entry

    def get(self, key: str, default: Any = None) -> Any:
        """`key`'s value, or `default` when the key is missing (also when blind)."""
        try:
            value = self._lookup(key)
        except KeyError:
            return default
        return default if value is ABSENT else value

    def __setitem__(self, key: str, value: V) -> None:
        self._write(key, value, create=False)

    def _write(
        self,
        key: str,
        value: V,
        *,
        create: bool,
        etag: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        """One conditional PUT: replace `etag` (by default the held one), or create."""
        self._keys.check_key(key)
        data = self._tagged.encode(key, value)
        with self._etags.key_lock(key):
            if not create and etag is None:
                etag = self._etags.get(key)
            new = self._keys.put(
                key,
                data,
                mode=replace_or_create(etag),
                metadata={**self._tagged.metadata(), **(extra or {})},
            )
            self._wrote(key, new)

    def __delitem__(self, key: str) -> None:
        if not isinstance(key, str):
            raise KeyError(key)
        self._keys.check_key(key)
        with self._etags.key_lock(key):
            held = self._etags.get(key)
            if held is None:
                raise KeyError(key)
            self._keys.delete(key, if_match=held)
            self._wrote(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._etags

    def __iter__(self) -> Iterator[str]:
        return iter(self._etags)

    def __len__(self) -> int:
        return len(self._etags)

    def create(self, key: str, value: V) -> None:
        """Write `key` only if no object exists under it, atomically on the server.

        Raises:
            KeyExistsError: the key exists (whatever this mapping believed).
        """
        self._write(key, value, create=True)

    def set(self, key: str, value: V, *, force: bool = False) -> None:
        """Write `key`; with `force=True`, unconditionally (last writer wins)."""
        if not force:
            self[key] = value
            return
        self._keys.check_key(key)
        data = self._tagged.encode(key, value)
        with self._etags.key_lock(key):
            etag = self._keys.put(key, data, metadata=self._tagged.metadata())
            self._wrote(key, etag)

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Stop the bulk threads and close the store."""
        self._bulk.close()
        if "raw" in self.__dict__:
            self.raw.close()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> CloudMapping[V]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
