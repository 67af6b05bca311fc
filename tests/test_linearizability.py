"""The linearizability checker accepts what is linearizable and rejects what is not."""

from __future__ import annotations

import random
import time
from collections.abc import Hashable

import pytest

from tests.linearizability import Operation, Recorder, check, check_per_key


def op(  # noqa: PLR0917
    kind: str, arg: Hashable, output: Hashable, call: int, ret: int, key: str = "k"
) -> Operation:
    return Operation(key, kind, arg, output, call, ret)


def test_sequential_counter_is_accepted() -> None:
    """Increments one after the other returning 1, 2, 3 are linearizable."""
    assert check([op("add", 1, n, 10 * n, 10 * n + 5) for n in (1, 2, 3)])


def test_overlapping_increments_may_take_effect_out_of_invocation_order() -> None:
    """An increment invoked first may return the larger value if the two overlap."""
    assert check([op("add", 1, 2, 0, 10), op("add", 1, 1, 5, 8)])


def test_increment_seeing_a_later_value_is_rejected() -> None:
    """An increment that finished before another began cannot return the larger value."""
    assert not check([op("add", 1, 2, 0, 10), op("add", 1, 1, 20, 30)])


def test_lost_update_is_rejected() -> None:
    """Two increments both returning 1 (a lost update) are not linearizable."""
    assert not check([op("add", 1, 1, 0, 10), op("add", 1, 1, 5, 15)])


def test_stale_read_is_rejected() -> None:
    """A read that starts after a write finished must not return the older value."""
    history = [op("write", "a", None, 0, 10), op("read", None, None, 20, 30)]
    assert not check(history)
    assert check([*history[:1], op("read", None, "a", 20, 30)])


def test_two_create_winners_are_rejected() -> None:
    """Two creates of one key cannot both win."""
    assert not check([op("create", "x", True, 0, 10), op("create", "y", True, 0, 10)])


def test_create_that_lost_before_the_winner_started_is_rejected() -> None:
    """A create cannot lose to a create that had not been invoked yet."""
    history = [op("create", "x", False, 0, 10), op("create", "y", True, 20, 30)]
    assert not check(history)
    assert check([op("create", "x", False, 0, 25), op("create", "y", True, 20, 30)])


def test_gap_in_counter_values_is_rejected() -> None:
    """Increments returning 1 and 3 skip a value and are rejected."""
    assert not check([op("add", 1, 1, 0, 10), op("add", 1, 3, 20, 30)])


def test_keys_are_checked_independently() -> None:
    """A violation on one key is reported under that key only."""
    history = [
        op("add", 1, 1, 0, 10, key="good"),
        op("add", 1, 1, 0, 10, key="bad"),
        op("add", 1, 1, 0, 10, key="bad"),
    ]
    assert check_per_key(history) == ["bad"]


def test_operation_returning_before_its_call_is_an_error() -> None:
    """A malformed history with a return before its call raises ValueError."""
    with pytest.raises(ValueError, match="returned before"):
        check([op("add", 1, 1, 10, 5)])


def test_large_concurrent_counter_history_is_checked_quickly() -> None:
    """800 heavily overlapping increments in a shuffled valid order pass in seconds."""
    rng = random.Random(7)
    history = []
    for value in range(1, 801):
        # Each increment takes effect at 10 * value and spans up to 32 others.
        effect = 10 * value
        history.append(
            op(
                "add",
                1,
                value,
                effect - rng.randrange(320),
                effect + rng.randrange(320),
            )
        )
    rng.shuffle(history)
    start = time.monotonic()
    assert check(history)
    assert time.monotonic() - start < 10


def test_recorder_times_operations_around_the_call() -> None:
    """The recorder stores the output with a call time before the return time."""
    recorder = Recorder()
    with recorder.record("k", "write", "v") as result:
        result.append(None)
    (recorded,) = recorder.history
    assert (recorded.key, recorded.kind, recorded.arg, recorded.output) == (
        "k",
        "write",
        "v",
        None,
    )
    assert recorded.call <= recorded.ret
