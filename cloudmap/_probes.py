"""The probes behind `cloudmap.verify`: one per guarantee, each on its own scratch key.

Every probe first writes its key unconditionally (twice when it needs a stale
etag), then sends the one conditional request it is about and judges the
answer. A probe never reads back and decides: the server's own answer to the
conditional request is what is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from cloudmap.errors import (
    AccessDeniedError,
    CloudMapError,
    ContainerNotFoundError,
    KeySyncError,
    ReadOnlyError,
    StoreError,
    TransientStoreError,
)
from cloudmap.stores._protocol import Replace

if TYPE_CHECKING:
    from cloudmap.stores._protocol import Store

__all__ = [
    "PROBES",
    "Check",
    "Probe",
    "Scratch",
    "Status",
    "SupportsUploadThreshold",
    "run_probe",
]

Status = Literal["honoured", "ignored", "refused", "error"]

LARGE_PROBE_THRESHOLD = 64
"""Bytes: the large-value probe sends values just over this through a store copy."""


@dataclass(frozen=True)
class Check:
    """One guarantee and what the server did with it.

    Attributes:
        name: a short identifier, such as `delete-stale`.
        guarantee: what cloudmap relies on, in one sentence.
        status: `honoured`; `ignored` (a request went through that should not
            have); `refused` (the server rejects the conditional request
            itself); `error` (the probe could not run: network, permissions).
        detail: what was seen, when not honoured.
    """

    name: str
    guarantee: str
    status: Status
    detail: str = ""


@runtime_checkable
class SupportsUploadThreshold(Protocol):
    """A store with a separate path for large values (multipart, blocks, resumable)."""

    def with_upload_threshold(self, size: int) -> Store:
        """A copy of this store whose large-value path starts above `size` bytes."""
        ...


class Scratch:
    """Scratch keys under one reserved prefix, remembered so they can be removed."""

    def __init__(self, store: Store, base: str) -> None:
        self.store = store
        self.base = base
        self.keys: list[str] = []

    def key(self, name: str) -> str:
        """A fresh scratch key, remembered for cleanup."""
        key = f"{self.base}{name}"
        self.keys.append(key)
        return key

    def stale(
        self, name: str, store: Store | None = None, size: int = 0
    ) -> tuple[str, str, str]:
        """Write a key twice, different bytes; return key, stale etag, current etag."""
        target = store or self.store
        key = self.key(name)
        first = target.put(key, _payload(b"1", size))
        second = target.put(key, _payload(b"2", size))
        return key, first, second


def _payload(tag: bytes, size: int) -> bytes:
    """`size` bytes of `tag` (one-byte tags), or a short value when `size` is 0."""
    return tag * size if size else b"cloudmap-verify " + tag


@dataclass(frozen=True)
class Probe:
    """A named guarantee and the function that tests it against scratch keys."""

    name: str
    guarantee: str
    run: Callable[[Scratch], Check | None]


GUARANTEES = {
    "create-only": "a create-only write is refused when the key exists",
    "replace-stale": "a write conditioned on a stale etag is refused",
    "delete-stale": "a delete conditioned on a stale etag is refused",
    "read-if-match": "a read conditioned on a stale etag is refused",
    "read-if-none-match": (
        "a read conditioned on the current etag answers 'not modified'"
    ),
    "listing": "a listing shows a just-written key with its etag",
    "etag-changes": "the etag changes when the stored bytes change",
    "large-value": (
        "large-value uploads (multipart, block list, resumable) keep both conditions"
    ),
}


def _judge(probe: str, request: Callable[[], object], went: str) -> Check:
    """Send one conditional request that must be refused with a `KeySyncError`."""
    guarantee = GUARANTEES[probe]
    try:
        request()
    except KeySyncError:
        return Check(probe, guarantee, "honoured")
    except (TransientStoreError, AccessDeniedError, ContainerNotFoundError) as exc:
        return Check(probe, guarantee, "error", f"{type(exc).__name__}: {exc}")
    except StoreError as exc:
        return Check(probe, guarantee, "refused", f"the server rejected it: {exc}")
    return Check(probe, guarantee, "ignored", went)


# probe -> (the request that must be refused, given store/key/stale etag;
#           what it means when it went through)
_MUST_REFUSE: dict[str, tuple[Callable[[Store, str, str], object], str]] = {
    "create-only": (
        lambda store, key, _: store.put(key, b"3", mode="create"),
        "a create-only write replaced an existing key",
    ),
    "replace-stale": (
        lambda store, key, stale: store.put(key, b"3", mode=Replace(stale)),
        "a write conditioned on a stale etag replaced the value",
    ),
    "delete-stale": (
        lambda store, key, stale: store.delete(key, if_match=stale),
        "a delete conditioned on a stale etag went through",
    ),
    "read-if-match": (
        lambda store, key, stale: store.get(key, if_match=stale),
        "a read conditioned on a stale etag returned the new value",
    ),
}


def _must_refuse(probe: str) -> Callable[[Scratch], Check]:
    """A probe: write a key twice, then send a request on the first etag."""
    request, went = _MUST_REFUSE[probe]

    def run(scratch: Scratch) -> Check:
        key, stale, _ = scratch.stale(probe)
        return _judge(probe, lambda: request(scratch.store, key, stale), went)

    return run


def _outcome(probe: str, honoured: bool, detail: str) -> Check:
    if honoured:
        return Check(probe, GUARANTEES[probe], "honoured")
    return Check(probe, GUARANTEES[probe], "ignored", detail)


def _read_if_none_match(scratch: Scratch) -> Check:
    key = scratch.key("read-if-none-match")
    etag = scratch.store.put(key, b"cloudmap-verify")
    entry = scratch.store.get(key, if_none_match=etag)
    return _outcome(
        "read-if-none-match",
        entry is not None and entry.not_modified,
        "a read with If-None-Match on the current etag sent the whole value",
    )


def _listing(scratch: Scratch) -> Check:
    key = scratch.key("listing")
    etag = scratch.store.put(key, b"cloudmap-verify")
    listed = {item.key: item.etag for item in scratch.store.list(scratch.base)}
    seen = "missing" if key not in listed else f"etag {listed[key]!r}, not {etag!r}"
    return _outcome(
        "listing", listed.get(key) == etag, f"the listing showed the key {seen}"
    )


def _etag_changes(scratch: Scratch) -> Check:
    _, first, second = scratch.stale("etag-changes")
    return _outcome(
        "etag-changes", first != second, f"two different values got one etag {first!r}"
    )


def _large_value(scratch: Scratch) -> Check | None:
    """Both conditions through the store's large-value path, on a tiny value."""
    if not isinstance(scratch.store, SupportsUploadThreshold):
        return None
    small = scratch.store.with_upload_threshold(LARGE_PROBE_THRESHOLD)
    try:
        size = LARGE_PROBE_THRESHOLD + 1
        key, stale, _ = scratch.stale("large-value", small, size)
        data = _payload(b"3", size)
        checks = [
            _judge(
                "large-value",
                lambda: small.put(key, data, mode="create"),
                "a large create-only write replaced an existing key",
            ),
            _judge(
                "large-value",
                lambda: small.put(key, data, mode=Replace(stale)),
                "a large write conditioned on a stale etag replaced the value",
            ),
        ]
    finally:
        small.close()
    failed = [c for c in checks if c.status != "honoured"]
    if not failed:
        return checks[0]
    detail = "; ".join(c.detail for c in failed)
    return Check("large-value", checks[0].guarantee, failed[0].status, detail)


PROBES = tuple(
    Probe(name, GUARANTEES[name], run)
    for name, run in (
        *((name, _must_refuse(name)) for name in _MUST_REFUSE),
        ("read-if-none-match", _read_if_none_match),
        ("listing", _listing),
        ("etag-changes", _etag_changes),
        ("large-value", _large_value),
    )
)


def run_probe(probe: Probe, scratch: Scratch) -> Check | None:
    """Run one probe; a failure while setting it up is reported as an error."""
    try:
        return probe.run(scratch)
    except ReadOnlyError:
        raise  # no probe can run: the caller says why, once
    except CloudMapError as exc:
        detail = f"{type(exc).__name__}: {exc}"
        return Check(probe.name, probe.guarantee, "error", detail)
