"""CloudMapping: a MutableMapping over a Store, with one etag held per key.

Every write and delete is conditioned, on the server, on the etag this mapping
last saw for the key; a conflict raises `KeySyncError` and changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import tenacity

from cloudmap._etags import EtagTable
from cloudmap._reserved import hidden
from cloudmap.cache import CacheSpec, ValueCache, make_cache
from cloudmap.changes import Changes, Stop, list_changes, watch
from cloudmap.codecs import CODEC_METADATA_KEY, Codec, json, pickle, raw, zlib
from cloudmap.errors import BulkError, CodecError, EtagMismatchError, KeySyncError
from cloudmap.fencing import fence_metadata, refuse_fenced_retries
from cloudmap.lease import Lease, lock_object_key
from cloudmap.retry import DEFAULT, default_modify_retry, retrying_store
from cloudmap.stores._protocol import (
    Entry,
    Store,
    folder_prefix,
    replace_or_create,
    validate_key,
)
from cloudmap.verify import require

__all__ = ["CloudMapping"]

V = TypeVar("V")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()
_ABSENT: Any = _Missing()  # a blind read found no object


class CloudMapping(MutableMapping[str, V], Generic[V]):
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
        if max_workers < 1:
            msg = f"max_workers must be at least 1, not {max_workers}"
            raise ValueError(msg)
        if verify:
            require(store, prefix)
        self._store = retrying_store(store, retry)
        self._codec = codec if codec is not None else raw()
        self._prefix = prefix
        self.read_blindly = read_blindly
        self.read_blindly_default = read_blindly_default
        self._max_workers = max_workers
        self._cache: ValueCache[V] | None = make_cache(cache)
        # Dropped on every write: `raw` writes drop the values this mapping cached.
        self._evict = self._cache
        self._tag = self._codec.name
        self._meta = dict(self._codec.metadata)
        self._check_tag = True
        self._owns_store = True
        self._etags = EtagTable()
        self._lock = threading.RLock()
        self._executor: ThreadPoolExecutor | None = None
        if sync_initially:
            self.sync_with_cloud()

    # -- constructors mirroring cloud-mappings ---------------------------------

    @classmethod
    def with_pickle(cls, *args: Any, **kwargs: Any) -> CloudMapping[Any]:
        """A mapping of picklable values. Never use it on a store others can write."""
        return cls(*args, codec=pickle(), **kwargs)

    @classmethod
    def with_json(cls, *args: Any, **kwargs: Any) -> CloudMapping[Any]:
        """A mapping of JSON values."""
        return cls(*args, codec=json(), **kwargs)

    @classmethod
    def with_json_zlib(cls, *args: Any, **kwargs: Any) -> CloudMapping[Any]:
        """A mapping of JSON values, zlib-compressed."""
        return cls(*args, codec=json() | zlib(), **kwargs)

    @classmethod
    def with_buffers(
        cls,
        dumps: list[Callable[[Any], Any]],
        loads: list[Callable[[Any], Any]],
        *args: Any,
        **kwargs: Any,
    ) -> CloudMapping[Any]:
        """A mapping whose values pass through user functions (see `Codec.chain`)."""
        return cls(*args, codec=Codec.chain(dumps, loads), **kwargs)

    # -- properties ------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store this mapping calls.

        A `RetryingStore` around the store given, unless built with `retry=None`
        or the store never fails transiently (`LocalStore`).
        """
        return self._store

    @property
    def codec(self) -> Codec:
        """The codec chain values pass through."""
        return self._codec

    @property
    def key_prefix(self) -> str:
        """The prefix added to every key in the store (with its separator)."""
        return self._prefix

    @functools.cached_property
    def raw(self) -> CloudMapping[bytes]:
        """The bytes-level view of this mapping: same store, prefix and etag table.

        Reads return the stored bytes undecoded, whatever codec wrote them;
        writes store bytes as given, tagged with this mapping's codec, so
        `m.raw[k] = m.codec.dumps(v, key=k)` is read back by `m[k]` as `v`.
        """
        view: CloudMapping[bytes] = object.__new__(CloudMapping)
        view.__dict__.update(
            _store=self._store,
            _codec=raw(),
            _prefix=self._prefix,
            read_blindly=self.read_blindly,
            read_blindly_default=None,
            _max_workers=self._max_workers,
            _cache=None,
            _evict=self._evict,
            _tag=self._tag,
            _meta=self._meta,
            _check_tag=False,
            _owns_store=False,
            _etags=self._etags,
            _lock=threading.RLock(),
            _executor=None,
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
        prefix = f" prefix={self._prefix!r}" if self._prefix else ""
        return (
            f"<{type(self).__name__} {self._store.name}{prefix} "
            f"codec={self._codec.name} keys={len(self._etags)}>"
        )

    # -- helpers -----------------------------------------------------------------

    def _full_key(self, key: str) -> str:
        validate_key(key)
        return validate_key(self._prefix + key) if self._prefix else key

    def _held(self, key: str) -> str | None:
        return self._etags.get(key)

    def _key_lock(self, key: str) -> threading.RLock:
        """Held around each request on `key`, so this mapping never races itself."""
        return self._etags.key_lock(key)

    @contextlib.contextmanager
    def _user_key(self, key: str) -> Iterator[None]:
        """Re-raise a store's KeySyncError under the mapping's key (no prefix)."""
        try:
            yield
        except KeySyncError as exc:
            if not self._prefix or exc.key == key:
                raise
            raise type(exc)(
                key,
                expected_etag=exc.expected_etag,
                actual_etag=exc.actual_etag,
                store=exc.store,
            ) from exc

    def _encode(self, key: str, value: V) -> bytes:
        try:
            return self._codec.dumps(value, key=key)
        except CodecError as exc:
            msg = f"cannot store key {key!r} in {self._store.name}: {exc}"
            raise CodecError(msg) from exc

    def _decode(self, key: str, entry: Entry) -> V:
        tag = entry.metadata.get(CODEC_METADATA_KEY)
        if self._check_tag and tag is not None and tag != self._tag:
            msg = (
                f"key {key!r} in {self._store.name} was written with codec {tag!r}, "
                f"but this mapping decodes with {self._tag!r}"
            )
            raise CodecError(msg)
        try:
            value: V = self._codec.loads(entry.data, key=key, metadata=entry.metadata)
        except CodecError as exc:
            msg = f"cannot read key {key!r} from {self._store.name}: {exc}"
            raise CodecError(msg) from exc
        return value

    def _metadata(self) -> dict[str, str]:
        return dict(self._meta)

    def _put(
        self,
        key: str,
        full: str,
        data: bytes,
        etag: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """One conditional PUT: replace `etag`, or create when `etag` is None."""
        with self._user_key(key):
            return self._store.put(
                full,
                data,
                mode=replace_or_create(etag),
                metadata={**self._metadata(), **(extra or {})},
            )

    def _wrote(self, key: str, etag: str | None) -> None:
        """After our write or delete: drop the cached value, record the new etag."""
        self._forget(key)
        self._etags.record(key, etag)

    # -- the mapping protocol -------------------------------------------------

    def __getitem__(self, key: str) -> V:
        value = self._lookup(key)
        return self.read_blindly_default if value is _ABSENT else value  # type: ignore[no-any-return]

    def _lookup(self, key: object) -> Any:
        """`key`'s value, or `_ABSENT` when a blind read finds no object.

        Raises:
            KeyError: the key is not held (and not read blindly), or not a str.
        """
        if not isinstance(key, str):
            raise KeyError(key)
        full = self._full_key(key)
        with self._key_lock(key):
            value = self._read(key, full, use_cache=self._cache is not None)
            if value is _MISSING:  # evicted while the server said "not modified"
                value = self._read(key, full, use_cache=False)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """`key`'s value, or `default` when the key is missing (also when blind)."""
        try:
            value = self._lookup(key)
        except KeyError:
            return default
        return default if value is _ABSENT else value

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        """Delete `key` and return its value; `default` (or KeyError) if missing."""
        with self._key_lock(key):
            value = self.get(key, _ABSENT)
            if value is _ABSENT:
                if default is _MISSING:
                    raise KeyError(key)
                return default
            del self[key]
            return value

    def setdefault(self, key: str, default: Any = None) -> Any:
        """`key`'s value; when missing (also when blind), store `default` first."""
        with self._key_lock(key):
            value = self.get(key, _ABSENT)
            if value is _ABSENT:
                self[key] = default
                return default
            return value

    def _read(self, key: str, full: str, *, use_cache: bool) -> Any:
        """One GET of `key`; `_MISSING` if a cached value vanished meanwhile."""
        held = self._held(key)
        cached = self._cache.etag(key) if use_cache and self._cache else None
        if self.read_blindly:
            entry = self._store.get(full, if_none_match=cached)
            self._etags.record(key, entry.etag if entry is not None else None)
            if entry is None:
                self._forget(key)
                return _ABSENT
            return self._value(key, entry)
        if held is None:
            raise KeyError(key)
        with self._user_key(key):
            if cached is not None and cached == held:
                # Still one request: If-None-Match answers "not modified" when
                # the held etag is current; a changed object is a conflict.
                entry = self._store.get(full, if_none_match=held)
                if entry is not None and entry.etag != held:
                    raise EtagMismatchError(
                        key,
                        expected_etag=held,
                        actual_etag=entry.etag,
                        store=self._store.name,
                    )
            else:
                entry = self._store.get(full, if_match=held)
            if entry is None:
                raise EtagMismatchError(key, expected_etag=held, store=self._store.name)
        return self._value(key, entry)

    def _value(self, key: str, entry: Entry) -> Any:
        """Decode `entry`, or take it from the cache when it was not modified."""
        if self._cache is None:
            return self._decode(key, entry)
        if entry.not_modified:
            found, value = self._cache.hit(key, entry.etag)
            return value if found else _MISSING
        self._cache.miss()
        value = self._decode(key, entry)
        self._cache.put(key, entry.etag, value, len(entry.data))
        return value

    def _forget(self, key: str) -> None:
        if self._evict is not None:
            self._evict.discard(key)

    def __setitem__(self, key: str, value: V) -> None:
        full = self._full_key(key)
        data = self._encode(key, value)
        with self._key_lock(key):
            held = self._held(key)
            self._wrote(key, self._put(key, full, data, held))

    def __delitem__(self, key: str) -> None:
        if not isinstance(key, str):
            raise KeyError(key)
        full = self._full_key(key)
        with self._key_lock(key):
            held = self._held(key)
            if held is None:
                raise KeyError(key)
            with self._user_key(key):
                self._store.delete(full, if_match=held)
            self._wrote(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._etags

    def __iter__(self) -> Iterator[str]:
        return iter(self._etags)

    def __len__(self) -> int:
        return len(self._etags)

    def clear(self) -> None:
        """Delete every key this mapping knows, each conditioned on its etag.

        Raises:
            BulkError: some keys changed remotely; the others were deleted.
        """
        self.delete_many(list(self))

    def update(self, other: Any = (), /, **kwargs: V) -> None:
        """Write many items in parallel, like `set_many`."""
        items: dict[str, V] = dict(other)
        items.update(kwargs)
        self.set_many(items)

    # -- synchronisation ----------------------------------------------------------

    def sync_with_cloud(self, key: str | None = None) -> None:
        """Refresh held etags: all of them from one listing, or just `key`'s.

        A full sync replaces the etag table, so keys deleted remotely disappear
        and keys created remotely appear. Lock objects (see `lock`) are left
        out.
        """
        if key is not None:
            full = self._full_key(key)
            with self._key_lock(key):
                entry = self._store.get(full)
                self._etags.record(key, None if entry is None else entry.etag)
                if entry is None or (
                    self._evict and self._evict.etag(key) != entry.etag
                ):
                    self._forget(key)
            return
        since = self._etags.clock()
        self._hold(self._listed_etags(), since)

    def _listed_etags(self) -> dict[str, str]:
        """Every key under the prefix and its etag, cloudmap's own objects left out."""
        prefix, cut = self._prefix, len(self._prefix)
        etags = getattr(self._store, "list_etags", None)
        if etags is None:  # a store that only lists
            return {
                item.key[cut:]: item.etag
                for item in self._store.list(prefix)
                if not hidden(item.key, prefix)
            }
        # A store that lists into one dict (LocalStore): no per-key objects, and
        # the reserved-name check only for keys that could be reserved.
        found: dict[str, str] = etags(prefix)
        for key in [key for key in found if ".cloudmap-" in key]:
            if hidden(key, prefix):
                del found[key]
        if cut:
            return {key[cut:]: etag for key, etag in found.items()}
        return found

    def _hold(self, fresh: Mapping[str, str], since: int | None = None) -> None:
        """Replace the etag table with `fresh`, a listing started at mark `since`.

        Keys this mapping wrote after `since` keep their newer etag (None: the
        table is replaced whole). Cached values whose etag is gone are dropped.
        """
        mark = self._etags.clock() if since is None else since
        held = self._etags.replace(fresh, mark)
        if self._evict is not None:
            self._evict.retain(held)

    def _record(self, key: str, before: str | None, after: str | None) -> None:
        """Hold `after` for `key` unless this mapping moved it past `before`."""
        with self._key_lock(key):
            if self._etags.get(key) == before:
                self._etags.record(key, after)

    def _latest(self, key: str) -> tuple[bytes, V] | None:
        """`key`'s stored bytes and value whatever etag is held, or None if missing.

        Records the etag seen, as a blind read does; for `ReplicatedMapping`.

        Raises:
            CodecError: the stored bytes carry another codec's tag or do not decode.
        """
        full = self._full_key(key)
        with self._key_lock(key):
            entry = self._store.get(full)
            self._etags.record(key, None if entry is None else entry.etag)
        if entry is None:
            return None
        return entry.data, self._decode(key, entry)

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
            self._store,
            self._prefix,
            prefix,
            self.etags,
            self._record if apply else None,
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

    # -- coordination helpers --------------------------------------------------

    def create(self, key: str, value: V) -> None:
        """Write `key` only if no object exists under it, atomically on the server.

        Raises:
            KeyExistsError: the key exists (whatever this mapping believed).
        """
        full = self._full_key(key)
        data = self._encode(key, value)
        with self._key_lock(key):
            self._wrote(key, self._put(key, full, data, None))

    def set(self, key: str, value: V, *, force: bool = False) -> None:
        """Write `key`; with `force=True`, unconditionally (last writer wins)."""
        if not force:
            self[key] = value
            return
        full = self._full_key(key)
        data = self._encode(key, value)
        with self._key_lock(key):
            self._wrote(key, self._store.put(full, data, metadata=self._metadata()))

    def modify(
        self,
        key: str,
        fn: Callable[[V], V],
        *,
        default: Any = _MISSING,
        retry: tenacity.Retrying | None = None,
        fence: Lease | None = None,
    ) -> V:
        """Atomically replace `key`'s value with `fn(value)` and return the result.

        Reads the latest value, applies `fn`, writes conditioned on the etag read,
        and starts again on a conflict, with jittered backoff, until `retry` (by
        default `default_modify_retry()`) gives up. A missing key starts from
        `default`, or raises `KeyError` when no default is given. `fn` may run
        several times, each time under the key's lock: other threads using this
        mapping wait for it rather than conflict with it.

        With `fence=lease`, the lease's token is stored in the key's metadata,
        and the write is refused when the key holds a higher one: a newer
        holder of the lock has written it (see docs, "Coordinating workers").

        Raises:
            KeyError: the key is missing and no default was given.
            FencedError: the key holds a fence above `fence.token`; not retried.
            KeySyncError: conflicts outlasted the retry policy.
        """
        full = self._full_key(key)

        def attempt() -> V:
            with self._key_lock(key):
                entry = self._store.get(full)
                if entry is None and default is _MISSING:
                    raise KeyError(key)
                extra = None
                if fence is not None:
                    extra = fence_metadata(key, entry, fence, self._store.name)
                old: V = default if entry is None else self._decode(key, entry)
                new = fn(old)
                etag = self._put(
                    key,
                    full,
                    self._encode(key, new),
                    None if entry is None else entry.etag,
                    extra,
                )
                self._wrote(key, etag)
                return new

        policy = (retry if retry is not None else default_modify_retry()).copy()
        if fence is not None:
            policy = refuse_fenced_retries(policy)
        result: V = policy(attempt)
        return result

    def lock(
        self,
        key: str,
        ttl: float,
        *,
        poll: float = 0.5,
        timeout: float | None = None,
        auto_renew: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Lease:
        """A lease on the lock `key`, with a fencing token (not yet acquired).

        Use it as `with m.lock(key, ttl) as lease:` (raises `LockTimeout` after
        `timeout` s) or call `acquire()` / `release()`. A held lock is taken
        over once its object has not changed for `ttl` s, judged on the
        contender's `clock`; the holder polls every `poll` s while waiting and,
        with `auto_renew`, renews from a daemon thread every `ttl / 3` s. The
        lock object lives under `.cloudmap-locks/` at the store's root.
        See docs, "Coordinating workers".
        """
        return Lease(
            self._store,
            lock_object_key(self._prefix, key),
            name=key,
            ttl=ttl,
            poll=poll,
            timeout=timeout,
            auto_renew=auto_renew,
            clock=clock,
            sleep=sleep,
        )

    # -- bulk ----------------------------------------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix="cloudmap"
                )
            return self._executor

    def _run_many(
        self, keys: Iterable[str], fn: Callable[[str], Any]
    ) -> dict[str, Any]:
        """Run `fn(key)` for every key in parallel; raise BulkError for failures."""
        pool = self._pool()
        futures = {key: pool.submit(fn, key) for key in dict.fromkeys(keys)}
        results: dict[str, Any] = {}
        errors: dict[str, BaseException] = {}
        for key, future in futures.items():
            exc = future.exception()
            if exc is None:
                results[key] = future.result()
            else:
                errors[key] = exc
        if errors:
            raise BulkError(errors, results=results)
        return results

    def get_many(self, keys: Iterable[str]) -> dict[str, V]:
        """Read many keys in parallel.

        Raises:
            BulkError: some reads failed; `results` holds the values read.
        """
        return self._run_many(keys, self.__getitem__)

    def set_many(self, items: Mapping[str, V]) -> None:
        """Write many items in parallel, each conditioned like `m[k] = v`.

        Raises:
            TypeError: a key is not a str (nothing is written).
            ValueError: a key is invalid (nothing is written).
            BulkError: some writes failed; the others were applied.
        """
        for key in items:
            self._full_key(key)
        self._run_many(items, lambda key: self.__setitem__(key, items[key]))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete many keys in parallel, each conditioned like `del m[k]`.

        Raises:
            BulkError: some deletes failed; the others were applied.
        """
        self._run_many(keys, self.__delitem__)

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Stop the bulk threads and close the store."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        if "raw" in self.__dict__:
            self.raw.close()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> CloudMapping[V]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
