"""Fault injection for tests: a Store wrapper that fails calls on demand.

`FaultyStore(inner, handler)` works like httpx's `MockTransport`: before each
call, `handler(call)` decides whether it fails, and how. `RandomFaults` is a
handler that fails a given share of calls, from a seed, so a failing run can be
replayed exactly.

Each injected `TransientStoreError` says, in `may_have_applied`, whether the
server may have acted, as a store's error mapping would.
"""

from __future__ import annotations

import enum
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from cloudmap.errors import TransientStoreError
from cloudmap.stores._protocol import Entry, ListedKey, PutMode, Store, check_mode
from cloudmap.stores._wrapper import StoreWrapper

__all__ = [
    "Call",
    "Fault",
    "FaultyStore",
    "RandomFaults",
]

T = TypeVar("T")

Op = Literal["get", "put", "delete", "list"]


class Fault(enum.Enum):
    """A failure that `FaultyStore` injects into one call."""

    SERVER_ERROR = "server-error"
    """HTTP 500 InternalError; the server did not act (the client cannot know)."""
    THROTTLE = "throttle"
    """HTTP 503 SlowDown; the server refused the request unapplied."""
    RESET = "reset"
    """Connection reset before the server acted (the client cannot know)."""
    TIMEOUT_BEFORE = "timeout-before"
    """The connection timed out: the request never reached the server."""
    TIMEOUT_AFTER = "timeout-after"
    """The server applied the request, then the response was lost."""

    def error(self, call: Call) -> TransientStoreError:
        """The exception a client sees for this fault."""
        return TransientStoreError(
            f"injected {self.value} on {call.op} {call.key!r}",
            key=call.key,
            may_have_applied=self in _AMBIGUOUS,
        )


# The faults after which the client cannot know whether the server acted.
_AMBIGUOUS = frozenset({Fault.SERVER_ERROR, Fault.RESET, Fault.TIMEOUT_AFTER})


@dataclass(frozen=True)
class Call:
    """One store call, as a fault handler sees it.

    Attributes:
        op: `get`, `put`, `delete` or `list`.
        key: the key, or the prefix for `list`.
        n: how many earlier calls of this op on this key the store has seen.
    """

    op: Op
    key: str
    n: int


Handler = Callable[[Call], "Fault | BaseException | None"]
"""Decides a call's fate: a Fault, an exception to raise unsent, or None to pass."""


class FaultyStore(StoreWrapper):
    """A Store that forwards to `inner` unless `handler` injects a fault.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> def lose_first_put(call):
        ...     return Fault.TIMEOUT_AFTER if call == Call("put", "a", 0) else None
        >>> store = FaultyStore(MemoryStore(), lose_first_put)
        >>> store.put("a", b"1")
        Traceback (most recent call last):
        ...
        cloudmap.errors.TransientStoreError: injected timeout-after on put 'a'
        >>> store.get("a").data
        b'1'
    """

    def __init__(self, inner: Store, handler: Handler) -> None:
        super().__init__(inner)
        self._handler = handler
        self._seen: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _run(self, op: Op, key: str, fn: Callable[[], T]) -> T:
        with self._lock:
            n = self._seen[op, key]
            self._seen[op, key] += 1
        call = Call(op, key, n)
        fault = self._handler(call)
        if fault is None:
            return fn()
        if isinstance(fault, BaseException):
            raise fault
        if fault is Fault.TIMEOUT_AFTER:
            try:
                fn()
            except Exception as exc:
                # The server's answer, success or refusal, is what got lost.
                raise fault.error(call) from exc
        raise fault.error(call)

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`, unless a fault is injected."""

        def get() -> Entry | None:
            return self._store.get(key, if_match=if_match, if_none_match=if_none_match)

        return self._run("get", key, get)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key`, unless a fault is injected (after it, for TIMEOUT_AFTER)."""
        check_mode(mode, store=self.name)
        return self._run(
            "put",
            key,
            lambda: self._store.put(key, data, mode=mode, metadata=metadata),
        )

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`, unless a fault is injected (after it, for TIMEOUT_AFTER)."""
        self._run("delete", key, lambda: self._store.delete(key, if_match=if_match))

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """List keys under `prefix`; a fault fails the listing before any key."""
        yield from self._run("list", prefix, lambda: list(self._store.list(prefix)))


class RandomFaults:
    """A `FaultyStore` handler failing a share of calls, reproducibly.

    Args:
        rate: the probability that a call fails, 0 to 1.
        seed: seeds the random choices; the same seed and calls give the same faults.
        faults: the faults drawn from, evenly.
        ops: the operations that may fail.

    Attributes:
        injected: how many faults of each kind were injected so far.
    """

    def __init__(
        self,
        rate: float = 0.1,
        *,
        seed: int = 0,
        faults: Sequence[Fault] = tuple(Fault),
        ops: Sequence[Op] = ("get", "put", "delete", "list"),
    ) -> None:
        if not 0 <= rate <= 1:
            msg = f"rate must be between 0 and 1, not {rate}"
            raise ValueError(msg)
        self.rate = rate
        self._faults = tuple(faults)
        self._ops = frozenset(ops)
        self._random = random.Random(seed)  # noqa: S311 - reproducible, not secret
        self._lock = threading.Lock()
        self.injected: Counter[Fault] = Counter()

    def __call__(self, call: Call) -> Fault | None:
        """Draw the fate of `call`."""
        if call.op not in self._ops:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            fault = self._random.choice(self._faults)
            self.injected[fault] += 1
        return fault
