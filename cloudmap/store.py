"""The Store protocol: bytes and etags, with server-side conditional operations.

A store knows nothing of codecs or of which etags a mapping holds: it stores
bytes under keys and checks every precondition in the same request as the
operation, so two writers can never both succeed against one etag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from cloudmap.errors import EtagMismatchError, KeyExistsError

__all__ = [
    "MAX_KEY_BYTES",
    "Entry",
    "ListedKey",
    "Store",
    "check_precondition",
    "folder_prefix",
    "validate_key",
]

MAX_KEY_BYTES = 1024
"""The longest key, in UTF-8 bytes, that every provider stores (S3's limit)."""

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Entry:
    """One stored object: its bytes, its etag and its user metadata.

    `not_modified` is True when a `get(..., if_none_match=etag)` found the
    object unchanged; `data` is then empty and the caller keeps its copy.
    """

    data: bytes
    etag: str
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    not_modified: bool = False


@dataclass(frozen=True)
class ListedKey:
    """One key of a listing, with the etag the server holds for it."""

    key: str
    etag: str


@runtime_checkable
class Store(Protocol):
    """Bytes under string keys, with conditional operations checked by the server."""

    @property
    def name(self) -> str:
        """A printable name, such as `s3://bucket`; never holds a credential."""
        ...

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`; None if it is missing and no `if_match` was given.

        Raises:
            EtagMismatchError: `if_match` is given and the object changed or is gone.
        """
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key` and return its new etag.

        Raises:
            KeyExistsError: `if_none_match` is True and the key exists.
            EtagMismatchError: `if_match` is given and the object changed or is gone.
        """
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; deleting a missing key without `if_match` is a no-op.

        Raises:
            EtagMismatchError: `if_match` is given and the object changed or is gone.
        """
        ...

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield every key that starts with `prefix`, with its etag, page by page."""
        ...

    def close(self) -> None:
        """Release connections and file handles."""
        ...


def validate_key(key: object) -> str:
    """Return `key` if every provider can store it verbatim, or raise.

    Raises:
        TypeError: the key is not a `str`.
        ValueError: the key is empty, holds NUL or a lone surrogate, or is longer
            than 1024 UTF-8 bytes.
    """
    if not isinstance(key, str):
        msg = f"keys must be str, not {type(key).__name__}: {key!r}"
        raise TypeError(msg)
    if not key:
        raise ValueError("keys must not be empty")
    if "\x00" in key:
        msg = f"key {key!r} holds a NUL character, which no store accepts"
        raise ValueError(msg)
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        msg = f"key {key!r} is not valid UTF-8 text (lone surrogate)"
        raise ValueError(msg) from exc
    if size > MAX_KEY_BYTES:
        msg = f"key {key[:40]!r}... is {size} UTF-8 bytes; the limit is {MAX_KEY_BYTES}"
        raise ValueError(msg)
    return key


def folder_prefix(prefix: str, separator: str = "/") -> str:
    """`prefix` as a folder: `separator` appended unless already there.

    A prefix names a folder, so `"tenant1"` becomes `"tenant1/"` and never
    matches the keys of `"tenant10/"`. An empty prefix (the whole store) or an
    empty separator (a raw string prefix) returns `prefix` unchanged.

    Examples:
        >>> folder_prefix("tenant1"), folder_prefix("a/"), folder_prefix("t", "")
        ('tenant1/', 'a/', 't')
    """
    if not prefix or not separator or prefix.endswith(separator):
        return prefix
    return prefix + separator


def check_precondition(
    key: str,
    current: str | None,
    *,
    if_match: str | None,
    if_none_match: bool,
    store: str,
) -> None:
    """Raise the `KeySyncError` a server would, for a store that checks locally.

    `current` is the etag stored now (None when the key is missing). Only stores
    that hold their own lock while calling this may use it (memory, local).
    """
    if if_none_match and current is not None:
        raise KeyExistsError(key, actual_etag=current, store=store)
    if if_match is not None and current != if_match:
        raise EtagMismatchError(
            key, expected_etag=if_match, actual_etag=current, store=store
        )
