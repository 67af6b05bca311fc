"""Leases with fencing tokens on every store, timed by an injected clock.

The clock is shared by every lease of a test, and the injected sleep moves it
forward, so expiry and takeover are checked without waiting. The tests that
need real processes (kill, SIGSTOP) are in tests/test_lease_processes.py.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

from cloudmap import (
    CloudMapping,
    FencedError,
    KeySyncError,
    Lease,
    LockLost,
    LockTimeout,
    codecs,
)
from cloudmap.errors import CodecError
from cloudmap.fencing import FENCE_METADATA_KEY
from cloudmap.lease import LOCK_PREFIX
from tests import lease_workers

if TYPE_CHECKING:
    from cloudmap.stores import Store
    from tests.conftest import StoreFactory

TTL = 10.0
POLL = 0.5


class FakeClock:
    """A monotonic clock that moves only when told to (or when slept on)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def mapping(factory: StoreFactory) -> CloudMapping[Any]:
    return CloudMapping(factory(), codec=codecs.json(), sync_initially=False)


def lease_of(m: CloudMapping[Any], clock: FakeClock, **kwargs: Any) -> Lease:
    options: dict[str, Any] = {"ttl": TTL, "poll": POLL, **kwargs}
    return m.lock("job", clock=clock, sleep=clock.sleep, **options)


def lock_body(store: Store, name: str = "job") -> dict[str, Any]:
    entry = store.get(LOCK_PREFIX + name)
    assert entry is not None
    body: dict[str, Any] = json.loads(entry.data)
    return body


