"""The bulk runner: one call per key on a thread pool, failures reported together.

`run_many` serves the mapping's bulk methods (the `Bulk` base of
`CloudMapping`, on a pool the mapping keeps), and through `run_each`,
`copy_keys` and `rekey` (on a pool per run, or a dask task thread's own).
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from cloudmap.errors import BulkError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from cloudmap.stores.prefixed import PrefixedStore

__all__ = ["Bulk", "LazyPool", "run_each", "run_many"]

R = TypeVar("R")
V = TypeVar("V")


def run_many(
    keys: Iterable[str], fn: Callable[[str], R], pool: Executor
) -> dict[str, R]:
    """Run `fn(key)` for every distinct key on `pool`; return the results by key.

    Raises:
        BulkError: some calls raised; `errors` holds their exceptions by key (in
            the order given) and `results` what the others returned.
    """
    futures = {key: pool.submit(fn, key) for key in dict.fromkeys(keys)}
    results: dict[str, R] = {}
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


def run_each(
    keys: Iterable[str], fn: Callable[[str], object], workers: int | Executor
) -> None:
    """Run `fn(key)` for every key on `workers` new threads, or on a given pool.

    For callers whose `fn` reports each key's failure itself: an exception
    escaping it (a defect, an interrupt) is raised as it was, once every call
    has ended; the first key's when several did.
    """
    failure: BaseException | None = None
    try:
        if isinstance(workers, Executor):
            run_many(keys, fn, workers)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                run_many(keys, fn, pool)
    except BulkError as exc:
        failure = next(iter(exc.errors.values()))
    if failure is not None:
        raise failure


class LazyPool:
    """A thread pool started on first use and stopped by `close()`."""

    def __init__(self, workers: int, name: str = "cloudmap") -> None:
        if workers < 1:
            msg = f"max_workers must be at least 1, not {workers}"
            raise ValueError(msg)
        self._workers = workers
        self._name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def workers(self) -> int:
        """How many calls run at once."""
        return self._workers

    def get(self) -> ThreadPoolExecutor:
        """The pool, started now if it was not yet."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix=self._name
                )
            return self._executor

    def close(self) -> None:
        """Stop the pool once its calls are done; a later `get()` starts another."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class Bulk(MutableMapping[str, V]):
    """The bulk methods of `CloudMapping`, over its one-key operations."""

    _bulk: LazyPool
    _keys: PrefixedStore

    def _run_many(self, keys: Iterable[str], fn: Callable[[str], R]) -> dict[str, R]:
        return run_many(keys, fn, self._bulk.get())

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
            self._keys.check_key(key)
        self._run_many(items, lambda key: self.__setitem__(key, items[key]))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete many keys in parallel, each conditioned like `del m[k]`.

        Raises:
            BulkError: some deletes failed; the others were applied.
        """
        self._run_many(keys, self.__delitem__)

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
