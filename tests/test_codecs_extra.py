"""Optional codecs (zstd, msgpack, fast JSON, typed models) and bounded decompression."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
import tracemalloc
import zlib as stdlib_zlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import pydantic
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.codecs import measure, values
from cloudmap import CloudMapping
from cloudmap.codecs import (
    CODEC_METADATA_KEY,
    DEFAULT_MAX_SIZE,
    Codec,
    KeyedStep,
    json,
    model,
    msgpack,
    pickle,
    zlib,
    zstd,
)
from cloudmap.errors import CodecError
from cloudmap.stores import Store


@dataclasses.dataclass
class Point:
    x: int
    y: int


class User(msgspec.Struct):
    name: str
    groups: list[str] = []


class Order(pydantic.BaseModel):
    id: int
    items: list[str]


class Invoice(pydantic.BaseModel):
    id: int
    items: list[str]


CODECS = {
    "zstd": (pickle() | zstd(), {"a": (1, 2), "b": "x" * 5000}),
    "zstd(19)": (json() | zstd(19), {"a": [1, 2], "b": "y" * 5000}),
    "msgpack": (msgpack(), {"a": [1, 2.5, None], "b": b"\x00\xff", "c": True}),
    "msgpack|zstd": (msgpack() | zstd(), ["z" * 3000, 7]),
    "json(fast)": (json(fast=True), {"a": [1, "é", None, True]}),
    "model(dataclass)": (model(Point), Point(1, 2)),
    "model(struct)": (model(User), User("ann", ["admin"])),
    "model(struct,msgpack)": (model(User, format="msgpack"), User("bo")),
    "model(pydantic)": (model(Order), Order(id=1, items=["a"])),
    "model(pydantic,msgpack)": (model(Order, format="msgpack"), Order(id=2, items=[])),
    "model|zlib": (model(Point) | zlib(), Point(3, 4)),
}


@pytest.mark.parametrize(("codec", "value"), CODECS.values(), ids=list(CODECS))
def test_round_trip(codec: Codec, value: Any) -> None:
    """Each optional codec decodes what it encoded."""
    data = codec.dumps(value)
    assert isinstance(data, bytes)
    assert codec.loads(data) == value


@pytest.mark.parametrize(("codec", "value"), CODECS.values(), ids=list(CODECS))
def test_round_trip_on_every_store(store: Store, codec: Codec, value: Any) -> None:
    """A value written through a mapping reads back in a fresh mapping, tagged."""
    CloudMapping[Any](store, codec=codec)["k"] = value
    fresh = CloudMapping[Any](store, codec=codec)
    assert fresh["k"] == value
    entry = store.get("k")
    assert entry is not None
    assert entry.metadata[CODEC_METADATA_KEY] == codec.name


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        (json() | zlib(), json() | zstd()),
        (pickle() | zstd(), pickle() | zlib()),
        (msgpack(), json()),
        (model(Order), model(Invoice)),
        (model(Point), model(Point, format="msgpack")),
    ],
    ids=["zlib-as-zstd", "zstd-as-zlib", "msgpack-as-json", "model", "model-format"],
)
def test_tag_mismatch_names_the_key(store: Store, writer: Codec, reader: Codec) -> None:
    """A value written by another chain (or another model) is refused by name."""
    value = Order(id=1, items=[]) if "Order" in writer.name else Point(1, 2)
    if "model" not in writer.name:
        value = {"a": 1}
    CloudMapping[Any](store, codec=writer)["item"] = value
    with pytest.raises(CodecError, match=r"'item'.*written with codec"):
        CloudMapping[Any](store, codec=reader)["item"]


def test_model_names_the_class_in_the_tag() -> None:
    """The model's qualified name (and a non-JSON format) is part of the tag."""
    assert model(Point).name == f"model({__name__}.Point)"
    assert model(User, format="msgpack").name == f"model({__name__}.User,msgpack)"


@pytest.mark.parametrize(
    ("codec", "stored"),
    [
        (model(Point), b'{"x": 1, "y": "two"}'),
        (model(Point), b'{"x": 1}'),
        (model(User), b'{"groups": []}'),
        (model(Order), b'{"id": "nope", "items": []}'),
        (model(Order, format="msgpack"), msgspec.msgpack.encode({"id": 1})),
    ],
)
def test_model_validates_on_read(store: Store, codec: Codec, stored: bytes) -> None:
    """A stored value that does not fit the model raises CodecError naming the key."""
    store.put("bad", stored, metadata={CODEC_METADATA_KEY: codec.name})
    with pytest.raises(CodecError, match="'bad'"):
        CloudMapping[Any](store, codec=codec)["bad"]


