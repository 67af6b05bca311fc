"""The error hierarchy: what each error is, carries and says."""

from __future__ import annotations

import pickle

import pytest

from cloudmap.errors import (
    BulkError,
    CloudMapError,
    CodecError,
    ConfigError,
    EtagMismatchError,
    FencedError,
    KeyExistsError,
    KeySyncError,
    LockLost,
    LockTimeout,
    ReplicationError,
    StoreError,
    TransientStoreError,
)


@pytest.mark.parametrize("cls", [KeySyncError, KeyExistsError, EtagMismatchError])
def test_conflicts_are_not_key_errors(cls: type[KeySyncError]) -> None:
    """A conflict is a CloudMapError but never a KeyError or LookupError."""
    exc = cls("k", expected_etag='"1"', actual_etag='"2"', store="memory://x")
    assert isinstance(exc, CloudMapError)
    assert not isinstance(exc, LookupError)


def test_conflict_carries_and_names_key_etags_and_store() -> None:
    """KeySyncError's attributes and message name the key, both etags and the store."""
    exc = EtagMismatchError(
        "jobs/1", expected_etag='"a"', actual_etag='"b"', store="s3://b"
    )
    assert (exc.key, exc.expected_etag, exc.actual_etag, exc.store) == (
        "jobs/1",
        '"a"',
        '"b"',
        "s3://b",
    )
    for part in ("'jobs/1'", "'\"a\"'", "'\"b\"'", "s3://b"):
        assert part in str(exc)


def test_deleted_and_existing_keys_have_their_own_messages() -> None:
    """A vanished object and a refused create say so plainly."""
    assert "deleted" in str(EtagMismatchError("k", expected_etag='"a"'))
    assert "already exists" in str(KeyExistsError("k", store="file:///x"))


@pytest.mark.parametrize("cls", [KeySyncError, KeyExistsError, EtagMismatchError])
def test_conflicts_survive_pickling(cls: type[KeySyncError]) -> None:
    """Conflicts cross process boundaries (multiprocessing) with their attributes."""
    exc = cls("k", expected_etag='"1"', actual_etag='"2"', store="memory://x")
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is cls
    assert (copy.key, copy.expected_etag, copy.actual_etag, copy.store, str(copy)) == (
        "k",
        '"1"',
        '"2"',
        "memory://x",
        str(exc),
    )


def test_value_errors_are_value_errors() -> None:
    """CodecError and ConfigError can be caught as ValueError."""
    assert issubclass(CodecError, ValueError)
    assert issubclass(ConfigError, ValueError)
    assert issubclass(TransientStoreError, StoreError)


def test_bulk_error_lists_failed_keys() -> None:
    """BulkError maps keys to errors, keeps results and summarises them."""
    errors = {f"k{i}": KeyError(f"k{i}") for i in range(7)}
    exc = BulkError(errors, results={"ok": 1})
    assert exc.errors == errors
    assert exc.results == {"ok": 1}
    assert str(exc).startswith("7 key(s) failed: 'k0': KeyError")
    assert str(exc).endswith("and 2 more")


def test_replication_error_reports_applied_and_failed_replicas() -> None:
    """ReplicationError says which replicas hold the change and which do not."""
    exc = ReplicationError("k", {"local": None, "s3": TransientStoreError("down")})
    assert exc.applied == ["local"]
    assert exc.failed == ["s3"]
    assert "repair()" in str(exc)


def test_lease_errors_name_key_and_tokens_and_survive_pickling() -> None:
    """FencedError (a KeySyncError), LockLost and LockTimeout say what happened."""
    fenced = FencedError("state", token=1, fence=2, actual_etag='"9"', store="s3://b")
    lost = LockLost("locks/job", 3, "its ttl passed before renew")
    timeout = LockTimeout("lock 'job' was not acquired within 5 s")
    assert isinstance(fenced, KeySyncError)
    assert isinstance(timeout, TimeoutError)
    for part in ("'state'", "token 2", "token 1", "s3://b"):
        assert part in str(fenced)
    assert "'locks/job' (token 3) was lost: its ttl passed" in str(lost)
    for exc in (fenced, lost, timeout):
        copy = pickle.loads(pickle.dumps(exc))
        assert (type(copy), str(copy)) == (type(exc), str(exc))
    copy = pickle.loads(pickle.dumps(fenced))
    assert (copy.key, copy.token, copy.fence, copy.actual_etag) == (
        "state",
        1,
        2,
        '"9"',
    )
