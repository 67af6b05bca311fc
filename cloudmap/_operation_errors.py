"""The errors of operations made of many requests: bulk calls, leases, replication."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmap._error_base import CloudMapError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["BulkError", "LockLost", "LockTimeout", "ReplicationError"]


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
