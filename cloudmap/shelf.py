"""`cloudmap.open()`: the `shelve` interface over any store.

A script written for `shelve` switches by changing its import:

```python
import cloudmap as shelve

with shelve.open("data") as db:          # a directory, or s3://bucket/prefix, ...
    db["key"] = [1, 2, 3]
```

Values are pickled, as `shelve` does. Unpickling runs code chosen by whoever
wrote the bytes: open a store that others can write with `codec="json"`.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cloudmap import codecs
from cloudmap.codecs import Codec
from cloudmap.config import mapping_from_config, read_config
from cloudmap.errors import BulkError, CloudMapError, CodecError, ReadOnlyError
from cloudmap.mapping import CloudMapping
from cloudmap.stores._protocol import Store

if TYPE_CHECKING:
    from typing_extensions import Self
from cloudmap.targets import open_store, parse_target, verify_requested

__all__ = ["Shelf", "open"]

Flag = Literal["r", "w", "c", "n"]
_CODECS = {"pickle": codecs.pickle, "json": codecs.json, "raw": codecs.raw}


class Shelf(MutableMapping[str, Any]):
    """A `shelve.Shelf` over a cloudmap mapping: every write is conditional.

    Args:
        mapping: the mapping holding the values (a `CloudMapping` or a
            `ReplicatedMapping`); closed with the shelf.
        writeback: keep every value read or written in memory, and on `sync()`
            or `close()` write back those whose serialised bytes changed, each
            conditioned on the etag it was read with.
        read_only: refuse writes with `ReadOnlyError`.

    After `close()`, every operation raises `ValueError`, as `shelve`'s do.
    """

    def __init__(
        self,
        mapping: MutableMapping[str, Any],
        *,
        writeback: bool = False,
        read_only: bool = False,
    ) -> None:
        self._mapping = mapping
        self.writeback = writeback
        self.read_only = read_only
        codec = getattr(mapping, "codec", None)
        # Any deterministic serialisation detects a change; the mapping's own is
        # exact, once keyed steps (encryption: a random nonce each time) are left out.
        self._codec = (
            Codec(codec.name, tuple(s for s in codec.steps if isinstance(s, tuple)))
            if isinstance(codec, Codec)
            else codecs.pickle()
        )
        self.cache: dict[str, Any] = {}
        self._seen: dict[str, bytes] = {}
        self._closed = False

    @property
    def mapping(self) -> MutableMapping[str, Any]:
        """The mapping behind the shelf."""
        self._check_open()
        return self._mapping

    def __repr__(self) -> str:
        state = "closed" if self._closed else repr(self._mapping)
        return f"<Shelf {state}{' read-only' if self.read_only else ''}>"

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("invalid operation on closed shelf")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise ReadOnlyError("the shelf was opened read-only (flag 'r')")

    def _remember(self, key: str, value: Any) -> None:
        self.cache[key] = value
        self._seen[key] = self._codec.dumps(value)

    def __getitem__(self, key: str) -> Any:
        self._check_open()
        if key in self.cache:
            return self.cache[key]
        value = self._mapping[key]
        if self.writeback:
            self._remember(key, value)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_writable()
        # Written at once, as shelve does; writeback only adds the later check.
        self._mapping[key] = value
        if self.writeback:
            self._remember(key, value)

    def __delitem__(self, key: str) -> None:
        self._check_writable()
        del self._mapping[key]
        self.cache.pop(key, None)
        self._seen.pop(key, None)

    def __contains__(self, key: object) -> bool:
        self._check_open()
        return key in self._mapping

    def __iter__(self) -> Iterator[str]:
        self._check_open()
        return iter(self._mapping)

    def __len__(self) -> int:
        self._check_open()
        return len(self._mapping)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` when the shelf has no such key."""
        self._check_open()
        if key in self._mapping:
            return self[key]
        return default

    def clear(self) -> None:
        """Delete every key, each conditioned on its etag."""
        self._check_writable()
        self._mapping.clear()
        self.cache.clear()
        self._seen.clear()

    def _changed(self) -> tuple[dict[str, Any], dict[str, BaseException]]:
        """Cached values whose bytes changed, and those that cannot be encoded."""
        changed: dict[str, Any] = {}
        errors: dict[str, BaseException] = {}
        for key, value in self.cache.items():
            try:
                if self._codec.dumps(value) != self._seen[key]:
                    changed[key] = value
            except CodecError as exc:
                errors[key] = CodecError(f"cannot write back key {key!r}: {exc}")
                errors[key].__cause__ = exc
        return changed, errors

    def _write_back(self) -> None:
        """Write cached values whose bytes changed; keep the ones that failed.

        A value that cannot be encoded or that conflicts does not stop the
        others: every other changed value is written first.
        """
        changed, errors = self._changed()
        if changed or errors:
            self._check_writable()
        set_many = getattr(self._mapping, "set_many", None)
        if set_many is not None:
            try:
                set_many(changed)
            except BulkError as exc:
                errors.update(exc.errors)
        else:
            for key, value in changed.items():
                try:
                    self._mapping[key] = value
                except CloudMapError as exc:
                    errors[key] = exc
        for key in list(self.cache):
            if key not in errors:
                del self.cache[key]
                del self._seen[key]
        if len(errors) == 1:
            raise next(iter(errors.values()))
        if errors:
            raise BulkError(errors)

    def sync(self) -> None:
        """Write back changed cached values, then refresh the keys from the store.

        Every changed value is written even when some fail; the failed ones
        stay cached, so `sync()` can be called again after resolving them.

        Raises:
            KeySyncError: a cached value changed in the store since it was read.
            CodecError: a cached value can no longer be encoded.
            BulkError: several values failed to write back; it names their keys.
        """
        self._check_open()
        if self.writeback:
            self._write_back()
        refresh = getattr(self._mapping, "sync_with_cloud", None)
        if refresh is not None:
            refresh()

    def close(self) -> None:
        """Write back changed cached values and close the mapping; idempotent.

        The shelf is closed even when a write-back fails (raised as `sync()`
        does, after every other value was written).
        """
        if self._closed:
            return
        try:
            if self.writeback:
                self._write_back()
        finally:
            self._closed = True
            self.cache.clear()
            self._seen.clear()
            close = getattr(self._mapping, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open(  # noqa: A001 - the point is to shadow shelve.open
    target: str | bytes | os.PathLike[str] | os.PathLike[bytes] | Store,
    flag: Flag = "c",
    protocol: int | None = None,
    writeback: bool = False,
    *,
    codec: str | Codec = "pickle",
) -> Shelf:
    """Open a shelf on a directory, URL, ini file or store, like `shelve.open`.

    Args:
        target: a directory path (`str`, `bytes` or path-like; the default,
            `LocalStore`), a URL
            (`file://`, `memory://`, `s3://`, `az://`, `gs://`, see
            `cloudmap.targets`), a cshelve-style `.ini` file, or a `Store`.
        flag: `r` read-only, `w` read-write, `c` read-write and create the
            directory or bucket if missing, `n` like `c` and delete every key first.
        protocol: the pickle protocol (pickle codec only); by default
            `pickle.DEFAULT_PROTOCOL`, as in `shelve`.
        writeback: cache accessed values and write back the changed ones on
            `sync()` and `close()` (see `Shelf`).
        codec: `"pickle"` (the default, as in `shelve`; never on a store that
            untrusted parties can write), `"json"`, `"raw"` or a `Codec`.

    Raises:
        ConfigError: the target or ini file is invalid.
        ValueError: an unknown flag or codec.
    """
    if flag not in {"r", "w", "c", "n"}:
        raise ValueError(f"flag must be one of 'r', 'w', 'c' or 'n', not {flag!r}")
    chain = _codec(codec, protocol)
    create = flag in {"c", "n"}
    mapping: MutableMapping[str, Any]
    if isinstance(target, Store):
        mapping = CloudMapping(target, codec=chain)
    elif _is_config(path := os.fsdecode(target)):
        mapping = mapping_from_config(
            path, codec=chain, create=create, read_only=flag == "r"
        )
    else:
        store, arguments = open_for_mapping(
            path, chain, create=create, read_only=flag == "r"
        )
        try:
            mapping = CloudMapping(store, **arguments)
        except BaseException:
            store.close()
            raise
    shelf = Shelf(mapping, writeback=writeback, read_only=flag == "r")
    if flag == "n":
        shelf.clear()
    return shelf


def open_for_mapping(
    target: str, codec: Codec, *, create: bool = False, read_only: bool = False
) -> tuple[Store, dict[str, Any]]:
    """The store a path, URL or ini file names, and the `CloudMapping` arguments for it.

    For an ini file, its first provider: `codec` followed by the provider's
    compression and encryption, its prefix and its `verify`. For a path or
    URL: `codec`, the prefix and `?verify=`.

    Raises:
        ConfigError: the target or ini file is invalid.
    """
    # Probes write; a read-only open never does, so it has nothing to verify.
    if _is_config(target):
        provider = read_config(target)[0]
        arguments = {"codec": provider.codec(codec), "key_prefix": provider.prefix}
        store = provider.open_store(create=create, read_only=read_only)
        return store, arguments | {"verify": provider.verify and not read_only}
    parsed = parse_target(target)
    verify = verify_requested(parsed) and not read_only
    store, prefix = open_store(parsed, create=create, read_only=read_only)
    return store, {"codec": codec, "key_prefix": prefix, "verify": verify}


def _codec(codec: str | Codec, protocol: int | None) -> Codec:
    if isinstance(codec, Codec):
        if protocol is not None:
            raise ValueError("protocol applies only to the pickle codec")
        return codec
    if codec not in _CODECS:
        raise ValueError(
            f"codec must be a Codec or one of {', '.join(_CODECS)}, not {codec!r}"
        )
    if codec == "pickle":
        return codecs.pickle(pickle.DEFAULT_PROTOCOL if protocol is None else protocol)
    if protocol is not None:
        raise ValueError("protocol applies only to the pickle codec")
    return _CODECS[codec]()


def _is_config(text: str) -> bool:
    return "://" not in text and Path(text).suffix.lower() == ".ini"
