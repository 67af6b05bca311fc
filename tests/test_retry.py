"""Retry policies, transient-error classification and ambiguous commits."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import tenacity

from cloudmap import CloudMapping
from cloudmap.errors import (
    EtagMismatchError,
    KeyExistsError,
    KeySyncError,
    TransientStoreError,
)
from cloudmap.retry import (
    DEFAULT,
    WRITE_ID_METADATA_KEY,
    RetryingStore,
    retry_policy,
    retrying_store,
)
from cloudmap.stores import MemoryStore, Replace, Store
from cloudmap.testing import Call, Fault, FaultyStore, RandomFaults, StoreContract

StoreFactory = Callable[[], Store]


def no_sleep(policy_attempts: int = 10) -> tenacity.Retrying:
    return retry_policy(attempts=policy_attempts, jitter=0, sleep=lambda _: None)


def first(op: str, fault: Fault, times: int = 1) -> Callable[[Call], Fault | None]:
    """A handler injecting `fault` into the first `times` calls of `op`."""
    return lambda call: fault if call.op == op and call.n < times else None


# -- policies ------------------------------------------------------------------


def test_policy_backs_off_exponentially_then_reraises() -> None:
    """A call failing every time is tried `attempts` times, waits doubling."""
    slept: list[float] = []
    policy = retry_policy(attempts=5, initial=0.1, jitter=0, sleep=slept.append)
    calls = []

    def always_failing() -> None:
        calls.append(1)
        raise TransientStoreError("503")

    with pytest.raises(TransientStoreError):
        policy(always_failing)
    assert len(calls) == 5
    assert slept == pytest.approx([0.1, 0.2, 0.4, 0.8])


def test_policy_caps_each_wait_and_adds_bounded_jitter() -> None:
    """Waits never exceed max_wait plus jitter, and jitter stays within bounds."""
    slept: list[float] = []
    policy = retry_policy(
        attempts=10, initial=1, max_wait=3, jitter=0.5, sleep=slept.append
    )
    with pytest.raises(TransientStoreError):
        policy(lambda: (_ for _ in ()).throw(TransientStoreError("x")))
    floors = [1, 2, 3, 3, 3, 3, 3, 3, 3]
    assert len(slept) == 9
    assert all(f <= s <= f + 0.5 for f, s in zip(floors, slept, strict=True))


def test_default_policy_gives_up_after_five_attempts() -> None:
    """The default policy makes at most five calls and never waits over 5.1 s."""
    slept: list[float] = []
    store = FaultyStore(MemoryStore(), lambda _: TransientStoreError("throttled"))
    with pytest.raises(TransientStoreError):
        RetryingStore(store, DEFAULT.copy(sleep=slept.append)).get("k")
    assert len(slept) == 4
    assert all(0 < s <= 5.1 for s in slept)


def test_policy_stops_after_max_delay() -> None:
    """No retry starts once max_delay seconds have passed since the first call."""
    policy = retry_policy(attempts=100, max_delay=30)
    state = tenacity.RetryCallState(policy, None, (), {})
    state.attempt_number = 2
    state.outcome_timestamp = state.start_time + 29
    assert not policy.stop(state)
    state.outcome_timestamp = state.start_time + 31
    assert policy.stop(state)


def test_conflicts_are_never_retried(store: Store) -> None:
    """A KeySyncError reaches the caller after a single call."""
    calls: list[Call] = []
    etag = store.put("k", b"1")
    store.put("k", b"2")

    def record(call: Call) -> None:
        calls.append(call)

    faulty = FaultyStore(store, record)
    with pytest.raises(EtagMismatchError):
        RetryingStore(faulty, no_sleep()).put("k", b"3", mode=Replace(etag))
    assert [c.op for c in calls] == ["put"]


def test_mapping_retries_every_store_call(store: Store) -> None:
    """CloudMapping rides out two failures of each call under its policy."""
    handler = first("put", Fault.THROTTLE, 2)
    m: CloudMapping[bytes] = CloudMapping(
        FaultyStore(store, lambda c: handler(c) or first("get", Fault.RESET, 2)(c)),
        retry=no_sleep(),
    )
    m["k"] = b"v"
    assert m["k"] == b"v"


def test_mapping_without_retry_fails_on_first_fault(store: Store) -> None:
    """With retry=None a transient failure reaches the caller at once."""
    m: CloudMapping[bytes] = CloudMapping(
        FaultyStore(store, first("put", Fault.THROTTLE)), retry=None
    )
    with pytest.raises(TransientStoreError):
        m["k"] = b"v"
    assert "k" not in m


def test_retrying_stores_never_nest(store: Store) -> None:
    """A mapping built on a RetryingStore replaces its policy rather than nest."""
    calls: list[Call] = []

    def fail(call: Call) -> Fault:
        calls.append(call)
        return Fault.THROTTLE

    inner = RetryingStore(FaultyStore(store, fail), no_sleep(3))
    wrapped = retrying_store(inner, no_sleep(2))
    with pytest.raises(TransientStoreError):
        wrapped.get("k")
    assert len(calls) == 2


# -- ambiguous commits ---------------------------------------------------------


def test_replace_whose_response_was_lost_succeeds(store: Store) -> None:
    """A replace applied by the server but answered by a timeout is a success."""
    m: CloudMapping[bytes] = CloudMapping(
        FaultyStore(store, first("put", Fault.TIMEOUT_AFTER, 2)), retry=no_sleep()
    )
    m.set("k", b"old", force=True)  # the two lost responses: first put lands
    m["k"] = b"new"
    entry = store.get("k")
    assert entry is not None
    assert entry.data == b"new"
    assert m.etags["k"] == entry.etag
    m["k"] = b"newer"  # the recorded etag is the stored one
    assert m["k"] == b"newer"


def test_create_whose_response_was_lost_succeeds(store: Store) -> None:
    """A create applied but answered by a timeout is a success, not KeyExistsError."""
    m: CloudMapping[bytes] = CloudMapping(
        FaultyStore(store, first("put", Fault.TIMEOUT_AFTER)), retry=no_sleep()
    )
    m.create("k", b"v")
    entry = store.get("k")
    assert entry is not None
    assert m.etags["k"] == entry.etag
    assert entry.metadata[WRITE_ID_METADATA_KEY]


def test_delete_whose_response_was_lost_succeeds(store: Store) -> None:
    """A delete applied but answered by a timeout is a success."""
    m: CloudMapping[bytes] = CloudMapping(
        FaultyStore(store, first("delete", Fault.TIMEOUT_AFTER)), retry=no_sleep()
    )
    m["k"] = b"v"
    del m["k"]
    assert "k" not in m
    assert store.get("k") is None


def test_reset_write_that_did_not_land_is_simply_retried(store: Store) -> None:
    """A reset before the server acted is retried and applied once."""
    m: CloudMapping[bytes] = CloudMapping(
        FaultyStore(store, first("put", Fault.RESET)), retry=no_sleep()
    )
    m["k"] = b"v"
    assert m["k"] == b"v"


def test_unsent_write_then_real_conflict_is_reported(store: Store) -> None:
    """After a request that never left, a precondition failure is a real conflict."""
    etag = store.put("k", b"1")

    def handler(call: Call) -> Fault | None:
        if call.op == "put" and call.n == 0:
            store.put("k", b"theirs")  # another writer, while we time out
            return Fault.TIMEOUT_BEFORE
        return None

    with pytest.raises(EtagMismatchError):
        RetryingStore(FaultyStore(store, handler), no_sleep()).put(
            "k", b"ours", mode=Replace(etag)
        )
    entry = store.get("k")
    assert entry is not None
    assert entry.data == b"theirs"


def test_lost_write_overwritten_before_retry_is_a_conflict(store: Store) -> None:
    """If another writer replaces our landed write before the retry, we see a conflict."""
    etag = store.put("k", b"1")

    def handler(call: Call) -> Fault | None:
        if call.op == "put" and call.n == 0:
            return Fault.TIMEOUT_AFTER
        if call.op == "put" and call.n == 1:
            store.put("k", b"theirs")
        return None

    with pytest.raises(EtagMismatchError):
        RetryingStore(FaultyStore(store, handler), no_sleep()).put(
            "k", b"ours", mode=Replace(etag)
        )


def test_create_racing_a_lost_response_from_another_writer(store: Store) -> None:
    """A create whose first attempt did not land meets the other's object: conflict."""

    def handler(call: Call) -> Fault | None:
        if call.op == "put" and call.n == 0:
            store.put("k", b"theirs", mode="create")
            return Fault.RESET  # ambiguous to us, but our request never applied
        return None

    with pytest.raises(KeyExistsError):
        RetryingStore(FaultyStore(store, handler), no_sleep()).put(
            "k", b"ours", mode="create"
        )


