"""ReplicatedMapping: one mapping over several stores, none left behind silently.

Writes and deletes go to every replica in order, each replica conditioning on
its own etags and encoding with its own codec; reads come from the first
replica, or the next one when it fails transiently. A write that reaches only
some replicas raises `ReplicationError` naming them, and `repair()` copies the
primary's state onto the replicas that differ.

Every read goes through the replica's own `CloudMapping` (its prefix, codec-tag
check and etag table). Replicas with different codecs are compared by bytes: a
replica agrees when it stores the primary's value as its own codec encodes it,
so values a codec changes on the way (a tuple stored as a JSON list) converge
after one `repair()` instead of being rewritten on every run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

import tenacity

from cloudmap._replicas import (
    AGREED,
    Etags,
    RepairReport,
    agrees,
    delete_from,
    latest,
    unique_names,
)
from cloudmap._sentinels import ABSENT, Sentinel
from cloudmap.codecs import Codec
from cloudmap.errors import (
    CloudMapError,
    CodecError,
    ReplicationError,
    StoreError,
    TransientStoreError,
)
from cloudmap.mapping import CloudMapping
from cloudmap.retry import DEFAULT
from cloudmap.stores._protocol import Store

__all__ = ["RepairReport", "ReplicatedMapping"]

_log = logging.getLogger(__name__)

_STRIPES = 64


_UNSET: Any = Sentinel("<default retry>")


class ReplicatedMapping(MutableMapping[str, Any]):
    """A mapping kept on several stores: the first is the primary.

    Args:
        replicas: the primary first, then the others; each a `CloudMapping`
            (keeping its own codec and retry policy) or a `Store`.
        retry: the policy for replicas given as stores (see `cloudmap.retry`);
            refused when any replica is a `CloudMapping`, which keeps its own.
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
        retry: tenacity.Retrying | Sentinel | None = _UNSET,
        codec: Codec | None = None,
        read_fallback: bool = True,
    ) -> None:
        if not replicas:
            raise ValueError("a ReplicatedMapping needs at least one replica")
        if retry is not _UNSET and any(isinstance(r, CloudMapping) for r in replicas):
            msg = (
                "retry= applies only to replicas given as stores, and a CloudMapping "
                "replica keeps its own policy: pass retry= to each CloudMapping instead"
            )
            raise ValueError(msg)
        policy = DEFAULT if isinstance(retry, Sentinel) else retry
        self._replicas: tuple[CloudMapping[Any], ...] = tuple(
            r
            if isinstance(r, CloudMapping)
            else CloudMapping(r, codec=codec, retry=policy)
            for r in replicas
        )
        self._names = unique_names([r.store.name for r in self._replicas])
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
                replica.__delitem__(key) if index == 0 else delete_from(replica, key)
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
        """Each key of any replica, with the etag each replica lists for it.

        Each replica's own listing (`sync_with_cloud()`) also refreshes the
        etags it holds, so `repair()` never trips over a stale one.
        """
        listings = []
        for replica in self._replicas:
            replica.sync_with_cloud()
            listings.append(dict(replica.etags))
        keys = sorted(set().union(*listings))
        return {key: tuple(listing.get(key) for listing in listings) for key in keys}

    def _compare(self, key: str, etags: Etags) -> tuple[list[str], Any]:
        """Names of the replicas that differ from the primary, and its value.

        The primary's value is `AGREED` when the etags show nothing changed,
        `ABSENT` when it lacks the key, or the `CodecError` met reading it.
        """
        if self._agreed.get(key) == etags:
            return [], AGREED
        source = latest(self.primary, key) if etags[0] is not None else ABSENT
        differing = [
            name
            for name, replica, etag in zip(
                self._names[1:], self._replicas[1:], etags[1:], strict=True
            )
            if isinstance(source, CodecError)
            or not agrees(replica, key, source, listed=etag is not None)
        ]
        if not differing and not isinstance(source, CodecError):
            self._agreed[key] = etags
        if source is ABSENT:
            return differing, ABSENT
        return differing, source if isinstance(source, CodecError) else source[1]

    def lagging(self) -> dict[str, list[str]]:
        """Keys whose replicas differ from the primary, with those replicas' names.

        Lists every replica once, then reads only objects whose etags changed
        since they were last seen equal (etags differ across stores, so the
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
                        if isinstance(source, CodecError):
                            raise source
                        if source is ABSENT:
                            delete_from(replica, key)
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
