"""Codecs built on msgspec and pydantic: MessagePack, fast JSON, typed models."""

from __future__ import annotations

import sys
from typing import Any, Literal

from cloudmap.codecs._core import Codec
from cloudmap.codecs._optional import require

__all__ = ["fast_json", "model", "msgpack"]


def _msgspec(codec: str) -> Any:
    return require("msgspec", extra="msgpack", codec=codec)


def msgpack() -> Codec:
    """MessagePack values through msgspec (the `msgpack` extra): compact and fast.

    Values are those msgspec encodes: None, bool, int, float, str, bytes,
    lists, tuples (read back as lists), dicts, and more (see msgspec's docs).
    """
    msgspec = _msgspec("codecs.msgpack()")
    return Codec("msgpack", ((msgspec.msgpack.encode, msgspec.msgpack.decode),))


def fast_json() -> Codec:
    """JSON through msgspec; the same bytes and tag as `json()`."""
    msgspec = _msgspec("codecs.json(fast=True)")
    return Codec("json", ((msgspec.json.encode, msgspec.json.decode),))


def model(cls: Any, *, format: Literal["json", "msgpack"] = "json") -> Codec:  # noqa: A002 - the natural name
    """Values of one class, validated on read.

    The class is a pydantic model, a msgspec Struct, a dataclass or an attrs
    class.
    The class's qualified name is part of the tag (`model(app.User)`), so a
    mapping of another class refuses to read the value; a stored value that
    does not fit the class raises `CodecError`. pydantic models use pydantic
    (your own dependency); the other classes need the `msgpack` extra.

    Examples:
        >>> import dataclasses
        >>> @dataclasses.dataclass
        ... class Point:
        ...     x: int
        ...     y: int
        >>> c = model(Point)
        >>> c.loads(c.dumps(Point(1, 2)))
        Point(x=1, y=2)
    """
    if not isinstance(cls, type):
        msg = f"model() takes a class, not {cls!r}"
        raise TypeError(msg)
    if format not in {"json", "msgpack"}:
        msg = f"model format must be 'json' or 'msgpack', not {format!r}"
        raise ValueError(msg)
    where = f"{cls.__module__}.{cls.__qualname__}"
    name = f"model({where})" if format == "json" else f"model({where},msgpack)"

    def check(value: Any) -> Any:
        if not isinstance(value, cls):
            msg = f"{name} stores {cls.__qualname__} values, not {type(value).__name__}"
            raise TypeError(msg)
        return value

    pydantic = sys.modules.get("pydantic")  # a pydantic model means it is imported
    if pydantic is not None and issubclass(cls, pydantic.BaseModel):
        return Codec(name, ((check, _identity), _pydantic_step(cls, format)))
    msgspec = _msgspec(f"codecs.model({cls.__qualname__})")
    module = msgspec.json if format == "json" else msgspec.msgpack
    try:
        decoder = module.Decoder(cls)
    except TypeError as exc:
        msg = f"model() cannot encode {where}: {exc}"
        raise TypeError(msg) from exc
    encode = module.encode
    return Codec(name, ((check, _identity), (encode, decoder.decode)))


def _identity(value: Any) -> Any:
    return value


def _pydantic_step(
    cls: Any,
    format: Literal["json", "msgpack"],  # noqa: A002
) -> tuple[Any, Any]:
    if format == "json":

        def dumps(value: Any) -> bytes:
            return bytes(value.model_dump_json().encode("utf-8"))

        return dumps, cls.model_validate_json
    msgspec = _msgspec(f"codecs.model({cls.__qualname__}, format='msgpack')")

    def pack(value: Any) -> bytes:
        return bytes(msgspec.msgpack.encode(value.model_dump(mode="json")))

    def unpack(data: bytes) -> Any:
        return cls.model_validate(msgspec.msgpack.decode(data))

    return pack, unpack