def test_unsent_delete_of_object_deleted_by_another_is_a_conflict(
    store: Store,
) -> None:
    """A delete whose first request never left does not claim another's delete."""
    etag = store.put("k", b"1")

    def handler(call: Call) -> Fault | None:
        if call.op == "delete" and call.n == 0:
            store.delete("k")
            return Fault.TIMEOUT_BEFORE
        return None

    with pytest.raises(KeySyncError):
        RetryingStore(FaultyStore(store, handler), no_sleep()).delete(
            "k", if_match=etag
        )


def test_listing_retried_yields_each_key_once(store: Store) -> None:
    """A listing that fails is restarted without repeating keys."""
    for i in range(5):
        store.put(f"k{i}", b"v")
    retrying = RetryingStore(
        FaultyStore(store, first("list", Fault.SERVER_ERROR, 2)), no_sleep()
    )
    assert [item.key for item in retrying.list()] == [f"k{i}" for i in range(5)]


# -- the store contract holds under faults -------------------------------------


@pytest.fixture
def faults() -> RandomFaults:
    return RandomFaults(0.1, seed=7)


class TestRetryingStoreUnderFaults(StoreContract):
    """Every store, behind 10% injected faults and a RetryingStore, keeps the contract."""

    @pytest.fixture
    def store_factory(
        self, store_factory: StoreFactory, faults: RandomFaults
    ) -> StoreFactory:
        return lambda: RetryingStore(FaultyStore(store_factory(), faults), no_sleep(30))

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Iterator[Store]:
        client = store_factory()
        yield client
        client.close()


# -- classification ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "unknown"),
    [
        (Fault.SERVER_ERROR, True),
        (Fault.THROTTLE, False),
        (Fault.RESET, True),
        (Fault.TIMEOUT_BEFORE, False),
        (Fault.TIMEOUT_AFTER, True),
    ],
)
def test_injected_faults_tell_whether_the_server_acted(
    fault: Fault, unknown: bool
) -> None:
    """Throttling and unsent requests are known unapplied; the others are ambiguous."""
    assert fault.error(Call("put", "k", 0)).may_have_applied is unknown
