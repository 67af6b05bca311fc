"""RetryingStore's bare first attempt changes nothing a policy's user can see.

Each scenario runs a store call twice on the same faults and a fake clock: once
through `RetryingStore`, once under the policy as tenacity runs it by itself
(`policy.copy()(fn)`, what `RetryingStore` did for every call before). The
callbacks' views (attempt numbers, times since the start, statistics), the
waits, the attempts and the outcome must be the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import tenacity

from cloudmap._first_attempt import exception_only
from cloudmap.errors import KeySyncError, TransientStoreError
from cloudmap.fencing import refuse_fenced_retries
from cloudmap.retry import (
    DEFAULT,
    WRITE_ID_METADATA_KEY,
    RetryingStore,
    default_modify_retry,
    retry_policy,
)
from cloudmap.stores import Entry, MemoryStore
from cloudmap.testing import Call, Fault, FaultyStore

ATTEMPT_SECONDS = 4.0
"""How long each store call takes on the fake clock."""


class Clock:
    """A monotonic clock that moves only when a call or a wait says so."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """tenacity's clock and RetryingStore's, both faked."""
    fake = Clock()
    monkeypatch.setattr(time, "monotonic", fake)
    return fake


@dataclass
class Recorder:
    """What a policy's callbacks saw during one call, times from the call's start."""

    clock: Clock
    origin: float = 0.0
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def reset(self) -> None:
        self.origin = self.clock.now
        self.events.clear()

    def since(self, moment: float) -> float:
        """Seconds from the call's start, rounded: runs start at different times."""
        return round(moment - self.origin, 6)

    def _seen(self, name: str, state: tenacity.RetryCallState) -> None:
        stats = {
            name: round(value, 6)
            for name, value in state.retry_object.statistics.items()
        }
        stats["start_time"] = self.since(state.retry_object.statistics["start_time"])
        self.events.append(
            (
                name,
                state.attempt_number,
                self.since(state.start_time),
                round(state.seconds_since_start or 0, 6),
                state.idle_for,
                state.upcoming_sleep,
                stats,
            )
        )

    def after(self, state: tenacity.RetryCallState) -> None:
        self._seen("after", state)

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        self._seen("before_sleep", state)

    def gave_up(self, state: tenacity.RetryCallState) -> str:
        self._seen("gave_up", state)
        return "gave up"

    def sleep(self, seconds: float) -> None:
        self.events.append(("sleep", seconds))
        self.clock.advance(seconds)


Script = Callable[[Call], "Fault | None"]


def timed(recorder: Recorder, script: Script) -> Script:
    """`script`, with each store call taking ATTEMPT_SECONDS and recorded."""

    def handler(call: Call) -> Fault | None:
        recorder.events.append(("call", call.n, recorder.since(recorder.clock.now)))
        recorder.clock.advance(ATTEMPT_SECONDS)
        return script(call)

    return handler


def outcome(fn: Callable[[], object]) -> tuple[Any, ...]:
    """What `fn` returned, or what it raised and what that was chained to."""
    try:
        return ("returned", fn())
    except BaseException as exc:
        last = (
            exc.last_attempt.attempt_number
            if isinstance(exc, tenacity.RetryError)
            else None
        )
        return (
            "raised",
            type(exc),
            str(exc) if last is None else last,
            type(exc.__cause__),
            type(exc.__context__),
        )


