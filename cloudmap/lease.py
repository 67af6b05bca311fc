"""Leases with fencing tokens, built only from a store's conditional writes.

A lock is one JSON object under `LOCK_PREFIX`. Its body holds a token that
grows by one on every change of holder and is never reset: release writes
`state=released` (a conditional write), it never deletes. Every write changes
the body (the token or a beat counter grows), so an etag never repeats, not
even on S3 where etags are the MD5 of the bytes.

Expiry is judged by each contender on its own monotonic clock: a held lock may
be taken over once its object has not changed for the holder's `ttl`, counted
from the first time the contender saw it. The holder counts its own deadline
from the send time of its last successful write, so it always believes it has
lost the lock before any contender can take it (clock rates aside); no
wall-clock time written by another machine is ever compared.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cloudmap._lock_object import LockBody, lock_object_key
from cloudmap._reserved import LOCK_PREFIX
from cloudmap.errors import CloudMapError, KeySyncError, LockLost, LockTimeout
from cloudmap.stores._protocol import replace_or_create

if TYPE_CHECKING:
    from types import TracebackType

    from cloudmap.stores._protocol import Store

__all__ = ["LOCK_PREFIX", "Lease", "lock_object_key"]

Clock = Callable[[], float]


def _min_ttl(store: Store) -> float:
    """The shortest ttl a store's write rate allows (`min_lock_ttl` on the store)."""
    inner: Any = store
    while hasattr(inner, "inner"):  # RetryingStore and other wrappers
        inner = inner.inner
    return float(getattr(inner, "min_lock_ttl", 0.0))


