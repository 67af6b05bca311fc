"""Codecs turn values into bytes and back; they compose left to right with `|`.

Examples:
    >>> chain = json() | zlib(9)
    >>> chain.name
    'json|zlib'
    >>> chain.loads(chain.dumps({"a": 1}))
    {'a': 1}
"""

from __future__ import annotations

import json as _json
import pickle as _pickle
import zlib as _zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cloudmap.errors import CodecError

__all__ = [
    "CODEC_METADATA_KEY",
    "Codec",
    "json",
    "pickle",
    "raw",
    "text",
    "zlib",
]

CODEC_METADATA_KEY = "cloudmap-codec"
"""The object metadata entry that records which codec chain wrote a value."""


@dataclass(frozen=True)
class Codec:
    """A named pair of functions between values and bytes.

    `dumps` runs the steps left to right, `loads` runs them right to left.
    Failures of either raise `CodecError`; the mapping adds the key to it.
    """

    name: str
    steps: tuple[tuple[Callable[[Any], Any], Callable[[Any], Any]], ...]

    def dumps(self, value: Any) -> bytes:
        """Encode `value` to bytes."""
        for dump, _ in self.steps:
            try:
                value = dump(value)
            except Exception as exc:
                msg = f"codec {self.name!r} cannot encode {type(value).__name__}: {exc}"
                raise CodecError(msg) from exc
        if not isinstance(value, bytes | bytearray | memoryview):
            msg = (
                f"codec {self.name!r} produced {type(value).__name__}, not bytes; "
                "end the chain with a codec that returns bytes"
            )
            raise CodecError(msg)
        return bytes(value)

    def loads(self, data: bytes) -> Any:
        """Decode bytes written by `dumps`."""
        value: Any = data
        for _, load in reversed(self.steps):
            try:
                value = load(value)
            except Exception as exc:
                msg = f"codec {self.name!r} cannot decode the stored bytes: {exc}"
                raise CodecError(msg) from exc
        return value

    def __or__(self, other: Codec) -> Codec:
        if not isinstance(other, Codec):
            return NotImplemented
        return Codec(f"{self.name}|{other.name}", self.steps + other.steps)

    @classmethod
    def chain(
        cls,
        dumps: Sequence[Callable[[Any], Any]],
        loads: Sequence[Callable[[Any], Any]],
        *,
        name: str | None = None,
    ) -> Codec:
        """Build a codec from user functions, like cloud-mappings' `with_buffers`.

        `dumps` are applied in order when writing; `loads` in order when reading
        (so `loads` is usually `dumps`' inverses reversed). The default name is
        built from the functions' qualified names, so it is stable across runs.

        Examples:
            >>> import base64
            >>> c = Codec.chain([str.encode, base64.b64encode],
            ...                 [base64.b64decode, bytes.decode])
            >>> c.loads(c.dumps("hi"))
            'hi'
        """
        if len(dumps) != len(loads):
            msg = f"dumps has {len(dumps)} functions but loads has {len(loads)}"
            raise ValueError(msg)
        if name is None:
            name = "+".join(_qualname(fn) for fn in dumps) or "identity"
        # Stored as one step: dumps run forwards, loads run in the order given.
        return cls(name, ((_compose(dumps), _compose(loads)),))


def _qualname(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or ""
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}.{qualname}" if module not in {"", "builtins"} else qualname


def _compose(functions: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        for fn in functions:
            value = fn(value)
        return value

    return apply


def _check_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        msg = f"a raw mapping stores bytes-like values, not {type(value).__name__}"
        raise TypeError(msg)
    return bytes(value)


def raw() -> Codec:
    """Bytes stored as they are; other values are refused."""
    return Codec("raw", ((_check_bytes, bytes),))


def pickle(protocol: int | None = None) -> Codec:
    """Any picklable value. Unsafe on a store that untrusted parties can write."""
    level = _pickle.HIGHEST_PROTOCOL if protocol is None else protocol

    def dumps(value: Any) -> bytes:
        return _pickle.dumps(value, protocol=level)

    return Codec("pickle", ((dumps, _pickle.loads),))


def json() -> Codec:
    """JSON values, UTF-8 encoded."""

    def dumps(value: Any) -> bytes:
        return _json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")

    return Codec("json", ((dumps, _json.loads),))


def text(encoding: str = "utf-8") -> Codec:
    """Strings in the given encoding."""

    def dumps(value: Any) -> bytes:
        if not isinstance(value, str):
            msg = f"text codec stores str values, not {type(value).__name__}"
            raise TypeError(msg)
        return value.encode(encoding)

    def loads(data: bytes) -> str:
        return data.decode(encoding)

    return Codec(f"text({encoding})", ((dumps, loads),))


def zlib(level: int = 6) -> Codec:
    """Zlib compression of the bytes produced by the codecs before it."""
    if not -1 <= level <= 9:  # noqa: PLR2004
        msg = f"zlib level must be between -1 and 9, not {level}"
        raise ValueError(msg)

    def dumps(data: bytes) -> bytes:
        return _zlib.compress(data, level)

    # The level is not part of the name: any level decodes with the same function.
    return Codec("zlib", ((dumps, _zlib.decompress),))
