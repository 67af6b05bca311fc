"""What `ReplicatedMapping` needs to compare replicas and report a repair.

Replicas are read through their own `CloudMapping` (`latest`), and compared by
bytes or by value: a replica agrees when it stores the primary's value as its
own codec encodes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudmap._sentinels import ABSENT, Sentinel
from cloudmap.errors import CodecError
from cloudmap.mapping import CloudMapping

__all__ = [
    "AGREED",
    "Etags",
    "Latest",
    "RepairReport",
    "agrees",
    "delete_from",
    "latest",
    "unique_names",
]

Etags = tuple[str | None, ...]
"""The etag each replica lists for one key (None where it lacks the key)."""

AGREED: Any = Sentinel("<agreed>")
"""The primary's value was not read: the etags show the replicas still agree."""


@dataclass(frozen=True)
class RepairReport:
    """What `ReplicatedMapping.repair()` did.

    Attributes:
        lagging: how many keys differed between replicas.
        copied: (key, replica) pairs written from the primary's value.
        deleted: (key, replica) pairs removed because the primary lacks the key.
        failed: (key, replica) pairs still differing, with the error met.
    """

    lagging: int
    copied: tuple[tuple[str, str], ...] = ()
    deleted: tuple[tuple[str, str], ...] = ()
    failed: dict[tuple[str, str], BaseException] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every replica now matches the primary."""
        return not self.failed


Latest = tuple[bytes, Any] | CodecError
"""A replica's stored bytes and decoded value, `ABSENT`, or why it is unreadable."""


def latest(replica: CloudMapping[Any], key: str) -> Latest:
    """`key` in `replica`, read through the mapping whatever etag it held."""
    try:
        found = replica.latest(key)
    except CodecError as exc:
        return exc
    return ABSENT if found is None else found


def agrees(
    replica: CloudMapping[Any], key: str, source: Latest, *, listed: bool
) -> bool:
    """Whether `replica` holds `source`, the primary's value.

    It does when it stores the same bytes or an equal value, or the bytes its own
    codec writes for the primary's value.

    `listed` says whether the replica's listing has the key (else no read).
    """
    mine = latest(replica, key) if listed else ABSENT
    if source is ABSENT or mine is ABSENT:
        return source is mine
    if isinstance(mine, CodecError) or isinstance(source, CodecError):
        return False
    if mine[0] == source[0] or mine[1] == source[1]:
        return True
    # Values a codec changes on the way (a tuple stored as a JSON list) compare
    # as the replica's codec writes the primary's value.
    try:
        return mine[0] == replica.codec.dumps(source[1], key=key)
    except CodecError:
        return False


def delete_from(replica: CloudMapping[Any], key: str) -> None:
    """Delete `key` from `replica`, learning its etag first if it was not held."""
    if key not in replica:
        replica.sync_with_cloud(key)
        if key not in replica:
            return
    del replica[key]


def unique_names(names: list[str]) -> tuple[str, ...]:
    """Suffix repeated names with `#2`, `#3`... so that each names one replica."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return tuple(unique)
