"""A small linearizability checker for histories of one register or counter.

A history is a list of completed operations, each with the time it was invoked,
the time it returned (both from `time.monotonic_ns()`, which is one clock for
every process of a machine on Linux) and what it returned. The history is
linearizable when some total order of the operations (1) respects real time: an
operation that returned before another was invoked comes first, and (2) replays
through the sequential `register_step` giving every recorded output.

The search is Wing & Gong's, with Lowe's memoisation of (operations linearized,
state) pairs, as in the Go tool porcupine. Linearizability is local, so a
history over many keys is checked one key at a time (`check_per_key`).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Operation",
    "Recorder",
    "check",
    "check_per_key",
    "register_step",
]

Step = Callable[[Any, str, Any, Any], "tuple[bool, Any]"]


@dataclass(frozen=True)
class Operation:
    """One completed operation on one key.

    `kind` is `read`, `write`, `create`, `delete` or `add`; `output` is what the
    operation returned (`create` returns whether it won).
    """

    key: str
    kind: str
    arg: Hashable
    output: Hashable
    call: int
    ret: int


def register_step(state: Any, kind: str, arg: Any, output: Any) -> tuple[bool, Any]:
    """The sequential specification: a register holding a value or None (absent).

    Returns whether `output` is what the operation gives in `state`, and the
    state after it.
    """
    if kind == "read":
        return output == state, state
    if kind == "write":
        return True, arg
    if kind == "delete":
        return True, None
    if kind == "create":
        if state is None:
            return output is True, arg
        return output is False, state
    if kind == "add":
        new = (0 if state is None else state) + arg
        return output == new, new
    msg = f"unknown operation kind {kind!r}"
    raise ValueError(msg)


@dataclass
class _Event:
    index: int
    is_call: bool
    prev: _Event | None = None
    next: _Event | None = None
    match: _Event | None = field(default=None, repr=False)


def _linked_events(history: list[Operation]) -> _Event:
    """A doubly linked list of call and return events in time order; returns its head."""
    timed: list[tuple[int, int, _Event]] = []
    for index, op in enumerate(history):
        if op.ret < op.call:
            msg = f"operation {op} returned before it was invoked"
            raise ValueError(msg)
        call, ret = _Event(index, is_call=True), _Event(index, is_call=False)
        call.match = ret
        # On equal times calls sort first: the two operations are then concurrent.
        timed += [(op.call, 0, call), (op.ret, 1, ret)]
    timed.sort(key=lambda item: (item[0], item[1]))
    head = _Event(-1, is_call=False)
    last = head
    for _, _, event in timed:
        last.next, event.prev = event, last
        last = event
    return head


def _lift(event: _Event) -> None:
    """Unlink a call event and its return event."""
    for node in (event, event.match):
        assert node is not None
        assert node.prev is not None
        node.prev.next = node.next
        if node.next is not None:
            node.next.prev = node.prev


def _unlift(event: _Event) -> None:
    """Undo `_lift(event)`."""
    for node in (event.match, event):
        assert node is not None
        assert node.prev is not None
        node.prev.next = node
        if node.next is not None:
            node.next.prev = node


def check(
    history: Iterable[Operation], *, init: Any = None, step: Step = register_step
) -> bool:
    """Whether the history of one key is linearizable, starting from `init`."""
    ops = list(history)
    head = _linked_events(ops)
    state = init
    linearized = 0
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[_Event, Any]] = []
    entry = head.next
    while head.next is not None:
        assert entry is not None
        if entry.is_call:
            op = ops[entry.index]
            ok, new_state = step(state, op.kind, op.arg, op.output)
            if ok:
                mark = linearized | (1 << entry.index)
                if (mark, new_state) not in seen:
                    seen.add((mark, new_state))
                    stack.append((entry, state))
                    state, linearized = new_state, mark
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return is reached before its operation could be placed: backtrack.
            if not stack:
                return False
            entry, state = stack.pop()
            linearized &= ~(1 << entry.index)
            _unlift(entry)
            entry = entry.next
    return True


def check_per_key(
    history: Iterable[Operation], *, init: Any = None, step: Step = register_step
) -> list[str]:
    """Check every key's history on its own; return the keys that are not linearizable."""
    by_key: dict[str, list[Operation]] = defaultdict(list)
    for op in history:
        by_key[op.key].append(op)
    return sorted(
        key for key, ops in by_key.items() if not check(ops, init=init, step=step)
    )


class Recorder:
    """Collects operations from many threads, timed around the real calls.

    Examples:
        >>> rec = Recorder()
        >>> with rec.record("k", "add", 1) as result:
        ...     result.append(1)
        >>> check(rec.history)
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.history: list[Operation] = []

    @contextmanager
    def record(self, key: str, kind: str, arg: Hashable) -> Iterator[list[Any]]:
        """Time the body; it appends the operation's output to the yielded list.

        An operation that raises is not recorded (it is not known to have
        happened), so tests must fail on unexpected exceptions.
        """
        result: list[Any] = []
        call = time.monotonic_ns()
        yield result
        ret = time.monotonic_ns()
        op = Operation(key, kind, arg, result[0], call, ret)
        with self._lock:
            self.history.append(op)
