"""FaultyStore and RandomFaults inject failures as a flaky server would."""

from __future__ import annotations

import importlib
import sys

import pytest

from cloudmap.errors import AccessDeniedError, EtagMismatchError, TransientStoreError
from cloudmap.stores import Replace, Store
from cloudmap.testing import Call, Fault, FaultyStore, RandomFaults, faults


def test_handler_sees_each_call_with_its_count(store: Store) -> None:
    """The handler is told the op, the key and how often it was called before."""
    calls: list[Call] = []

    def record(call: Call) -> None:
        calls.append(call)

    faulty = FaultyStore(store, record)
    faulty.put("a", b"1")
    faulty.put("a", b"2")
    faulty.get("a")
    faulty.delete("a")
    list(faulty.list("a"))
    assert calls == [
        Call("put", "a", 0),
        Call("put", "a", 1),
        Call("get", "a", 0),
        Call("delete", "a", 0),
        Call("list", "a", 0),
    ]


@pytest.mark.parametrize(
    "fault",
    [Fault.SERVER_ERROR, Fault.THROTTLE, Fault.RESET, Fault.TIMEOUT_BEFORE],
)
def test_faults_before_the_server_acted_change_nothing(
    store: Store, fault: Fault
) -> None:
    """A write failing before the server acted leaves the store untouched."""
    faulty = FaultyStore(store, lambda _: fault)
    with pytest.raises(TransientStoreError):
        faulty.put("k", b"v")
    assert store.get("k") is None


def test_timeout_after_applies_the_write(store: Store) -> None:
    """A timeout after the server acted leaves the write applied."""
    faulty = FaultyStore(store, lambda _: Fault.TIMEOUT_AFTER)
    with pytest.raises(TransientStoreError):
        faulty.put("k", b"v")
    entry = store.get("k")
    assert entry is not None
    assert entry.data == b"v"


def test_timeout_after_hides_the_servers_refusal(store: Store) -> None:
    """A refusal whose response was lost surfaces as a timeout, with the refusal as cause."""
    etag = store.put("k", b"1")
    store.put("k", b"2")
    faulty = FaultyStore(store, lambda _: Fault.TIMEOUT_AFTER)
    with pytest.raises(TransientStoreError) as info:
        faulty.put("k", b"3", mode=Replace(etag))
    assert isinstance(info.value.__context__, EtagMismatchError)


def test_handler_may_return_any_exception(store: Store) -> None:
    """An exception returned by the handler is raised as is, unsent."""
    faulty = FaultyStore(store, lambda _: AccessDeniedError("no"))
    with pytest.raises(AccessDeniedError):
        faulty.put("k", b"v")
    assert store.get("k") is None


def test_random_faults_are_reproducible() -> None:
    """The same seed draws the same faults for the same calls."""
    calls = [Call("put", f"k{i}", 0) for i in range(500)]
    once = RandomFaults(0.2, seed=3)
    first = [once(c) for c in calls]
    again = RandomFaults(0.2, seed=3)
    assert [again(c) for c in calls] == first
    assert 50 < sum(f is not None for f in first) < 150
    assert set(again.injected) == set(Fault)


def test_random_faults_respect_ops_and_rate() -> None:
    """Only the chosen operations fail, and a zero rate never fails."""
    only_puts = RandomFaults(1.0, ops=("put",), faults=[Fault.THROTTLE])
    assert only_puts(Call("get", "k", 0)) is None
    assert only_puts(Call("put", "k", 0)) is Fault.THROTTLE
    never = RandomFaults(0.0)
    assert all(never(Call("put", "k", i)) is None for i in range(100))
    with pytest.raises(ValueError, match="rate"):
        RandomFaults(1.5)


def test_old_faults_module_still_works_and_warns() -> None:
    """`cloudmap.faults` still gives the fault tools, with a DeprecationWarning."""
    sys.modules.pop("cloudmap.faults", None)
    with pytest.warns(DeprecationWarning, match="import FaultyStore.*cloudmap.testing"):
        old = importlib.import_module("cloudmap.faults")
    assert old.FaultyStore is FaultyStore
    assert old.RandomFaults is RandomFaults
    assert old.Fault is faults.Fault
