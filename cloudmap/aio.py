"""AsyncCloudMapping: the asyncio face of a CloudMapping.

Each coroutine runs one call of the thread-safe synchronous mapping on the
facade's own thread pool, so a burst of requests never queues behind the event
loop's small default executor, and the loop stays free while they wait on the
network. The exceptions are the synchronous mapping's own.

A cancelled coroutine stops waiting, not the request: a request already sent
finishes in its thread, and the synchronous mapping records the etag the server
answered, so the held etag always matches what the store holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cloudmap._aio_open import open_mapping
from cloudmap._sentinels import NO_DEFAULT
from cloudmap.changes import Changes, check_polling
from cloudmap.mapping import CloudMapping
from cloudmap.stores._protocol import Store

if TYPE_CHECKING:
    import tenacity

    from cloudmap.codecs import Codec
    from cloudmap.lease import Lease

__all__ = ["AsyncCloudMapping", "open_async"]

V = TypeVar("V")
T = TypeVar("T")


class AsyncCloudMapping(Generic[V]):
    """Awaitable versions of a `CloudMapping`'s operations, on a private thread pool.

    Not a `MutableMapping`: an `__getitem__` cannot be awaited. `len(m)`,
    `k in m` and `async for k in m` read the held etags without a request.

    Args:
        mapping: the synchronous mapping every call goes to; closed with this one.
        max_workers: threads running requests at once; further calls wait their turn.

    Examples:
        >>> import asyncio
        >>> from cloudmap.stores import MemoryStore
        >>> async def main():
        ...     async with AsyncCloudMapping(CloudMapping(MemoryStore())) as m:
        ...         await m.set("a", b"1")
        ...         return await m.get("a"), "a" in m, len(m)
        >>> asyncio.run(main())
        (b'1', True, 1)
    """

    def __init__(self, mapping: CloudMapping[V], *, max_workers: int = 16) -> None:
        if max_workers < 1:
            msg = f"max_workers must be at least 1, not {max_workers}"
            raise ValueError(msg)
        self._mapping = mapping
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="cloudmap-async"
        )

    @property
    def mapping(self) -> CloudMapping[V]:
        """The synchronous mapping behind this facade."""
        return self._mapping

    @property
    def etags(self) -> Mapping[str, str]:
        """A read-only live view of the etag held for each key."""
        return self._mapping.etags

    def __repr__(self) -> str:
        return f"<AsyncCloudMapping over {self._mapping!r}>"

    async def _run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(fn, *args, **kwargs)
        )

    # -- no request ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._mapping)

    def __contains__(self, key: object) -> bool:
        return key in self._mapping

    async def __aiter__(self) -> AsyncIterator[str]:
        for key in self._mapping:
            yield key

    # -- one request each ------------------------------------------------------------

    async def get(self, key: str, default: Any = None) -> Any:
        """`m.get(key, default)`: the value, or `default` when no etag is held.

        Raises:
            KeySyncError: the key changed or vanished remotely (never hidden by
                the default).
        """
        return await self._run(self._mapping.get, key, default)

    async def getitem(self, key: str) -> V:
        """`m[key]`.

        Raises:
            KeyError: no etag is held for the key.
            KeySyncError: the key changed or vanished remotely.
        """
        return await self._run(self._mapping.__getitem__, key)

    async def set(self, key: str, value: V, *, force: bool = False) -> None:
        """`m.set(key, value, force=...)`: a conditional write, or a forced one.

        Raises:
            KeySyncError: the key changed remotely (`KeyExistsError` when it was
                created there).
        """
        await self._run(self._mapping.set, key, value, force=force)

    async def delete(self, key: str) -> None:
        """`del m[key]`, conditioned on the held etag.

        Raises:
            KeyError: no etag is held for the key.
            KeySyncError: the key changed remotely.
        """
        await self._run(self._mapping.__delitem__, key)

    async def create(self, key: str, value: V) -> None:
        """`m.create(key, value)`: write only if no object exists.

        Raises:
            KeyExistsError: the key exists.
        """
        await self._run(self._mapping.create, key, value)

    async def modify(
        self,
        key: str,
        fn: Callable[[V], V],
        *,
        default: Any = NO_DEFAULT,
        retry: tenacity.Retrying | None = None,
        fence: Lease | None = None,
    ) -> V:
        """`m.modify(key, fn, ...)`: read, apply `fn` (in a thread), write, retry.

        With `fence=lease`, the write is refused when a newer holder of the
        lock wrote the key, as `CloudMapping.modify` does.

        Raises:
            KeyError: the key is missing and no default was given.
            FencedError: the key holds a fence above `fence.token`; not retried.
            KeySyncError: conflicts outlasted the retry policy.
        """
        options: dict[str, Any] = {"retry": retry, "fence": fence}
        if default is not NO_DEFAULT:
            options["default"] = default
        return await self._run(self._mapping.modify, key, fn, **options)

    async def sync_with_cloud(self, key: str | None = None) -> None:
        """`m.sync_with_cloud(key)`: refresh every held etag, or just `key`'s."""
        await self._run(self._mapping.sync_with_cloud, key)

    async def changes(self, prefix: str = "", *, apply: bool = True) -> Changes:
        """`m.changes(prefix, apply=...)`: what others changed, from one listing."""
        return await self._run(self._mapping.changes, prefix, apply=apply)

    async def watch(
        self,
        interval: float = 10,
        jitter: float = 0.1,
        *,
        prefix: str = "",
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[Changes]:
        """Yield each non-empty `changes(prefix)`, polling every `interval` s.

        Like `m.watch()`: the first poll runs at once, polls spread by
        ± `jitter` (a fraction of `interval`), and setting `stop` ends the
        watch at once, without waiting out the pause.

        Raises:
            ValueError: `interval` is negative or `jitter` is outside [0, 1).
        """
        check_polling(interval, jitter)
        spread = random.Random()  # noqa: S311 - spreads polls, not a secret
        running = stop if stop is not None else asyncio.Event()
        while not running.is_set():
            batch = await self.changes(prefix)
            if batch:
                yield batch
            pause = interval * (1 + spread.uniform(-jitter, jitter))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(running.wait(), pause)

    # -- bulk, on the synchronous mapping's own pool -------------------------------

    async def get_many(self, keys: Iterable[str]) -> dict[str, V]:
        """`m.get_many(keys)`.

        Raises:
            BulkError: some reads failed; `results` holds the values read.
        """
        return await self._run(self._mapping.get_many, list(keys))

    async def set_many(self, items: Mapping[str, V]) -> None:
        """`m.set_many(items)`.

        Raises:
            BulkError: some writes failed; the others were applied.
        """
        await self._run(self._mapping.set_many, dict(items))

    async def delete_many(self, keys: Iterable[str]) -> None:
        """`m.delete_many(keys)`.

        Raises:
            BulkError: some deletes failed; the others were applied.
        """
        await self._run(self._mapping.delete_many, list(keys))

    # -- lifetime ----------------------------------------------------------------

    async def close(self) -> None:
        """Wait for running calls, stop the threads, close the mapping and its store."""
        await asyncio.get_running_loop().run_in_executor(None, self._shut)

    def _shut(self) -> None:
        self._executor.shutdown(wait=True)
        self._mapping.close()

    async def __aenter__(self) -> AsyncCloudMapping[V]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def open_async(
    target: str | os.PathLike[str] | Store,
    *,
    codec: str | Codec = "raw",
    create: bool = False,
    max_workers: int = 16,
    **options: Any,
) -> AsyncCloudMapping[Any]:
    """Open an `AsyncCloudMapping` on a directory, URL, one-provider ini file or store.

    The first listing runs in a thread, so opening never blocks the event loop.

    Args:
        target: as for `cloudmap.open()`: a path, a URL, an `.ini` file with
            one provider, or a `Store`.
        codec: `"raw"` (bytes, the default), `"json"`, `"pickle"` or a `Codec`.
        create: create the directory or bucket when missing.
        max_workers: the facade's threads.
        **options: passed to `CloudMapping` (`cache=`, `read_blindly=`, ...);
            not for ini files, which carry their own.

    Raises:
        ConfigError: the target is invalid, or an ini file names several
            stores (replication has no async facade) or comes with options.
    """
    loop = asyncio.get_running_loop()
    opener = functools.partial(open_mapping, target, codec, create, options)
    mapping = await loop.run_in_executor(None, opener)
    return AsyncCloudMapping(mapping, max_workers=max_workers)
