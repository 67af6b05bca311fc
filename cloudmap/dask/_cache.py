"""`cached(target)`: keep results of pure functions in a store, first writer wins.

A result is stored under `prefix + name + "-" + dask.base.tokenize(func, *args,
**kwargs)` with `create`, which the server accepts only when no object exists:
workers that compute the same result at once never overwrite each other, and
the losers return the winner's value, so every caller sees one result per key.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from cloudmap._sentinels import ABSENT
from cloudmap.codecs import Codec
from cloudmap.errors import KeyExistsError
from cloudmap.mapping import CloudMapping

__all__ = ["Memo", "cached"]

P = ParamSpec("P")
R = TypeVar("R")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_OPENED_LOCK = threading.Lock()
_OPENED: dict[tuple[str, str, str], CloudMapping[Any]] = {}


class Memo:
    """A results cache in a store, keyed by `dask.base.tokenize` of each call.

    Args:
        target: a path, URL or one-provider ini file, opened once per process
            (a `Memo` built so can be sent to process workers), or a
            `CloudMapping` (usable only in the process that built it).
        codec: how results are stored: `"pickle"` (the default; never on a
            store others can write), `"json"` or a `Codec`. Ignored when
            `target` is a mapping, which brings its own.
        prefix: put before every key.

    Examples:
        >>> from cloudmap import codecs
        >>> from cloudmap.stores import MemoryStore
        >>> memo = Memo(CloudMapping(MemoryStore(), codec=codecs.json()))
        >>> square = memo(lambda x: x * x)
        >>> square(4), square(4)
        (16, 16)
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | CloudMapping[Any],
        *,
        codec: str | Codec = "pickle",
        prefix: str = "memo/",
    ) -> None:
        self.prefix = prefix
        self._local: CloudMapping[Any] | None = None
        if isinstance(target, CloudMapping):
            self._target = ""
            self._codec: str | Codec = target.codec
            # retry=None: the mapping's store already runs under its policy.
            self._local = _blind(
                target.store, target.codec, target.key_prefix, retry=None
            )
        else:
            self._target = os.fspath(target)
            self._codec = codec

    def __repr__(self) -> str:
        where = self._target or repr(self._local)
        return f"<Memo {where} prefix={self.prefix!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        if self._local is not None:
            msg = (
                "a Memo over a live CloudMapping cannot be sent to another process; "
                "build it from a target (path, URL or ini file) instead"
            )
            raise TypeError(msg)
        return (_rebuild, (self._target, self._codec, self.prefix))

    def mapping(self) -> CloudMapping[Any]:
        """The blindly reading mapping results are kept in, opened once per process."""
        if self._local is not None:
            return self._local
        name = self._codec if isinstance(self._codec, str) else self._codec.name
        with _OPENED_LOCK:
            found = _OPENED.get((self._target, name, self.prefix))
            if found is None:
                found = _OPENED[self._target, name, self.prefix] = _open(
                    self._target, self._codec
                )
            return found

    def key(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        """The key the result of `func(*args, **kwargs)` is stored under."""
        from cloudmap._extras import require  # noqa: PLC0415

        tokenize = require(
            "dask.base", extra="dask", purpose="cloudmap.dask.cached", package="dask"
        ).tokenize
        name = _UNSAFE.sub("_", getattr(func, "__name__", "call"))
        return f"{self.prefix}{name}-{tokenize(func, *args, **kwargs)}"

    def get_or_compute(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """The stored result of the call, or compute, store (create-only) and return it.

        When another worker stored it first, its value is returned instead.
        """
        key = self.key(func, *args, **kwargs)
        mapping = self.mapping()
        found: R = mapping[key]
        if found is not ABSENT:
            return found
        value = func(*args, **kwargs)
        try:
            mapping.create(key, value)
        except KeyExistsError:
            winner: R = mapping[key]
            return value if winner is ABSENT else winner
        return value

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Decorate `func` so its results are looked up and kept here."""

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return self.get_or_compute(func, *args, **kwargs)

        return wrapper


def cached(
    target: str | os.PathLike[str] | CloudMapping[Any],
    *,
    codec: str | Codec = "pickle",
    prefix: str = "memo/",
) -> Memo:
    """A `Memo` over `target`, to use as a decorator: `@cached("s3://b/memo")`."""
    return Memo(target, codec=codec, prefix=prefix)


def _rebuild(target: str, codec: str | Codec, prefix: str) -> Memo:
    return Memo(target, codec=codec, prefix=prefix)


def _blind(
    store: Any, codec: Codec, key_prefix: str, **options: Any
) -> CloudMapping[Any]:
    """A mapping whose reads return the latest value, or `ABSENT`, in one request."""
    return CloudMapping(
        store,
        codec=codec,
        key_prefix=key_prefix,
        sync_initially=False,
        read_blindly=True,
        read_blindly_default=ABSENT,
        **options,
    )


def _open(target: str, codec: str | Codec) -> CloudMapping[Any]:
    # Imported here: they pull in the ini reader and the shelf's codec names.
    from cloudmap.shelf import _codec  # noqa: PLC0415
    from cloudmap.targets import open_for_mapping  # noqa: PLC0415

    store, arguments = open_for_mapping(target, _codec(codec, None))
    codec_chain = arguments.pop("codec")
    prefix = arguments.pop("key_prefix")
    try:
        return _blind(store, codec_chain, prefix, **arguments)
    except BaseException:
        store.close()
        raise