def test_tokens_grow_by_one_per_holder_and_release_keeps_the_object(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """Three holders in turn get tokens 1, 2, 3; release writes state=released."""
    m = mapping(store_factory)
    tokens = []
    for _ in range(3):
        with lease_of(mapping(store_factory), clock) as lease:
            assert lease.held
            tokens.append(lease.token)
            assert lock_body(m.store)["state"] == "held"
        assert not lease.held
        assert lock_body(m.store) | {"holder": "", "beat": 0} == {
            "token": lease.token,
            "state": "released",
            "ttl": TTL,
            "holder": "",
            "beat": 0,
        }
    assert tokens == [1, 2, 3]
    assert clock.slept == []  # a released lock is taken at once


def test_held_lock_is_taken_over_only_after_ttl_unchanged(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """A holder that stops renewing is replaced within [ttl, ttl + poll] of the first look."""
    first = lease_of(mapping(store_factory), clock)
    assert first.acquire()
    contender = lease_of(mapping(store_factory), clock)
    assert not contender.acquire(blocking=False)
    clock.now += TTL - 0.01
    assert not contender.acquire(blocking=False)  # still unchanged for < ttl
    clock.now = 100.0
    started = clock()
    assert contender.acquire()
    assert TTL <= clock() - started <= TTL + POLL
    assert (first.token, contender.token) == (1, 2)
    assert not first.held


def test_renewal_restarts_the_contenders_wait(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """Each renewal changes the lock object, so a contender's ttl starts over."""
    holder = lease_of(mapping(store_factory), clock)
    holder.acquire()
    contender = lease_of(mapping(store_factory), clock)
    for _ in range(3):
        assert not contender.acquire(blocking=False)
        clock.now += TTL * 0.9
        holder.renew()
        assert holder.held
    assert not contender.acquire(blocking=False)
    assert lock_body(store_factory())["beat"] == 3


def test_renew_and_release_after_the_deadline_raise_lock_lost(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """Past its ttl a lease is not held; renew() and release() raise LockLost."""
    lease = lease_of(mapping(store_factory), clock)
    lease.acquire()
    clock.now += TTL
    assert not lease.held
    with pytest.raises(LockLost, match="ttl passed"):
        lease.renew()
    with pytest.raises(LockLost):
        lease.release()
    assert lock_body(store_factory())["state"] == "held"  # nothing was written


def test_renew_and_release_after_a_takeover_raise_lock_lost(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """A holder whose lock was taken over cannot renew or release it.

    The old holder's clock stands still (as if it ran slow), so only the
    conditional write can tell it that the lock changed hands.
    """
    old = lease_of(mapping(store_factory), FakeClock())
    old.acquire()
    new = lease_of(mapping(store_factory), clock)
    new.acquire()
    assert old.held  # its own clock says so
    with pytest.raises(LockLost, match="another holder"):
        old.renew()
    with pytest.raises(LockLost, match="another holder"):
        old.release()
    assert lock_body(store_factory())["token"] == 2
    assert new.held


def test_timeout_raises_lock_timeout(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """A held lock not acquired within `timeout` raises LockTimeout (a TimeoutError)."""
    holder = lease_of(mapping(store_factory), clock, auto_renew=False)
    holder.acquire()
    waiting = lease_of(mapping(store_factory), clock, timeout=2.0)
    with pytest.raises(LockTimeout, match=r"within 2\.0 s") as caught, waiting:
        pass
    assert isinstance(caught.value, TimeoutError)
    assert sum(clock.slept) == pytest.approx(2.0)
    assert not waiting.acquire(timeout=0)


def test_fenced_writes_follow_kleppmanns_model(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """A lapsed holder's fenced write is accepted until the new holder writes, then refused."""
    old_m, new_m = mapping(store_factory), mapping(store_factory)
    old = lease_of(old_m, clock)
    old.acquire()
    old_m.modify("state", lease_workers.append_token(1), default=[], fence=old)
    new = lease_of(new_m, clock)
    new.acquire()
    assert not old.held
    # Accepted: the new holder has not written the key yet.
    old_m.modify("state", lease_workers.append_token(1), fence=old)
    new_m.modify("state", lease_workers.append_token(2), fence=new)
    with pytest.raises(FencedError) as refused:
        old_m.modify("state", lease_workers.append_token(1), fence=old)
    assert isinstance(refused.value, KeySyncError)
    assert (refused.value.token, refused.value.fence) == (1, 2)
    entry = new_m.store.get("state")
    assert entry is not None
    assert json.loads(entry.data) == [1, 1, 2]
    assert entry.metadata[FENCE_METADATA_KEY] == "2"


def test_fence_of_a_never_acquired_lease_is_refused(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """modify(fence=lease) needs a lease that was acquired at least once."""
    m = mapping(store_factory)
    with pytest.raises(ValueError, match="never acquired"):
        m.modify("state", lambda v: v, default=0, fence=lease_of(m, clock))


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"token": 1, "state": "odd", "ttl": 1, "holder": "x"}'],
    ids=["not-json", "unknown-state"],
)
def test_a_foreign_lock_object_raises_codec_error(
    store_factory: StoreFactory, clock: FakeClock, body: bytes
) -> None:
    """A lock object that is not a lease's JSON names its key instead of being taken."""
    store = store_factory()
    store.put(LOCK_PREFIX + "job", body)
    with pytest.raises(CodecError, match=r"\.cloudmap-locks/job"):
        lease_of(mapping(store_factory), clock).acquire()


def test_auto_renew_keeps_the_lease_past_its_ttl(store_factory: StoreFactory) -> None:
    """With auto_renew, a lease stays held for two ttls and a contender cannot take it."""
    # 2 s: a renewal (every ttl/3) may wait a second on a loaded machine.
    ttl = max(2.0, getattr(store_factory(), "min_lock_ttl", 0.0))
    m = mapping(store_factory)
    with m.lock("job", ttl=ttl, auto_renew=True) as lease:
        threading.Event().wait(ttl * 1.7)
        assert lease.held
        assert lock_body(m.store)["beat"] >= 1
        assert not mapping(store_factory).lock("job", ttl=ttl).acquire(blocking=False)
    assert lock_body(m.store)["state"] == "released"


def test_locked_read_increment_write_is_exact(store_factory: StoreFactory) -> None:
    """4 threads, each with its own clients, bump a counter under the lock: exact."""
    threads = 4
    barrier = threading.Barrier(threads)
    ttl = max(TTL, getattr(store_factory(), "min_lock_ttl", 0.0))
    results: list[list[int]] = []

    def work() -> None:
        results.append(
            lease_workers.increment(store_factory, 1, ttl, locked=True, barrier=barrier)
        )

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert sorted(t for tokens in results for t in tokens) == [1, 2, 3, 4]
    assert lease_workers.blind(store_factory)[lease_workers.COUNTER] == threads


def test_unlocked_read_increment_write_loses_updates(
    store_factory: StoreFactory,
) -> None:
    """The control run: the same 4 threads without the lock lose updates."""
    threads = 4
    barrier = threading.Barrier(threads)
    pool = [
        threading.Thread(
            target=lease_workers.increment,
            args=(store_factory, 1, TTL),
            kwargs={"locked": False, "barrier": barrier},
        )
        for _ in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert lease_workers.blind(store_factory)[lease_workers.COUNTER] < threads


def test_ttl_and_poll_must_be_positive(clock: FakeClock) -> None:
    """A zero ttl or poll is refused with the lock's name."""
    from cloudmap.stores import MemoryStore  # noqa: PLC0415

    m: CloudMapping[Any] = CloudMapping(MemoryStore())
    with pytest.raises(ValueError, match="'job'"):
        m.lock("job", ttl=0)
    with pytest.raises(ValueError, match="'job'"):
        m.lock("job", ttl=1, poll=0)


@pytest.mark.emulator
def test_gcs_requires_a_ttl_of_three_seconds(gcs_store_factory: StoreFactory) -> None:
    """GCS allows about one write per second per object: a shorter ttl is refused."""
    m = mapping(gcs_store_factory)
    with pytest.raises(ValueError, match=r"needs ttl >= 3 s, not 2.5"):
        m.lock("job", ttl=2.5)
    assert m.lock("job", ttl=3).ttl == 3


def test_release_inside_the_with_block_is_allowed(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """Releasing early inside `with` is not an error on exit; releasing twice is."""
    with lease_of(mapping(store_factory), clock) as lease:
        lease.release()
    assert lock_body(store_factory())["state"] == "released"
    with pytest.raises(RuntimeError, match="not held"):
        lease.release()


def test_a_lost_lease_raises_on_leaving_the_with_block(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    """A `with` block that outlived its lease ends with LockLost."""
    with (
        pytest.raises(LockLost, match="ttl passed"),
        lease_of(mapping(store_factory), clock),
    ):
        clock.now += TTL


def test_auto_renew_retries_failed_renewals_and_stops_at_the_deadline() -> None:
    """Renewals failing on a 500 are tried every ttl/3 until the deadline, then no more."""
    from cloudmap.stores import MemoryStore  # noqa: PLC0415
    from cloudmap.testing import (  # noqa: PLC0415
        Call,
        Fault,
        FaultyStore,
    )

    renewals: list[Call] = []

    def renewals_fail(call: Call) -> Fault | None:
        if call.op != "put" or call.n == 0:
            return None
        renewals.append(call)
        return Fault.SERVER_ERROR

    store = FaultyStore(MemoryStore(), renewals_fail)
    m: CloudMapping[Any] = CloudMapping(store, retry=None, sync_initially=False)
    lease = m.lock("job", ttl=1.5, auto_renew=True)
    assert lease.acquire()
    renewer = next(t for t in threading.enumerate() if t.name == "cloudmap-lease-job")
    renewer.join(timeout=30)
    assert not renewer.is_alive()
    assert not lease.held
    assert len(renewals) >= 2  # at ttl/3 and 2 ttl/3; none once the deadline passed
    with pytest.raises(LockLost):
        lease.release()
    failed = lock_body(store)
    assert (failed["beat"], failed["state"]) == (0, "held")