@pytest.mark.parametrize(
    ("codec", "value"),
    [
        (model(Point), {"x": 1, "y": 2}),
        (model(Order), Invoice(id=1, items=[])),
        (model(User), Point(1, 2)),
        (msgpack(), object()),
        (json(fast=True), object()),
    ],
)
def test_unencodable_values_raise_codec_error(codec: Codec, value: Any) -> None:
    """A value of another type than the model, or one msgspec cannot encode, is refused."""
    with pytest.raises(CodecError, match=re.escape(codec.name)):
        codec.dumps(value)


def test_model_refuses_what_msgspec_cannot_describe() -> None:
    """A class msgspec cannot encode raises CodecError; an instance is no class."""

    class Opaque:
        pass

    with pytest.raises(CodecError, match="Opaque"):
        model(Opaque).dumps(Opaque())
    with pytest.raises(TypeError, match="class"):
        model(Point(1, 2))


def test_fast_json_reads_what_json_wrote_and_back() -> None:
    """json(fast=True) writes JSON with the same tag: each reads the other's bytes."""
    value = {"a": [1, "é", None, True, 2.5], "b": {"c": "d"}}
    assert json(fast=True).name == json().name == "json"
    assert json(fast=True).loads(json().dumps(value)) == value
    assert json().loads(json(fast=True).dumps(value)) == value


@pytest.mark.parametrize(
    ("build", "module", "extra"),
    [
        (zstd, "zstandard", "zstd"),
        (msgpack, "msgspec", "msgpack"),
        (lambda: json(fast=True), "msgspec", "msgpack"),
        (lambda: model(Point), "msgspec", "msgpack"),
    ],
    ids=["zstd", "msgpack", "json-fast", "model"],
)
def test_missing_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, build: Any, module: str, extra: str
) -> None:
    """Without its package, a codec raises ImportError naming the extra to install."""
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf'pip install "cloudmap-dict\[{extra}\]"'):
        build()


# -- bounded decompression -------------------------------------------------------


def _zlib_bomb(size: int) -> bytes:
    deflate = stdlib_zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [deflate.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*parts, deflate.flush()])


def _zstd_bomb(size: int, *, with_size: bool) -> bytes:
    compressor = zstandard.ZstdCompressor(write_content_size=with_size)
    if with_size:
        return bytes(compressor.compress(bytes(size)))
    chunker = compressor.compressobj()
    chunk = bytes(1 << 20)
    parts = [chunker.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*parts, chunker.flush()])


BOMBS = {
    "zlib": (lambda limit: zlib(max_size=limit), lambda: _zlib_bomb(64 << 20)),
    "zstd": (
        lambda limit: zstd(max_size=limit),
        lambda: _zstd_bomb(64 << 20, with_size=True),
    ),
    "zstd-no-size": (
        lambda limit: zstd(max_size=limit),
        lambda: _zstd_bomb(64 << 20, with_size=False),
    ),
}