class Lease:
    """A lease on one lock object, with a fencing token.

    Built by `CloudMapping.lock`; see there for the arguments. Use it as a
    context manager, or call `acquire()` and `release()`. Thread-safe.
    """

    def __init__(
        self,
        store: Store,
        object_key: str,
        *,
        name: str,
        ttl: float,
        poll: float = 0.5,
        timeout: float | None = None,
        auto_renew: bool = False,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ttl <= 0 or poll <= 0:
            msg = f"lock {name!r}: ttl and poll must be positive, not {ttl} and {poll}"
            raise ValueError(msg)
        minimum = _min_ttl(store)
        if ttl < minimum:
            msg = (
                f"lock {name!r} on {store.name} needs ttl >= {minimum:g} s, not "
                f"{ttl:g}: the store allows about one write per second per object "
                "and a lease is renewed every ttl/3"
            )
            raise ValueError(msg)
        self._store = store
        self._object_key = object_key
        self._name = name
        self._ttl = ttl
        self._poll = poll
        self._timeout = timeout
        self._auto_renew = auto_renew
        self._clock = clock
        self._sleep = sleep
        self._holder = uuid.uuid4().hex
        self._mutex = threading.RLock()
        self._token = 0
        self._body: LockBody | None = None  # what we last wrote, while we hold it
        self._etag: str | None = None
        self._deadline = 0.0
        self._seen: tuple[str, float] | None = None  # (etag, first seen) of a holder
        self._lost: str | None = None  # why the last acquisition was lost
        self._stop = threading.Event()

    def __repr__(self) -> str:
        state = "held" if self.held else "not held"
        return f"<Lease {self._name!r} token={self._token} ttl={self._ttl:g} {state}>"

    @property
    def name(self) -> str:
        """The lock's name, as given to `lock()`."""
        return self._name

    @property
    def ttl(self) -> float:
        """Seconds a write of the lock keeps it held."""
        return self._ttl

    @property
    def token(self) -> int:
        """The token of the last acquisition (+1 per change of holder); 0 before any."""
        return self._token

    @property
    def held(self) -> bool:
        """A local check: now < send time of our last successful write + ttl."""
        with self._mutex:
            return self._etag is not None and self._clock() < self._deadline

    # -- acquiring -------------------------------------------------------------

    def acquire(
        self,
        blocking: bool = True,
        timeout: float | None = None,
    ) -> bool:
        """Take the lock; False if not taken (`blocking=False`, or after `timeout` s).

        `timeout=None` waits as long as the `timeout` given to `lock()` (by
        default, for ever).
        """
        limit = self._timeout if timeout is None else timeout
        started = self._clock()
        with self._mutex:
            if self.held:
                msg = f"lease {self._name!r} is already held (token {self._token})"
                raise RuntimeError(msg)
        while not self._attempt():
            waited = self._clock() - started
            if not blocking or (limit is not None and waited >= limit):
                return False
            pause = self._poll if limit is None else min(self._poll, limit - waited)
            self._sleep(max(pause, 0.0))
        if self._auto_renew:
            self._start_renewer()
        return True

    def _attempt(self) -> bool:
        """One look at the lock object, and a takeover write when it is due."""
        entry = self._store.get(self._object_key)
        now = self._clock()  # after the answer: the state seen existed by then
        if entry is None:
            return self._take(None, 1)
        body = LockBody.loads(self._object_key, self._store.name, entry.data)
        if body.state == "held":
            if self._seen is None or self._seen[0] != entry.etag:
                self._seen = (entry.etag, now)
                return False
            if now - self._seen[1] < body.ttl:
                return False
        return self._take(entry.etag, body.token + 1)

    def _take(self, etag: str | None, token: int) -> bool:
        body = LockBody(token=token, state="held", ttl=self._ttl, holder=self._holder)
        with self._mutex:
            try:
                self._write(body, etag)
            except KeySyncError:  # another contender was faster
                self._seen = None
                return False
            self._token = token
            self._seen = self._lost = None
            return True

    def _write(self, body: LockBody, etag: str | None) -> None:
        """Write the lock object conditionally; on success, note its deadline."""
        sent = self._clock()
        new = self._store.put(
            self._object_key,
            body.dumps(),
            mode=replace_or_create(etag),
        )
        self._body, self._etag, self._deadline = body, new, sent + self._ttl

    # -- holding -------------------------------------------------------------------

    def renew(self) -> None:
        """Extend the lease by one ttl with a conditional write of a new body.

        Raises:
            LockLost: the deadline passed, or the lock object changed.
        """
        with self._mutex:
            body = self._holding("renew")
            self._rewrite(replace(body, beat=body.beat + 1))

    def release(self) -> None:
        """Write `state=released` (conditionally; never a delete).

        Raises:
            LockLost: the deadline passed, or the lock object changed.
        """
        self._stop.set()
        with self._mutex:
            body = self._holding("release")
            try:
                self._rewrite(replace(body, state="released", beat=body.beat + 1))
            finally:
                self._etag = self._body = None

    def _holding(self, action: str) -> LockBody:
        """The body we hold, or LockLost (again) once the lease was lost."""
        if self._lost is not None:
            raise LockLost(self._name, self._token, self._lost)
        if self._etag is None or self._body is None:
            msg = f"cannot {action} lease {self._name!r}: it is not held"
            raise RuntimeError(msg)
        if self._clock() >= self._deadline:
            raise self._lose(f"its ttl passed before {action}")
        return self._body

    def _lose(self, reason: str) -> LockLost:
        self._etag = self._body = None
        self._lost = reason
        return LockLost(self._name, self._token, reason)

    def _rewrite(self, body: LockBody) -> None:
        try:
            self._write(body, self._etag)
        except KeySyncError as exc:
            raise self._lose("another holder took the lock") from exc

    def _start_renewer(self) -> None:
        self._stop = threading.Event()
        threading.Thread(
            target=self._renew_every,
            args=(self._stop,),
            name=f"cloudmap-lease-{self._name}",
            daemon=True,
        ).start()

    def _renew_every(self, stop: threading.Event) -> None:
        """Renew every ttl/3 until released, lost, or the deadline has passed."""
        while not stop.wait(self._ttl / 3):
            try:
                self.renew()
            except (LockLost, RuntimeError):
                return
            except CloudMapError:
                if not self.held:  # a failed renewal is retried until the deadline
                    return

    # -- context manager ---------------------------------------------------------

    def __enter__(self) -> Lease:
        if not self.acquire():
            msg = f"lock {self._name!r} was not acquired within {self._timeout} s"
            raise LockTimeout(msg)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._mutex:
            released_inside = self._etag is None and self._lost is None
        if not released_inside:
            self.release()
