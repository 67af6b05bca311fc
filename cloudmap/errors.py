"""The exceptions cloudmap raises.

```
CloudMapError
├── KeySyncError                 optimistic-concurrency failure; never a KeyError
│   ├── KeyExistsError             a create-only write found an object
│   ├── EtagMismatchError          the object changed or is gone since its etag was seen
│   └── FencedError                a fenced write found a newer lease's token on the key
├── StoreError                   the provider failed; the SDK exception is __cause__
│   ├── TransientStoreError        timeout, reset, throttling, 5xx: the only retried
│   ├── AccessDeniedError          credentials refused or missing permission
│   │   └── MissingCredentialsError  no credentials found (also a ConfigError)
│   └── ContainerNotFoundError     the bucket or container does not exist
├── NotSupportedError            a store cannot honour a request atomically
├── CodecError(ValueError)       a value cannot be encoded, or stored bytes decoded
├── ConfigError(ValueError)      a bad URL, ini file or option
│   └── MissingDependencyError     an optional SDK is absent (also an ImportError)
├── ReadOnlyError                a write on a read-only mapping
├── BulkError                    some keys of a bulk call failed; maps key -> exception
├── LockLost                     a lease expired or was taken over before renew/release
├── LockTimeout(TimeoutError)    a lease was not acquired in time
└── ReplicationError             a write reached only some replicas
```

A key missing from a mapping is a plain `KeyError(key)`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AccessDeniedError",
    "BulkError",
    "CloudMapError",
    "CodecError",
    "ConfigError",
    "ContainerNotFoundError",
    "EtagMismatchError",
    "FencedError",
    "KeyExistsError",
    "KeySyncError",
    "LockLost",
    "LockTimeout",
    "MissingCredentialsError",
    "MissingDependencyError",
    "NotSupportedError",
    "ReadOnlyError",
    "ReplicationError",
    "StoreError",
    "TransientStoreError",
    "conflict",
]


class CloudMapError(Exception):
    """Base class of every cloudmap exception.

    Every subclass pickles with its attributes, so an error raised in a worker
    process reaches the parent intact (`concurrent.futures`, `multiprocessing`).
    """

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt without calling __init__, whose arguments differ per subclass;
        # the attributes come back through the instance dict.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[CloudMapError], args: tuple[object, ...]) -> CloudMapError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


class KeySyncError(CloudMapError):
    """The server refused a read or write because the key changed under us.

    Deliberately not a `KeyError`: `mapping.get(key, default)` must never hide it.

    Attributes:
        key: the key, as the mapping names it.
        expected_etag: the etag the request was conditioned on (None for a create).
        actual_etag: the etag the server holds, when known; None if unknown or absent.
        store: a printable name of the store.
    """

    def __init__(
        self,
        key: str,
        *,
        expected_etag: str | None = None,
        actual_etag: str | None = None,
        store: str = "",
        message: str | None = None,
    ) -> None:
        self.key = key
        self.expected_etag = expected_etag
        self.actual_etag = actual_etag
        self.store = store
        super().__init__(message or self._describe())

    def _describe(self) -> str:
        where = f" in {self.store}" if self.store else ""
        actual = f", server has {self.actual_etag!r}" if self.actual_etag else ""
        return (
            f"key {self.key!r}{where} changed since it was last seen "
            f"(expected etag {self.expected_etag!r}{actual}); "
            "call sync_with_cloud() to refresh it"
        )


class KeyExistsError(KeySyncError):
    """A create-only write found an object already stored under the key."""

    def _describe(self) -> str:
        where = f" in {self.store}" if self.store else ""
        return f"key {self.key!r}{where} already exists; a create-only write refused"


class EtagMismatchError(KeySyncError):
    """The object's etag is no longer the one expected, or the object is gone."""

    def _describe(self) -> str:
        if self.actual_etag is None:
            where = f" in {self.store}" if self.store else ""
            return (
                f"key {self.key!r}{where} was deleted since it was last seen "
                f"(expected etag {self.expected_etag!r}); "
                "call sync_with_cloud() to refresh it"
            )
        return super()._describe()


def conflict(
    key: str,
    *,
    store: str,
    expected_etag: str | None,
    actual_etag: str | None = None,
    actual_known: bool = True,
) -> KeySyncError:
    """The conflict a refused conditional write or delete reports.

    A create (`expected_etag` None) that found an object is a `KeyExistsError`;
    any other refusal is an `EtagMismatchError`. `actual_known=False` is for
    servers that refuse without saying whether the object changed or is gone.

    Examples:
        >>> type(conflict("k", store="s", expected_etag=None)).__name__
        'KeyExistsError'
        >>> error = conflict("k", store="s", expected_etag="e1", actual_known=False)
        >>> str(error).startswith("key 'k' in s changed or was deleted")
        True
    """
    if expected_etag is None:
        return KeyExistsError(key, actual_etag=actual_etag, store=store)
    message = None
    if not actual_known:
        where = f" in {store}" if store else ""
        message = (
            f"key {key!r}{where} changed or was deleted since it was last seen "
            f"(expected etag {expected_etag!r}); call sync_with_cloud() to refresh it"
        )
    return EtagMismatchError(
        key,
        expected_etag=expected_etag,
        actual_etag=actual_etag,
        store=store,
        message=message,
    )