def both_ways(
    recorder: Recorder,
    policy: tenacity.Retrying,
    script: Script,
    call: Callable[[Any], object],
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(events, outcome) through RetryingStore and through tenacity alone."""
    recorder.reset()
    store = RetryingStore(FaultyStore(MemoryStore(), timed(recorder, script)), policy)
    ours = (outcome(lambda: call(store)), tuple(recorder.events))
    recorder.reset()
    alone = FaultyStore(MemoryStore(), timed(recorder, script))
    reference = (
        outcome(lambda: policy.copy()(lambda: call(alone))),
        tuple(recorder.events),
    )
    return ours[::-1], reference[::-1]


def read(store: Any) -> object:
    got: Entry | None = store.get("k")
    return got


def throttled(_: Call) -> Fault:
    return Fault.THROTTLE


def throttled_twice(call: Call) -> Fault | None:
    return Fault.THROTTLE if call.n < 2 else None


def observed(recorder: Recorder, **policy: Any) -> tenacity.Retrying:
    """A policy retrying transient errors, every callback recorded."""
    settings: dict[str, Any] = {
        "retry": tenacity.retry_if_exception_type(TransientStoreError),
        "wait": tenacity.wait_fixed(3),
        "after": recorder.after,
        "before_sleep": recorder.before_sleep,
        "sleep": recorder.sleep,
        **policy,
    }
    return tenacity.Retrying(**settings)


def test_stop_after_delay_counts_from_the_first_attempt(clock: Clock) -> None:
    """A 10 s budget stops after the attempt that ends 11 s after the first began.

    Counted from the first failure instead, the second attempt would end 7 s in
    and a third would be made.
    """
    recorder = Recorder(clock)
    policy = observed(recorder, stop=tenacity.stop_after_delay(10))
    ours, reference = both_ways(recorder, policy, throttled, read)
    assert ours == reference
    events, result = ours
    assert [e[2] for e in events if e[0] == "call"] == [0.0, 7.0]
    assert [e[3] for e in events if e[0] == "after"] == [4.0, 11.0]
    assert result[:2] == ("raised", tenacity.RetryError)


def test_max_delay_of_cloudmaps_policy_counts_from_the_first_attempt(
    clock: Clock,
) -> None:
    """retry_policy(max_delay=...) allows as many attempts as tenacity alone does."""
    recorder = Recorder(clock)
    policy = retry_policy(attempts=100, max_delay=10, jitter=0, sleep=recorder.sleep)
    ours, reference = both_ways(recorder, policy, throttled, read)
    assert ours == reference
    assert [e[2] for e in ours[0] if e[0] == "call"] == [0.0, 4.1, 8.3]


@pytest.mark.parametrize("reraise", [True, False])
def test_giving_up_raises_the_same_error(clock: Clock, *, reraise: bool) -> None:
    """After the last attempt: the last error itself, or a RetryError, unchained."""
    recorder = Recorder(clock)
    policy = observed(recorder, stop=tenacity.stop_after_attempt(3), reraise=reraise)
    ours, reference = both_ways(recorder, policy, throttled, read)
    assert ours == reference
    events, result = ours
    assert [e[1] for e in events if e[0] == "after"] == [1, 2, 3]
    expected = TransientStoreError if reraise else tenacity.RetryError
    assert result[1] is expected
    assert result[4] is type(None)  # the first attempt's error is no one's context


def test_callbacks_and_statistics_of_a_call_that_recovers(clock: Clock) -> None:
    """Two failures then a success: each callback sees the same attempt and stats."""
    recorder = Recorder(clock)
    policy = observed(recorder, stop=tenacity.stop_after_attempt(5))
    ours, reference = both_ways(recorder, policy, throttled_twice, read)
    assert ours == reference
    events, result = ours
    afters = [e for e in events if e[0] == "after"]
    assert [(e[1], e[3]) for e in afters] == [(1, 4.0), (2, 11.0)]
    last_sleep = [e for e in events if e[0] == "before_sleep"][-1]
    assert last_sleep[6] == {
        "start_time": 0.0,
        "attempt_number": 3,
        "idle_for": 6,
        "delay_since_first_attempt": 11.0,
    }
    assert result == ("returned", None)


def test_retry_error_callback_answers_for_the_call(clock: Clock) -> None:
    """A policy's retry_error_callback gives the call's value when it gives up."""
    recorder = Recorder(clock)
    policy = observed(
        recorder,
        stop=tenacity.stop_after_attempt(2),
        retry_error_callback=recorder.gave_up,
    )
    ours, reference = both_ways(recorder, policy, throttled, read)
    assert ours == reference
    assert ours[1] == ("returned", "gave up")


def test_a_first_attempt_that_succeeds_calls_no_callback(clock: Clock) -> None:
    """No after, before_sleep or wait for a call that returns at once."""
    recorder = Recorder(clock)
    policy = observed(recorder, stop=tenacity.stop_after_attempt(3))
    ours, reference = both_ways(recorder, policy, lambda _: None, read)
    assert ours == reference
    assert ours == ((("call", 0, 0.0),), ("returned", None))


def test_before_callback_runs_before_every_first_attempt() -> None:
    """A policy with a `before` callback sees each call's first attempt."""
    seen: list[int] = []
    policy = tenacity.Retrying(before=lambda state: seen.append(state.attempt_number))
    store = RetryingStore(MemoryStore(), policy)
    store.put("k", b"v")
    store.get("k")
    assert seen == [1, 1]


def test_retry_if_result_retries_the_first_result() -> None:
    """A policy retrying on a returned value retries the first call's value too."""
    inner = MemoryStore()

    def appears_on_second_read(call: Call) -> None:
        if call.op == "get" and call.n == 1:
            inner.put("k", b"late")

    calls: list[Call] = []

    def handler(call: Call) -> None:
        calls.append(call)
        appears_on_second_read(call)

    policy = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda entry: entry is None),
        stop=tenacity.stop_after_attempt(5),
    )
    entry = RetryingStore(FaultyStore(inner, handler), policy).get("k")
    assert entry is not None
    assert entry.data == b"late"
    assert len(calls) == 2


