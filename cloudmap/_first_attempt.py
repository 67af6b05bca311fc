"""Running a tenacity policy with no set-up cost when a call's first attempt succeeds.

tenacity sets up a copy of the policy, its statistics and a call state before
every call, about 14 µs: most of what cloudmap adds to a request on a fast
engine. A policy that decides from exceptions only never retries a call that
returned and calls nothing for it, so `run` makes the first attempt bare and
hands over to the policy only if it raises. The policy then goes on exactly as
if it had run from the start: that attempt is its attempt 1, its clock (the
`stop_after_delay` clock, `seconds_since_start`, `statistics["start_time"]`)
started when that attempt started, and its callbacks, waits, `reraise` and
`retry_error_callback` run as usual.

Any policy whose behaviour on a returned value cannot be known from its type
runs under tenacity from the start; see `exception_only`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

__all__ = ["exception_only", "run"]

T = TypeVar("T")

# tenacity's strategies that answer False for any returned value, whatever their
# arguments, and call no predicate for it. Exact types: tenacity's own subclasses
# retry_unless_exception_type and retry_if_not_exception_message retry a call
# that returned, and so may a user's subclass.
_EXCEPTION_ONLY: frozenset[type[object]] = frozenset(
    {
        tenacity.retry_if_exception,
        tenacity.retry_if_exception_type,
        tenacity.retry_if_not_exception_type,
        tenacity.retry_if_exception_message,
        tenacity.retry_if_exception_cause_type,
        type(tenacity.retry_never),
    }
)
_COMBINED: frozenset[type[object]] = frozenset({tenacity.retry_any, tenacity.retry_all})


def _decides_on_exceptions(retry: object) -> bool:
    if type(retry) in _COMBINED:
        # Every member, not just one: retry_all stops at its first False, so a
        # predicate on the returned value after it would otherwise be skipped.
        members: tuple[object, ...] = retry.retries  # type: ignore[attr-defined]
        return all(_decides_on_exceptions(member) for member in members)
    return type(retry) in _EXCEPTION_ONLY


def exception_only(policy: tenacity.Retrying) -> bool:
    """Whether `policy` neither retries nor calls anything when an attempt returns.

    True for a plain, enabled `tenacity.Retrying` with no `before` callback
    whose `retry` is one of tenacity's exception strategies
    (`retry_if_exception`, `retry_if_exception_type`,
    `retry_if_not_exception_type`, `retry_if_exception_message`,
    `retry_if_exception_cause_type`, `retry_never`) or a `|` / `&` of them.
    Everything else (`retry_if_result`, a subclass, a plain callable, a
    `before` callback, a `Retrying` subclass) is False.
    """
    return (
        type(policy) is tenacity.Retrying
        and getattr(policy, "enabled", True)
        and policy.before in (None, tenacity.before_nothing)
        and _decides_on_exceptions(policy.retry)
    )


def run(policy: tenacity.Retrying, fn: Callable[[], T]) -> T:
    """`fn()` under `policy`, set up only after a failed first attempt."""
    if not exception_only(policy):
        # A copy per call: the same policy may be running in this thread already
        # (modify() under a shared policy), and tenacity keeps per-thread state.
        result: T = policy.copy()(fn)
        return result
    started = time.monotonic()
    try:
        return fn()
    except BaseException as exc:  # noqa: BLE001 - the policy decides, as tenacity's loop does
        failure = exc
        failed_at = time.monotonic()
    # Resumed outside the except block, so that no later error chains to this one.
    return _resume(policy, fn, started, failure, failed_at)


def _resume(
    policy: tenacity.Retrying,
    fn: Callable[[], T],
    started: float,
    failure: BaseException,
    failed_at: float,
) -> T:
    """Continue `policy` from a first attempt that started at `started` and raised."""
    retrying = policy.copy()
    retrying.begin()
    retrying.statistics["start_time"] = started
    state = tenacity.RetryCallState(retrying, fn, (), {})
    state.start_time = started
    state.set_exception((type(failure), failure, failure.__traceback__))
    state.outcome_timestamp = failed_at
    # tenacity.Retrying.__call__'s loop, entered at its first outcome (`run`
    # resumes plain `tenacity.Retrying` objects only, whose loop this is).
    while True:
        do = retrying.iter(retry_state=state)
        if isinstance(do, tenacity.DoAttempt):
            try:
                value = fn()
            except BaseException as exc:  # noqa: BLE001 - as above
                state.set_exception((type(exc), exc, exc.__traceback__))
            else:
                state.set_result(value)
        elif isinstance(do, tenacity.DoSleep):
            state.prepare_for_next_attempt()
            retrying.sleep(do)
        else:
            resumed: T = do
            return resumed
