"""The codecs that need only the standard library: raw, pickle, json, text."""

from __future__ import annotations

import json as _json
import pickle as _pickle
from typing import Any

from cloudmap.codecs._core import Codec

__all__ = ["json", "pickle", "raw", "text"]


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


def json(*, fast: bool = False) -> Codec:
    """JSON values, UTF-8 encoded.

    `fast=True` encodes and decodes with msgspec (the `msgpack` extra), several
    times faster; the bytes are JSON either way, so the tag is the same and
    each reads what the other wrote. msgspec writes NaN and infinities as
    `null`, where the standard library refuses them.
    """
    if fast:
        from cloudmap.codecs._msgspec import fast_json  # noqa: PLC0415 - optional

        return fast_json()

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