class FencedError(KeySyncError):
    """A fenced write was refused: the key holds a fence newer than the lease's token.

    A newer holder of the lock has written the key, so this (older) holder's
    lease has lapsed; nothing was written.

    Attributes:
        token: the token of the lease the write was fenced with.
        fence: the fence stored on the key.
    """

    def __init__(
        self,
        key: str,
        *,
        token: int,
        fence: int,
        actual_etag: str | None = None,
        store: str = "",
    ) -> None:
        self.token = token
        self.fence = fence
        super().__init__(key, actual_etag=actual_etag, store=store)

    def _describe(self) -> str:
        where = f" in {self.store}" if self.store else ""
        return (
            f"key {self.key!r}{where} was written under fencing token {self.fence}, "
            f"newer than this lease's token {self.token}: the lease was lost, "
            "so the write was refused"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_fenced_error,
            (self.key, self.token, self.fence, self.actual_etag, self.store),
        )


def _rebuild_fenced_error(
    key: str, token: int, fence: int, actual_etag: str | None, store: str
) -> FencedError:
    return FencedError(
        key, token=token, fence=fence, actual_etag=actual_etag, store=store
    )


class StoreError(CloudMapError):
    """The storage provider failed; the SDK's exception is the `__cause__`."""

    def __init__(
        self, message: str, *, key: str | None = None, store: str = ""
    ) -> None:
        self.key = key
        self.store = store
        super().__init__(message)


class TransientStoreError(StoreError):
    """A failure that may succeed when retried: timeout, reset, throttling, 5xx.

    `may_have_applied` is False only when the request is known not to have been
    acted on: it never reached the server (a refused or timed-out connection) or
    the server refused it unapplied (429, 503). Otherwise a retried conditional
    write may meet its own earlier attempt, which retries must check for.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        store: str = "",
        may_have_applied: bool = True,
    ) -> None:
        self.may_have_applied = may_have_applied
        super().__init__(message, key=key, store=store)


class AccessDeniedError(StoreError):
    """The provider refused the credentials or the permission."""


class ContainerNotFoundError(StoreError):
    """The bucket or container does not exist (pass `create=True` to create it)."""


class NotSupportedError(CloudMapError):
    """The store cannot honour the request atomically, so it refuses it."""


class CodecError(CloudMapError, ValueError):
    """A value could not be encoded, or stored bytes could not be decoded."""


class ConfigError(CloudMapError, ValueError):
    """A target URL, ini file or option is invalid."""


class MissingCredentialsError(AccessDeniedError, ConfigError):
    """No credentials were found; the message says where the SDK looked.

    An `AccessDeniedError` for code that handles refused credentials, and a
    `ConfigError` because the fix is configuration (the CLI exits 2).
    """


class MissingDependencyError(ConfigError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class ReadOnlyError(CloudMapError):
    """A write was attempted on a mapping opened read-only."""


class BulkError(CloudMapError):
    """Some keys of a bulk operation failed; the others were applied.

    Attributes:
        errors: each failed key mapped to its exception.
        results: what the successful keys returned (values, for `get_many`).
    """

    def __init__(
        self,
        errors: Mapping[str, BaseException],
        *,
        results: Mapping[str, object] | None = None,
    ) -> None:
        self.errors = dict(errors)
        self.results = dict(results or {})
        shown = ", ".join(
            f"{key!r}: {type(exc).__name__}"
            for key, exc in list(self.errors.items())[:5]
        )
        more = f" and {len(self.errors) - 5} more" if len(self.errors) > 5 else ""  # noqa: PLR2004
        super().__init__(f"{len(self.errors)} key(s) failed: {shown}{more}")


class LockLost(CloudMapError):  # noqa: N818 - the name the docs and issue use
    """A lease expired, or another holder took the lock, before a renew or release.

    Attributes:
        key: the lock's name.
        token: the token of the lease that was lost.
        reason: why it was lost.
    """

    def __init__(self, key: str, token: int, reason: str) -> None:
        self.key = key
        self.token = token
        self.reason = reason
        super().__init__(f"lock {key!r} (token {token}) was lost: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.key, self.token, self.reason))


class LockTimeout(CloudMapError, TimeoutError):  # noqa: N818 - mirrors TimeoutError
    """A lease could not be acquired within the timeout given."""


class ReplicationError(CloudMapError):
    """A write or delete reached only some replicas.

    Attributes:
        key: the key written or deleted.
        outcomes: each replica's name mapped to None (applied) or its exception.
    """

    def __init__(self, key: str, outcomes: Mapping[str, BaseException | None]) -> None:
        self.key = key
        self.outcomes = dict(outcomes)
        super().__init__(
            f"key {key!r} was applied on {self.applied or 'no replica'} "
            f"but failed on {self.failed}; run repair() to bring replicas in line"
        )

    @property
    def applied(self) -> list[str]:
        """Names of the replicas that hold the change."""
        return [name for name, exc in self.outcomes.items() if exc is None]

    @property
    def failed(self) -> list[str]:
        """Names of the replicas that do not hold the change."""
        return [name for name, exc in self.outcomes.items() if exc is not None]
