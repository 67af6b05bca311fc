"""MemoryStore: the thread-safe reference implementation of the Store protocol."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from cloudmap.errors import EtagMismatchError
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    check_mode,
    check_precondition,
    replace_or_overwrite,
    validate_key,
)

__all__ = ["MemoryStore"]


class MemoryStore:
    """Objects held in a dict; every other store is tested against its behaviour.

    Examples:
        >>> store = MemoryStore()
        >>> etag = store.put("a", b"1", mode="create")
        >>> store.get("a").data
        b'1'
    """

    def __init__(self, label: str = "") -> None:
        self._label = label
        self._objects: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    @property
    def name(self) -> str:
        """`memory://` followed by the label given at construction."""
        return f"memory://{self._label}"

    def __repr__(self) -> str:
        return f"MemoryStore({self._label!r})"

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`; see `cloudmap.stores.Store.get`."""
        validate_key(key)
        with self._lock:
            entry = self._objects.get(key)
        current = entry.etag if entry is not None else None
        if if_match is not None and current != if_match:
            raise EtagMismatchError(
                key, expected_etag=if_match, actual_etag=current, store=self.name
            )
        if entry is None:
            return None
        if if_none_match is not None and entry.etag == if_none_match:
            return Entry(b"", entry.etag, entry.metadata, not_modified=True)
        return entry

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key`; see `cloudmap.stores.Store.put`."""
        validate_key(key)
        check_mode(mode, store=self.name)
        payload = bytes(data)
        meta = MappingProxyType(dict(metadata or {}))
        with self._lock:
            entry = self._objects.get(key)
            check_precondition(
                key,
                entry.etag if entry is not None else None,
                mode=mode,
                store=self.name,
            )
            etag = f'"{next(self._counter)}"'
            self._objects[key] = Entry(payload, etag, meta)
        return etag

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; see `cloudmap.stores.Store.delete`."""
        validate_key(key)
        with self._lock:
            entry = self._objects.get(key)
            check_precondition(
                key,
                entry.etag if entry is not None else None,
                mode=replace_or_overwrite(if_match),
                store=self.name,
            )
            self._objects.pop(key, None)

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix` in sorted order, from a snapshot."""
        with self._lock:
            snapshot = sorted(
                (key, entry.etag)
                for key, entry in self._objects.items()
                if key.startswith(prefix)
            )
        for key, etag in snapshot:
            yield ListedKey(key, etag)

    def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
