"""`spill_mapping(target, n)`: a dask worker's data, spilling to a store.

dask.distributed builds each worker's data mapping from `Worker(data=(factory,
kwargs))`. This one is a `zict.Buffer`: values stay in memory up to `n` bytes
(by `dask.sizeof`), and the least recently used ones move to a `CloudMapping`
under a prefix of their own, unique to each worker, so two workers never share
one. dask calls the mapping on the worker's event loop: every spill and every
load of a spilled value blocks it for one request, so spill to local disk
first and to a remote store only as a last resort.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import zict

from cloudmap.codecs import Codec
from cloudmap.mapping import CloudMapping

__all__ = ["SpillMapping", "decode_key", "encode_key", "spill_mapping"]

logger = logging.getLogger(__name__)


class SpillMapping(zict.Buffer[Any, Any]):
    """A `zict.Buffer` over a store, with the `evict()` dask's memory monitor calls."""

    def evict(self) -> int:
        """Move the least recently used value to the store; its size, or -1.

        Never raises, as distributed's `ManualEvictProto` requires: a value that
        cannot be spilled stays in memory and the failure is logged.
        """
        try:
            _, _, weight = self.fast.evict()
        except Exception:
            logger.exception("cloudmap: could not spill a value to %r", self.slow)
            return -1
        return int(weight)


def encode_key(key: Any) -> str:
    """A store key for a dask key (a string, or a tuple such as `("x-token", 7, 4)`)."""
    text = json.dumps(key, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_key(encoded: str) -> Any:
    """The dask key `encode_key` was given."""
    return _tuples(json.loads(base64.urlsafe_b64decode(encoded)))


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


class _DaskKeys(MutableMapping[Any, Any]):
    """A mapping with dask keys over a CloudMapping with encoded string keys."""

    def __init__(self, mapping: CloudMapping[Any]) -> None:
        self.mapping = mapping
        self._closed = False

    def __repr__(self) -> str:
        return f"<spilled values in {self.mapping!r}>"

    def __getitem__(self, key: Any) -> Any:
        return self.mapping[encode_key(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.mapping[encode_key(key)] = value

    def __delitem__(self, key: Any) -> None:
        del self.mapping[encode_key(key)]

    def __contains__(self, key: object) -> bool:
        return encode_key(key) in self.mapping

    def __iter__(self) -> Iterator[Any]:
        return (decode_key(key) for key in self.mapping)

    def __len__(self) -> int:
        return len(self.mapping)

    def close(self) -> None:
        """Delete what is still spilled (this worker's prefix only), then close."""
        if self._closed:
            return
        self._closed = True
        try:
            self.mapping.clear()
        finally:
            self.mapping.close()


def spill_mapping(
    target: str | os.PathLike[str], n: float, *, prefix: str = "dask-spill/"
) -> tuple[Callable[..., SpillMapping], dict[str, Any]]:
    """The `(factory, kwargs)` for `Worker(data=...)` or `LocalCluster(data=...)`.

    Args:
        target: a path, URL or one-provider ini file every worker can open;
            a local directory is created when missing.
        n: bytes of values each worker keeps in memory before spilling.
        prefix: under it, each worker writes below a fresh random prefix.
    """
    return make_spill_mapping, {"target": os.fspath(target), "n": n, "prefix": prefix}


def make_spill_mapping(target: str, n: float, prefix: str) -> SpillMapping:
    """Build one worker's spill mapping (called by dask on the worker)."""
    # Imported here: this runs only on a dask worker, where both are installed.
    from dask.sizeof import sizeof  # noqa: PLC0415
    from distributed.protocol.serialize import (  # noqa: PLC0415
        deserialize_bytes,
        serialize_bytes,
    )

    from cloudmap.dask._copy import is_directory  # noqa: PLC0415
    from cloudmap.targets import open_for_mapping  # noqa: PLC0415

    frames = Codec("dask-frames", ((serialize_bytes, deserialize_bytes),))
    store, arguments = open_for_mapping(target, frames, create=is_directory(target))
    arguments["key_prefix"] += f"{prefix}{uuid.uuid4().hex}/"
    try:
        mapping: CloudMapping[Any] = CloudMapping(
            store, sync_initially=False, **arguments
        )
    except BaseException:
        store.close()
        raise
    return SpillMapping(
        fast={}, slow=_DaskKeys(mapping), n=n, weight=lambda _, value: sizeof(value)
    )
