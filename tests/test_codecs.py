"""Codec round trips, composition and error cases."""

from __future__ import annotations

import base64
import math
import pickle as stdlib_pickle
from typing import Any

import pytest

from cloudmap.codecs import Codec, json, pickle, raw, text, zlib
from cloudmap.errors import CodecError


@pytest.mark.parametrize(
    ("codec", "value"),
    [
        (raw(), b"\x00\xffbytes"),
        (pickle(), {"a": (1, 2.5, None), "b": {1, 2}}),
        (pickle(2), [1, "two"]),
        (json(), {"a": [1, "é", None, True]}),
        (text(), "héllo"),
        (text("latin-1"), "café"),
        (json() | zlib(9), {"big": "x" * 10_000}),
        (pickle() | zlib(1), list(range(1000))),
        (raw() | zlib(), b"abc" * 100),
    ],
)
def test_round_trip(codec: Codec, value: Any) -> None:
    """Each built-in codec and chain decodes what it encoded."""
    data = codec.dumps(value)
    assert isinstance(data, bytes)
    assert codec.loads(data) == value


def test_raw_accepts_bytes_like_values() -> None:
    """The raw codec stores bytearray and memoryview as bytes."""
    assert raw().dumps(bytearray(b"ab")) == b"ab"
    assert raw().dumps(memoryview(b"cd")) == b"cd"


def test_composition_flattens_and_names_the_chain() -> None:
    """`a | b | c` is one flat chain whose name lists each step."""
    chain = pickle() | zlib(9) | zlib(1)
    assert chain.name == "pickle|zlib|zlib"
    assert len(chain.steps) == 3
    assert chain.loads(chain.dumps("v")) == "v"


def test_zlib_compresses() -> None:
    """zlib makes repetitive data smaller."""
    assert len((json() | zlib(9)).dumps("a" * 10_000)) < 200


@pytest.mark.parametrize(
    ("codec", "value"),
    [
        (raw(), "not bytes"),
        (json(), {1, 2}),
        (json(), math.nan),
        (text(), b"bytes"),
        (pickle(), lambda: None),
        (json(), object()),
    ],
)
def test_unencodable_values_raise_codec_error(codec: Codec, value: Any) -> None:
    """Values a codec cannot encode raise CodecError, a ValueError."""
    with pytest.raises(CodecError) as info:
        codec.dumps(value)
    assert isinstance(info.value, ValueError)
    assert codec.name in str(info.value)


@pytest.mark.parametrize(
    ("codec", "data"),
    [
        (pickle(), b"garbage"),
        (json(), b"{not json"),
        (zlib(), b"not compressed"),
        (text(), b"\xff\xfe\xfa"),
        (pickle() | zlib(), stdlib_pickle.dumps("uncompressed")),
    ],
)
def test_undecodable_bytes_raise_codec_error(codec: Codec, data: bytes) -> None:
    """Bytes a codec cannot decode raise CodecError, never a library exception."""
    with pytest.raises(CodecError):
        codec.loads(data)


def test_chain_of_user_functions() -> None:
    """Codec.chain applies dumps in order and loads in the order given."""
    codec = Codec.chain(
        [str.encode, base64.b64encode], [base64.b64decode, bytes.decode]
    )
    assert codec.dumps("hi") == b"aGk="
    assert codec.loads(b"aGk=") == "hi"
    assert codec.name == "str.encode+base64.b64encode"


def test_chain_name_is_stable_and_overridable() -> None:
    """A user chain's default name is built from function names; `name=` overrides it."""
    first = Codec.chain([str.encode], [bytes.decode])
    second = Codec.chain([str.encode], [bytes.decode])
    assert first.name == second.name == "str.encode"
    assert Codec.chain([str.encode], [bytes.decode], name="utf8").name == "utf8"


def test_chain_needs_matching_lengths() -> None:
    """dumps and loads lists of different lengths are refused."""
    with pytest.raises(ValueError, match="loads has 2"):
        Codec.chain([str.encode], [base64.b64decode, bytes.decode])


def test_chain_must_end_in_bytes() -> None:
    """A chain whose last step returns a non-bytes value raises CodecError."""
    with pytest.raises(CodecError, match="not bytes"):
        Codec.chain([str.upper], [str.lower]).dumps("x")


def test_zlib_level_is_checked() -> None:
    """A zlib level outside -1..9 is refused at construction."""
    with pytest.raises(ValueError, match="level"):
        zlib(10)
