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

from cloudmap._error_base import CloudMapError
from cloudmap._operation_errors import (
    BulkError,
    LockLost,
    LockTimeout,
    ReplicationError,
)

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


# Defined apart to keep modules small; users meet them as cloudmap.errors.*.
for _error in (CloudMapError, BulkError, LockLost, LockTimeout, ReplicationError):
    _error.__module__ = __name__


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