def test_lost_create_is_recognised_under_a_user_policy(clock: Clock) -> None:
    """A create whose response was lost still reads its write id back, and
    the policy's `after` sees the lost attempt as attempt 1."""
    recorder = Recorder(clock)
    inner = MemoryStore()

    def lose_first(call: Call) -> Fault | None:
        return Fault.TIMEOUT_AFTER if call == Call("put", "k", 0) else None

    policy = observed(recorder, stop=tenacity.stop_after_attempt(3), reraise=True)
    store = RetryingStore(FaultyStore(inner, timed(recorder, lose_first)), policy)
    recorder.reset()
    etag = store.put("k", b"ours", mode="create")
    stored = inner.get("k")
    assert stored is not None
    assert stored.etag == etag
    assert stored.metadata[WRITE_ID_METADATA_KEY]
    assert [(e[0], e[1]) for e in recorder.events if e[0] == "after"] == [("after", 1)]


# -- which policies skip tenacity's set-up -------------------------------------


class RetriesEmptyReads(tenacity.retry_if_exception_type):
    """A user's subclass that also retries a read that found nothing."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            return outcome.result() is None
        return super().__call__(retry_state)


def _transient() -> tenacity.retry_if_exception_type:
    return tenacity.retry_if_exception_type(TransientStoreError)


EXCEPTION_ONLY: dict[str, Any] = {
    "cloudmap default": DEFAULT.retry,
    "retry_policy": retry_policy().retry,
    "modify policy": default_modify_retry().retry,
    "fenced": refuse_fenced_retries(DEFAULT).retry,
    "retry_if_exception": tenacity.retry_if_exception(lambda _: True),
    "not exception type": tenacity.retry_if_not_exception_type(KeySyncError),
    "exception message": tenacity.retry_if_exception_message(match=".*"),
    "exception cause": tenacity.retry_if_exception_cause_type(OSError),
    "retry_never": tenacity.retry_never,
    "any": _transient() | tenacity.retry_if_exception_type(OSError),
}
NOT_EXCEPTION_ONLY: dict[str, Any] = {
    "retry_if_result": tenacity.retry_if_result(lambda entry: entry is None),
    "retry_if_not_result": tenacity.retry_if_not_result(lambda e: e is not None),
    "unless exception type": tenacity.retry_unless_exception_type(KeySyncError),
    "not exception message": tenacity.retry_if_not_exception_message(message="x"),
    "retry_always": tenacity.retry_always,
    "subclass": RetriesEmptyReads(TransientStoreError),
    "plain callable": lambda state: state.outcome.result() is None,
    "any with result": _transient() | tenacity.retry_if_result(lambda e: e is None),
    "all with result": _transient() & tenacity.retry_if_result(lambda e: e is None),
}


@pytest.mark.parametrize(
    "retry",
    list(EXCEPTION_ONLY.values()) + list(NOT_EXCEPTION_ONLY.values()),
    ids=list(EXCEPTION_ONLY) + list(NOT_EXCEPTION_ONLY),
)
def test_a_read_is_retried_exactly_when_the_policy_says(
    clock: Clock, retry: Any
) -> None:
    """Reading a missing key: as many reads and the same outcome as tenacity's."""
    recorder = Recorder(clock)
    policy = observed(recorder, retry=retry, stop=tenacity.stop_after_attempt(3))
    ours, reference = both_ways(recorder, policy, lambda _: None, read)
    assert ours == reference


@pytest.mark.parametrize(
    "retry", list(EXCEPTION_ONLY.values()), ids=list(EXCEPTION_ONLY)
)
def test_exception_based_policies_skip_the_set_up(retry: Any) -> None:
    """cloudmap's own policies and tenacity's exception strategies qualify."""
    assert exception_only(tenacity.Retrying(retry=retry))


@pytest.mark.parametrize(
    "policy",
    [tenacity.Retrying(retry=retry) for retry in NOT_EXCEPTION_ONLY.values()]
    + [
        DEFAULT.copy(before=tenacity.before_log(logging.getLogger(), logging.DEBUG)),
        DEFAULT.copy(enabled=False),
        type("MyRetrying", (tenacity.Retrying,), {})(),
    ],
    ids=[*NOT_EXCEPTION_ONLY, "before callback", "disabled", "Retrying subclass"],
)
def test_other_policies_run_under_tenacity_from_the_start(
    policy: tenacity.Retrying,
) -> None:
    """A policy that may act on a returned value is set up for every call."""
    assert not exception_only(policy)
