"""The helpers of `CloudMapping` built on its conditional operations.

`modify` (read, apply, write conditioned on the etag read, retry), `pop` and
`setdefault` (under the key's lock), `latest`, `lock` (leases from
`cloudmap.lease`), and the constructors mirroring cloud-mappings
(`with_pickle`, ...). This base class also keeps the etag table and the read
cache in step after each of the mapping's requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from cloudmap._sentinels import ABSENT, NO_DEFAULT
from cloudmap.codecs import Codec, json, pickle, zlib
from cloudmap.fencing import fence_metadata, refuse_fenced_retries
from cloudmap.lease import Lease, lock_object_key
from cloudmap.retry import default_modify_retry

if TYPE_CHECKING:
    import tenacity
    from typing_extensions import Self

    from cloudmap._etags import EtagTable
    from cloudmap._tagged import TaggedCodec
    from cloudmap.cache import ValueCache
    from cloudmap.stores._protocol import Store
    from cloudmap.stores.prefixed import PrefixedStore

__all__ = ["Coordination"]

V = TypeVar("V")


class Coordination(MutableMapping[str, V]):
    """Coordination helpers and constructors of `CloudMapping`."""

    _store: Store
    _keys: PrefixedStore
    _etags: EtagTable
    _evict: ValueCache[Any] | None
    _tagged: TaggedCodec

    if TYPE_CHECKING:

        def __init__(self, *args: Any, **kwargs: Any) -> None: ...

        def _write(
            self,
            key: str,
            value: V,
            *,
            create: bool,
            etag: str | None = None,
            extra: Mapping[str, str] | None = None,
        ) -> None: ...

    # -- constructors mirroring cloud-mappings ---------------------------------

    @classmethod
    def with_pickle(cls, *args: Any, **kwargs: Any) -> Self:
        """A mapping of picklable values. Never use it on a store others can write."""
        return cls(*args, codec=pickle(), **kwargs)

    @classmethod
    def with_json(cls, *args: Any, **kwargs: Any) -> Self:
        """A mapping of JSON values."""
        return cls(*args, codec=json(), **kwargs)

    @classmethod
    def with_json_zlib(cls, *args: Any, **kwargs: Any) -> Self:
        """A mapping of JSON values, zlib-compressed."""
        return cls(*args, codec=json() | zlib(), **kwargs)

    @classmethod
    def with_buffers(
        cls,
        dumps: list[Callable[[Any], Any]],
        loads: list[Callable[[Any], Any]],
        *args: Any,
        **kwargs: Any,
    ) -> Self:
        """A mapping whose values pass through user functions (see `Codec.chain`)."""
        return cls(*args, codec=Codec.chain(dumps, loads), **kwargs)

    # -- keeping the etag table and the cache in step ---------------------------

    def _wrote(self, key: str, etag: str | None) -> None:
        """After our write or delete: drop the cached value, record the new etag."""
        self._forget(key)
        self._etags.record(key, etag)

    def _forget(self, key: str) -> None:
        if self._evict is not None:
            self._evict.discard(key)

    def _hold(self, fresh: Mapping[str, str], since: int | None = None) -> None:
        """Replace the etag table with `fresh`, a listing started at mark `since`.

        Keys this mapping wrote after `since` keep their newer etag (None: the
        table is replaced whole). Cached values whose etag is gone are dropped.
        """
        mark = self._etags.clock() if since is None else since
        held = self._etags.replace(fresh, mark)
        if self._evict is not None:
            self._evict.retain(held)

    # -- helpers -----------------------------------------------------------------

    def pop(self, key: str, default: Any = NO_DEFAULT) -> Any:
        """Delete `key` and return its value; `default` (or KeyError) if missing."""
        with self._etags.key_lock(key):
            value = self.get(key, ABSENT)
            if value is ABSENT:
                if default is NO_DEFAULT:
                    raise KeyError(key)
                return default
            del self[key]
            return value

    def setdefault(self, key: str, default: Any = None) -> Any:
        """`key`'s value; when missing (also when blind), store `default` first."""
        with self._etags.key_lock(key):
            value = self.get(key, ABSENT)
            if value is ABSENT:
                self[key] = default
                return default
            return value

    def modify(
        self,
        key: str,
        fn: Callable[[V], V],
        *,
        default: Any = NO_DEFAULT,
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
        self._keys.check_key(key)

        def attempt() -> V:
            with self._etags.key_lock(key):
                entry = self._keys.get(key)
                if entry is None and default is NO_DEFAULT:
                    raise KeyError(key)
                extra = None
                if fence is not None:
                    extra = fence_metadata(key, entry, fence, self._store.name)
                old: V = default if entry is None else self._tagged.decode(key, entry)
                new = fn(old)
                etag = None if entry is None else entry.etag
                self._write(key, new, create=etag is None, etag=etag, extra=extra)
                return new

        policy = (retry if retry is not None else default_modify_retry()).copy()
        if fence is not None:
            policy = refuse_fenced_retries(policy)
        result: V = policy(attempt)
        return result

    def latest(self, key: str) -> tuple[bytes, V] | None:
        """`key`'s stored bytes and value whatever etag is held; None if missing.

        One plain GET; records the etag seen, as a blind read does.

        Raises:
            CodecError: the stored bytes carry another codec's tag or do not decode.
        """
        with self._etags.key_lock(key):
            entry = self._keys.get(key)
            self._etags.record(key, None if entry is None else entry.etag)
        if entry is None:
            return None
        return entry.data, self._tagged.decode(key, entry)

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
            lock_object_key(self._keys.prefix, key),
            name=key,
            ttl=ttl,
            poll=poll,
            timeout=timeout,
            auto_renew=auto_renew,
            clock=clock,
            sleep=sleep,
        )
