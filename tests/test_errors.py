"""The error hierarchy: what each error is, carries and says."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from cloudmap.errors import (
    AccessDeniedError,
    BulkError,
    CloudMapError,
    CodecError,
    ConfigError,
    ContainerNotFoundError,
    EtagMismatchError,
    FencedError,
    KeyExistsError,
    KeySyncError,
    LockLost,
    LockTimeout,
    MissingCredentialsError,
    MissingDependencyError,
    NotSupportedError,
    ReadOnlyError,
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


# -- every error crosses a process boundary with its attributes ---------------------


def _every_error() -> list[CloudMapError]:
    conflict = EtagMismatchError("k", expected_etag='"1"', store="memory://x")
    return [
        CloudMapError("base"),
        KeySyncError("k", expected_etag='"1"', actual_etag='"2"', store="memory://x"),
        KeyExistsError("k", actual_etag='"2"', store="memory://x"),
        conflict,
        StoreError("boom", key="k", store="s3://b"),
        TransientStoreError("slow down", key="k", store="s3://b"),
        AccessDeniedError("denied", key=None, store="az://c"),
        ContainerNotFoundError("no bucket", store="gs://b"),
        NotSupportedError("no conditional delete"),
        CodecError("bad bytes"),
        ConfigError("bad option"),
        ReadOnlyError("read-only"),
        MissingCredentialsError("no credentials found", store="s3://b"),
        MissingDependencyError("s3 targets need the 's3' extra"),
        BulkError({"a": conflict, "b": CodecError("x")}, results={"c": 1}),
        FencedError("state", token=1, fence=2, actual_etag='"9"', store="s3://b"),
        LockLost("locks/job", 3, "its ttl passed before renew"),
        LockTimeout("lock 'job' was not acquired within 5 s"),
        ReplicationError("k", {"memory://a": None, "memory://b": conflict}),
    ]


def _attributes(error: BaseException) -> tuple[object, ...]:
    state = {
        key: (
            {k: (type(v), str(v)) for k, v in value.items()}
            if key in {"errors", "outcomes"}
            else value
        )
        for key, value in vars(error).items()
    }
    return type(error), str(error), error.args, state


def _raise(index: int) -> None:
    raise _every_error()[index]


def test_every_error_crosses_a_process_pool() -> None:
    """Raised in a ProcessPoolExecutor worker, each error reaches the parent intact."""
    errors = _every_error()
    covered = {type(error) for error in errors}
    assert covered == {CloudMapError, *_subclasses(CloudMapError)}
    with ProcessPoolExecutor(1) as pool:
        futures = [pool.submit(_raise, index) for index in range(len(errors))]
        for error, future in zip(errors, futures, strict=True):
            received = future.exception(timeout=60)
            assert received is not None
            assert _attributes(received) == _attributes(error)
    replicated = futures[-1].exception()
    assert isinstance(replicated, ReplicationError)
    assert replicated.failed == ["memory://b"]
    bulk = futures[-5].exception()
    assert isinstance(bulk, BulkError)
    assert isinstance(bulk.errors["a"], EtagMismatchError)
    assert bulk.errors["a"].key == "k"


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        if sub.__module__ == "cloudmap.errors":
            found |= {sub, *_subclasses(sub)}
    return found
