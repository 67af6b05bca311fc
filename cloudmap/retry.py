"""Retry policies built on tenacity, and a store wrapper that applies them.

Store calls retry only `TransientStoreError`: a `KeySyncError` means another
writer won, and retrying the same write blindly would overwrite their value.
`default_modify_retry` is the one policy that retries conflicts, because
`CloudMapping.modify()` re-reads the latest value before each attempt. Each
store maps its SDK's errors to `TransientStoreError` in one place (its
`_errors.py`), so the policies here decide from cloudmap's own errors only.

A retried conditional write can meet its own first attempt: the server applied
it, the response was lost, and the retry fails its precondition. `RetryingStore`
tags every write with a unique id in the object's metadata and, after an attempt
whose error says `may_have_applied`, reads the object back once in that case, so
a write that landed is reported as a success.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

import tenacity

from cloudmap._first_attempt import run
from cloudmap.errors import EtagMismatchError, KeySyncError, TransientStoreError
from cloudmap.stores._protocol import Entry, ListedKey, PutMode, Store, check_mode
from cloudmap.stores._wrapper import StoreWrapper

__all__ = [
    "DEFAULT",
    "WRITE_ID_METADATA_KEY",
    "RetryingStore",
    "default_modify_retry",
    "default_retry",
    "retry_policy",
    "retrying_store",
]

WRITE_ID_METADATA_KEY = "cloudmap-write-id"
"""Metadata key holding the unique id of the write that stored an object."""

T = TypeVar("T")

_log = logging.getLogger(__name__)


def retry_policy(
    *,
    attempts: int = 5,
    max_delay: float = 30.0,
    initial: float = 0.1,
    max_wait: float = 5.0,
    jitter: float = 0.1,
    sleep: Callable[[float], None] | None = None,
) -> tenacity.Retrying:
    """A tenacity policy retrying `TransientStoreError` with exponential backoff.

    Args:
        attempts: calls made at most, the first one included.
        max_delay: seconds after the first call past which no retry starts.
        initial: the first wait, in seconds; each next one doubles.
        max_wait: the longest single wait, in seconds.
        jitter: a random 0..`jitter` seconds added to each wait, so that
            clients throttled together do not retry together.
        sleep: replaces `time.sleep` (tests pass a recorder).

    Examples:
        >>> slept = []
        >>> policy = retry_policy(attempts=3, jitter=0, sleep=slept.append)
        >>> calls = iter([TransientStoreError("503"), TransientStoreError("503")])
        >>> def flaky():
        ...     for exc in calls:
        ...         raise exc
        ...     return "ok"
        >>> policy(flaky), slept
        ('ok', [0.1, 0.2])
    """
    extra = {} if sleep is None else {"sleep": sleep}
    return tenacity.Retrying(
        stop=(
            tenacity.stop_after_attempt(attempts) | tenacity.stop_after_delay(max_delay)
        ),
        wait=tenacity.wait_exponential(multiplier=initial, max=max_wait)
        + tenacity.wait_random(0, jitter),
        # A KeySyncError is not transient, so it is never retried here.
        retry=tenacity.retry_if_exception_type(TransientStoreError),
        before_sleep=tenacity.before_sleep_log(_log, logging.DEBUG),
        reraise=True,
        **extra,  # type: ignore[arg-type]
    )


def default_retry() -> tenacity.Retrying:
    """The default policy: 5 attempts within 30 s, backoff from 0.1 s to 5 s."""
    return retry_policy()


DEFAULT = default_retry()
"""The policy `CloudMapping` uses unless given `retry=`."""


def default_modify_retry() -> tenacity.Retrying:
    """The policy `CloudMapping.modify()` retries conflicts under: jittered, bounded.

    Unlike the transient-error policies above, it retries `KeySyncError` on
    purpose: each attempt re-reads the latest value before writing again.
    """
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(200) | tenacity.stop_after_delay(120),
        wait=tenacity.wait_random_exponential(multiplier=0.005, max=0.5),
        retry=tenacity.retry_if_exception_type(KeySyncError),
        reraise=True,
    )


class RetryingStore(StoreWrapper):
    """A Store whose every call runs under a tenacity policy.

    Conditional writes and deletes that fail their precondition after an
    attempt with an unknown outcome are checked against the store: a write
    whose id is stored, or a delete whose object is gone, succeeded.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> store = RetryingStore(MemoryStore(), retry_policy(attempts=3))
        >>> etag = store.put("a", b"1", mode="create")
        >>> store.get("a").data
        b'1'
    """

    def __init__(self, store: Store, retrying: tenacity.Retrying) -> None:
        super().__init__(store)
        self._retrying = retrying

    @property
    def retrying(self) -> tenacity.Retrying:
        """The policy each call runs under."""
        return self._retrying

    def _call(self, fn: Callable[[], T]) -> T:
        return run(self._retrying, fn)

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`; see `cloudmap.stores.Store.get`."""
        return self._call(
            lambda: self._store.get(key, if_match=if_match, if_none_match=if_none_match)
        )

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key` tagged with a fresh write id; see `cloudmap.stores.Store.put`."""
        check_mode(mode, store=self.name)
        write_id = uuid.uuid4().hex
        tagged = {**(metadata or {}), WRITE_ID_METADATA_KEY: write_id}
        unknown = False

        def attempt() -> str:
            nonlocal unknown
            try:
                return self._store.put(
                    key,
                    data,
                    mode=mode,
                    metadata=tagged,
                )
            except TransientStoreError as exc:
                unknown = unknown or exc.may_have_applied
                raise
            except KeySyncError:
                if unknown:
                    entry = self._store.get(key)
                    if entry is not None and (
                        entry.metadata.get(WRITE_ID_METADATA_KEY) == write_id
                    ):
                        _log.info("write of %r in %s had landed", key, self.name)
                        return entry.etag
                raise

        return self._call(attempt)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; see `cloudmap.stores.Store.delete`."""
        unknown = False

        def attempt() -> None:
            nonlocal unknown
            try:
                self._store.delete(key, if_match=if_match)
            except TransientStoreError as exc:
                unknown = unknown or exc.may_have_applied
                raise
            except EtagMismatchError:
                if unknown and self._store.get(key) is None:
                    _log.info("delete of %r in %s had landed", key, self.name)
                    return
                raise

        self._call(attempt)

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield every key under `prefix`; a failed listing restarts whole.

        The listing is read in full before the first key is yielded, so that a
        retry never yields a key twice.
        """
        yield from self._call(lambda: list(self._store.list(prefix)))


def retrying_store(store: Store, retrying: tenacity.Retrying | None) -> Store:
    """`store` with its calls run under `retrying`; as given when None.

    A store whose class sets `never_transient = True` is returned as given too.

    A `RetryingStore` is unwrapped first, so that policies never nest (a nested
    one would multiply the attempts).
    """
    if retrying is None or getattr(store, "never_transient", False):
        # A store that can never fail transiently (LocalStore) gains nothing
        # from a retry policy but its cost on every call.
        return store
    if isinstance(store, RetryingStore):
        store = store.inner
    return RetryingStore(store, retrying)
