"""ReplicatedMapping: one mapping over several stores, none left behind silently.

Writes and deletes go to every replica in order, each replica conditioning on
its own etags and encoding with its own codec; reads come from the first
replica, or the next one when it fails transiently. A write that reaches only
some replicas raises `ReplicationError` naming them, and `repair()` copies the
primary's state onto the replicas that differ.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import tenacity

from cloudmap.codecs import Codec
from cloudmap.errors import (
    CloudMapError,
    ReplicationError,
    StoreError,
    TransientStoreError,
)
from cloudmap.mapping import CloudMapping
from cloudmap.retry import DEFAULT
from cloudmap.store import Store

__all__ = ["RepairReport", "ReplicatedMapping"]

_log = logging.getLogger(__name__)

_STRIPES = 64

Etags = tuple[str | None, ...]


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


class ReplicatedMapping(MutableMapping[str, Any]):
    """A mapping kept on several stores: the first is the primary.

    Args:
        replicas: the primary first, then the others; each a `CloudMapping`
            (keeping its own codec and retry policy) or a `Store`.
        retry: the policy for replicas given as stores (see `cloudmap.retry`).
        codec: the codec for replicas given as stores.
        read_fallback: when a replica fails a read transiently, read the next.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> m = ReplicatedMapping([MemoryStore("a"), MemoryStore("b")])
        >>> m["k"] = b"v"
        >>> m.replicas[1]["k"], m.lagging()
        (b'v', {})
    """

    def __init__(
        self,
        replicas: Sequence[CloudMapping[Any] | Store],
        *,
        retry: tenacity.Retrying | None = DEFAULT,
        codec: Codec | None = None,
        read_fallback: bool = True,
    ) -> None:
        if not replicas:
            raise ValueError("a ReplicatedMapping needs at least one replica")
        self._replicas: tuple[CloudMapping[Any], ...] = tuple(
            r
            if isinstance(r, CloudMapping)
            else CloudMapping(r, codec=codec, retry=retry)
            for r in replicas
        )
        self._names = _unique_names([r.store.name for r in self._replicas])
        self.read_fallback = read_fallback
        # Per key, the etags of each replica last known to hold equal values,
        # so that lagging() reads only the objects that changed since.
        self._agreed: dict[str, Etags] = {}
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]

    @property
    def replicas(self) -> tuple[CloudMapping[Any], ...]:
        """The replicas, primary first."""
        return self._replicas

    @property
    def names(self) -> tuple[str, ...]:
        """The replicas' names, as `ReplicationError` and `lagging()` report them."""
        return self._names

    @property
    def primary(self) -> CloudMapping[Any]:
        """The first replica: reads come from it, and `repair()` copies from it."""
        return self._replicas[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {', '.join(self._names)}>"

    def _stripe(self, key: str) -> threading.Lock:
        # Writes of one key through this object reach the replicas in one order.
        return self._stripes[hash(key) % _STRIPES]

    # -- the mapping protocol -------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        failure: TransientStoreError | None = None
        for name, replica in zip(self._names, self._replicas, strict=True):
            try:
                return replica[key]
            except TransientStoreError as exc:
                if not self.read_fallback:
                    raise
                _log.warning("reading %r from %s failed: %s", key, name, exc)
                failure = exc
        assert failure is not None  # noqa: S101 - the loop ran at least once
        raise failure

    def __setitem__(self, key: str, value: Any) -> None:
        self._apply(key, lambda replica, _: replica.__setitem__(key, value))

    def __delitem__(self, key: str) -> None:
        # The primary's etag table decides whether the key exists (KeyError);
        # another replica may hold the key without knowing it, so it looks.
        self._apply(
            key,
            lambda replica, index: (
                replica.__delitem__(key) if index == 0 else _delete(replica, key)
            ),
        )

    def __contains__(self, key: object) -> bool:
        return key in self.primary

    def __iter__(self) -> Iterator[str]:
        return iter(self.primary)

    def __len__(self) -> int:
        return len(self.primary)

    def _apply(self, key: str, op: Callable[[CloudMapping[Any], int], None]) -> None:
        """Run `op` on every replica in order, then report those it missed."""
        outcomes: dict[str, BaseException | None] = {}
        with self._stripe(key):
            for index, (name, replica) in enumerate(
                zip(self._names, self._replicas, strict=True)
            ):
                try:
                    op(replica, index)
                except StoreError as exc:
                    outcomes[name] = exc
                except Exception as exc:
                    # On the primary, a conflict, a missing key or a bad value
                    # stops the write before any replica is touched.
                    if index == 0:
                        raise
                    outcomes[name] = exc
                else:
                    outcomes[name] = None
            if any(exc is not None for exc in outcomes.values()):
                self._agreed.pop(key, None)
                raise ReplicationError(key, outcomes)
            self._agreed[key] = tuple(r.etags.get(key) for r in self._replicas)

    # -- synchronisation and repair --------------------------------------------

    def sync_with_cloud(self, key: str | None = None) -> None:
        """Refresh every replica's etags, all of them or just `key`'s."""
        for replica in self._replicas:
            replica.sync_with_cloud(key)

    def _listings(self) -> dict[str, Etags]:
        """Each key of any replica, with the etag each replica lists for it."""
        listings = []
        for replica in self._replicas:
            cut = len(replica.key_prefix)
            listings.append(
                {
                    item.key[cut:]: item.etag
                    for item in replica.store.list(replica.key_prefix)
                }
            )
        keys = sorted(set().union(*listings))
        return {key: tuple(listing.get(key) for listing in listings) for key in keys}

    def _compare(self, key: str, etags: Etags) -> tuple[list[str], Any]:
        """Names of the replicas whose value differs from the primary's, and that.

        The primary's value is `_AGREED` when the etags show nothing changed.
        """
        if self._agreed.get(key) == etags:
            return [], _AGREED
        values = [
            _ABSENT if etag is None else _read(replica, key)
            for replica, etag in zip(self._replicas, etags, strict=True)
        ]
        differing = [
            name
            for name, value in zip(self._names[1:], values[1:], strict=True)
            if value is _UNREADABLE or value != values[0]
        ]
        if not differing and values[0] is not _UNREADABLE:
            self._agreed[key] = etags
        return differing, values[0]

    def lagging(self) -> dict[str, list[str]]:
        """Keys whose replicas differ from the primary, with those replicas' names.

        Lists every replica once, then reads only objects whose etags changed
        since they were last seen equal (etags differ across providers, so the
        decoded values are compared).
        """
        found = {}
        for key, etags in self._listings().items():
            differing, _ = self._compare(key, etags)
            if differing:
                found[key] = differing
        return found

    def repair(
        self, *, progress: Callable[[int, int], None] | None = None
    ) -> RepairReport:
        """Copy the primary's value (or absence) onto every replica that differs.

        Replicas are overwritten unconditionally: run it while writers are quiet.

        Args:
            progress: called with (keys done, keys to repair) after each key.
        """
        lagging = {}
        for key, etags in self._listings().items():
            differing, source = self._compare(key, etags)
            if differing:
                lagging[key] = (differing, source)
        by_name = dict(zip(self._names, self._replicas, strict=True))
        copied: list[tuple[str, str]] = []
        deleted: list[tuple[str, str]] = []
        failed: dict[tuple[str, str], BaseException] = {}
        for done, (key, (names, source)) in enumerate(lagging.items(), 1):
            for name in names:
                replica = by_name[name]
                try:
                    with self._stripe(key):
                        if source is _UNREADABLE:
                            _read_or_raise(self.primary, key)
                        elif source is _ABSENT:
                            _delete(replica, key)
                            deleted.append((key, name))
                        else:
                            replica.set(key, source, force=True)
                            copied.append((key, name))
                except CloudMapError as exc:
                    failed[key, name] = exc
            if progress is not None:
                progress(done, len(lagging))
        return RepairReport(len(lagging), tuple(copied), tuple(deleted), failed)

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Close every replica."""
        for replica in self._replicas:
            replica.close()

    def __enter__(self) -> ReplicatedMapping:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_ABSENT: Any = _Marker("<absent>")
_UNREADABLE: Any = _Marker("<unreadable>")
_AGREED: Any = _Marker("<agreed>")


def _read(replica: CloudMapping[Any], key: str) -> Any:
    """The latest decoded value of `key` in `replica`, or a marker."""
    entry = replica.store.get(replica.key_prefix + key)
    if entry is None:
        return _ABSENT
    try:
        return replica.codec.loads(entry.data, key=key, metadata=entry.metadata)
    except CloudMapError:
        return _UNREADABLE


def _read_or_raise(replica: CloudMapping[Any], key: str) -> None:
    """Raise the CodecError that made `key` unreadable in `replica`."""
    entry = replica.store.get(replica.key_prefix + key)
    if entry is not None:
        replica.codec.loads(entry.data, key=key, metadata=entry.metadata)


def _delete(replica: CloudMapping[Any], key: str) -> None:
    """Delete `key` from `replica`, learning its etag first if it was not held."""
    if key not in replica:
        replica.sync_with_cloud(key)
        if key not in replica:
            return
    del replica[key]


def _unique_names(names: list[str]) -> tuple[str, ...]:
    """Suffix repeated names with `#2`, `#3`... so that each names one replica."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return tuple(unique)
