"""The Store protocol: bytes and etags, with server-side conditional operations.

A store knows nothing of codecs or of which etags a mapping holds: it stores
bytes under keys and checks every precondition in the same request as the
operation, so two writers can never both succeed against one etag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol, TypeAlias, get_args, runtime_checkable

from cloudmap.errors import EtagMismatchError, KeyExistsError

__all__ = [
    "MAX_KEY_BYTES",
    "Entry",
    "ListedKey",
    "PutMode",
    "Replace",
    "Store",
    "check_mode",
    "check_precondition",
    "folder_prefix",
    "replace_or_create",
    "replace_or_overwrite",
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


@dataclass(frozen=True, slots=True)
class Replace:
    """Write only if the stored object still has `etag` (obspec's UpdateVersion)."""

    etag: str


PutMode: TypeAlias = Literal["create", "overwrite"] | Replace
"""How `Store.put` writes: `"create"` only if the key is absent, `"overwrite"`
unconditionally, `Replace(etag)` only if the stored object still has `etag`."""

_MODE_NAMES = get_args(get_args(PutMode)[0])


def replace_or_create(etag: str | None) -> PutMode:
    """`Replace(etag)`, or `"create"` when `etag` is None (the key must be absent)."""
    return "create" if etag is None else Replace(etag)


def replace_or_overwrite(etag: str | None) -> PutMode:
    """`Replace(etag)`, or `"overwrite"` when `etag` is None.

    A delete's or a read's `if_match` as the write mode whose conflicts it raises.
    """
    return "overwrite" if etag is None else Replace(etag)


def check_mode(mode: object, *, store: str) -> PutMode:
    """Return `mode` if it is a `PutMode`, or raise before any request is sent.

    Raises:
        ValueError: `mode` is a str other than `"create"` and `"overwrite"`, or a
            `Replace` whose etag is not a non-empty str.
        TypeError: `mode` is neither a str nor a `Replace`.
    """
    if isinstance(mode, Replace):
        if isinstance(mode.etag, str) and mode.etag:
            return mode
        msg = f"{store}: Replace needs a non-empty etag str, not {mode.etag!r}"
        raise ValueError(msg)
    if mode in _MODE_NAMES:
        return mode  # type: ignore[return-value]
    msg = (
        f"{store}: put mode must be 'create', 'overwrite' or Replace(etag),"
        f" not {mode!r}"
    )
    raise (ValueError if isinstance(mode, str) else TypeError)(msg)


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
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key` as `mode` says and return its new etag.

        Raises:
            KeyExistsError: `mode` is `"create"` and the key exists.
            EtagMismatchError: `mode` is `Replace(etag)` and the object changed
                or is gone.
            ValueError: `mode` is not a `PutMode` (raised before any request).
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
    mode: PutMode,
    store: str,
) -> None:
    """Raise the `KeySyncError` a server would, for a store that checks locally.

    `current` is the etag stored now (None when the key is missing). Only stores
    that hold their own lock while calling this may use it (memory, local).
    """
    match mode:
        case "create" if current is not None:
            raise KeyExistsError(key, actual_etag=current, store=store)
        case Replace(etag) if current != etag:
            raise EtagMismatchError(
                key, expected_etag=etag, actual_etag=current, store=store
            )