@pytest.mark.parametrize(("build", "bomb"), BOMBS.values(), ids=list(BOMBS))
def test_decompression_stops_at_max_size(build: Any, bomb: Any) -> None:
    """A value inflating to 64 MiB is refused at max_size without allocating 64 MiB."""
    data = bomb()
    assert len(data) < 1 << 20
    codec = build(1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(CodecError, match="exceeds max_size=1048576"):
            codec.loads(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize("compress", [zlib, zstd])
def test_values_up_to_max_size_decode(compress: Any) -> None:
    """max_size is inclusive: a value of exactly max_size bytes decodes."""
    codec = compress(max_size=1000)
    assert codec.loads(codec.dumps(b"a" * 1000)) == b"a" * 1000
    with pytest.raises(CodecError, match="max_size=999"):
        compress(max_size=999).loads(codec.dumps(b"a" * 1000))


def test_default_max_size_is_documented_value() -> None:
    """The default bound is 256 MiB, as docs/codecs.md says."""
    assert DEFAULT_MAX_SIZE == 256 * 2**20


def test_mapping_read_of_a_bomb_names_the_key(store: Store) -> None:
    """Reading a compression bomb through a mapping raises CodecError naming the key."""
    store.put("bomb", _zlib_bomb(8 << 20), metadata={CODEC_METADATA_KEY: "zlib"})
    with pytest.raises(CodecError, match=r"'bomb'.*exceeds max_size"):
        CloudMapping[bytes](store, codec=zlib(max_size=1 << 20))["bomb"]


@pytest.mark.parametrize("compress", [zlib, zstd])
def test_truncated_or_trailing_data_is_refused(compress: Any) -> None:
    """A truncated compressed value raises CodecError, never a short value."""
    data = compress().dumps(b"abc" * 1000)
    for bad in (data[:-3], data[:5], b""):
        with pytest.raises(CodecError):
            compress().loads(bad)


def test_zstd_refuses_trailing_frames() -> None:
    """A zstd value is one frame: appended frames or junk raise CodecError."""
    data = zstd().dumps(b"abc")
    with pytest.raises(CodecError):
        zstd().loads(data + data)
    with pytest.raises(CodecError):
        zstd().loads(data + b"junk")


@pytest.mark.parametrize(
    "build",
    [
        lambda: zlib(max_size=0),
        lambda: zstd(max_size=0),
        lambda: zstd(level=23),
    ],
)
def test_bad_parameters_are_refused(build: Any) -> None:
    """A max_size below 1 or an out-of-range zstd level is refused at construction."""
    with pytest.raises(ValueError, match=r"max_size|level"):
        build()


# -- property-based ----------------------------------------------------------------

msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200)
@given(data=st.binary(max_size=5000), level=st.integers(1, 9))
def test_compressors_round_trip_any_bytes(data: bytes, level: int) -> None:
    """zlib and zstd give back any bytes at any level."""
    assert zlib(level).loads(zlib(level).dumps(data)) == data
    assert zstd(level).loads(zstd(level).dumps(data)) == data


@settings(max_examples=200)
@given(value=msgpack_values)
def test_msgpack_round_trips_any_value(value: Any) -> None:
    """msgpack gives back any value of its data model."""
    codec = msgpack() | zstd()
    assert codec.loads(codec.dumps(value)) == value


@settings(max_examples=200)
@given(x=st.integers(-(2**63), 2**63 - 1), y=st.integers(-(2**63), 2**63 - 1))
def test_models_round_trip_any_fields(x: int, y: int) -> None:
    """A dataclass model gives back any field values, in both formats."""
    for codec in (model(Point), model(Point, format="msgpack")):
        assert codec.loads(codec.dumps(Point(x, y))) == Point(x, y)


@pytest.mark.parametrize(
    "codec",
    [zstd(), msgpack(), json(fast=True), model(Point), model(Order), model(User)],
    ids=["zstd", "msgpack", "json-fast", "dataclass", "pydantic", "struct"],
)
@settings(max_examples=200)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_only_codec_error(codec: Codec, data: bytes) -> None:
    """Any stored bytes decode to a value or raise CodecError, nothing else."""
    with contextlib.suppress(CodecError):
        codec.loads(data)


def test_codec_benchmark_measures_ratio_and_speed() -> None:
    """benchmarks/codecs.py's measurement gives a ratio and both speeds."""
    row = measure(zstd(), values(64 * 1024)["JSON records"], 1)
    assert row["ratio"] > 2
    assert row["encode_mb_s"] > 0
    assert row["decode_mb_s"] > 0


def test_codecs_page_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Python example on docs/codecs.md runs as written."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "codecs.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "docs/codecs.md", "exec"), {})  # noqa: S102


class _Signed(KeyedStep):
    """A user's keyed step: prefixes each value with its key, checks it on read."""

    metadata = MappingProxyType({"cloudmap-signer": "tests"})

    def dump(self, data: Any, key: str) -> bytes:
        return key.encode() + b"\x00" + bytes(data)

    def load(self, data: Any, key: str, metadata: Mapping[str, str]) -> bytes:
        if metadata.get("cloudmap-signer") != "tests":
            raise ValueError("unsigned")
        owner, _, body = bytes(data).partition(b"\x00")
        if owner != key.encode():
            raise ValueError(f"written for {owner!r}")
        return body


def test_keyed_steps_see_key_and_metadata_on_every_store(store: Store) -> None:
    """A KeyedStep gets the mapping's key (no prefix) and the object's metadata."""
    signed = json() | Codec("signed", (_Signed(),))
    assert signed.keyed
    assert signed.metadata == {
        CODEC_METADATA_KEY: "json|signed",
        "cloudmap-signer": "tests",
    }
    CloudMapping[Any](store, codec=signed, key_prefix="p/")["a"] = [1]
    entry = store.get("p/a")
    assert entry is not None
    assert entry.data.startswith(b"a\x00")
    assert entry.metadata["cloudmap-signer"] == "tests"
    assert CloudMapping[Any](store, codec=signed, key_prefix="p/")["a"] == [1]
    store.put("p/b", entry.data, metadata=dict(entry.metadata))
    with pytest.raises(CodecError, match=r"'b'.*written for b'a'"):
        CloudMapping[Any](store, codec=signed, key_prefix="p/")["b"]
