"""Fuzzing: random keys and random stored bytes raise only documented exceptions.

Keys: `validate_key` and every store either accept a key verbatim or raise
`TypeError`/`ValueError` (LocalStore adds `NotSupportedError` for a file and a
folder sharing a path). Stored bytes: decoding raises only `CodecError`.
Pickle is left out on purpose: it is documented as unsafe for untrusted bytes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmap import CloudMapping
from cloudmap.codecs import Codec, json, raw, text, zlib
from cloudmap.errors import CodecError, NotSupportedError
from cloudmap.stores import MAX_KEY_BYTES, MemoryStore, Store, validate_key

StoreFactory = Callable[[], Store]

any_key = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec=None), max_size=40),
    st.text(min_size=300, max_size=1100),
    st.binary(),
    st.integers(),
    st.none(),
    st.floats(),
    st.lists(st.text(), max_size=2),
    st.tuples(st.text()),
)
store_keys = st.one_of(
    st.text(min_size=1, max_size=60),
    st.text(alphabet="ab/.\\\x00 \n%", min_size=1, max_size=12),
)
# moto answers 404 to a PUT of a key holding "\n", and Azurite's listing fails
# with HTTP 500 once a key holds a control character (real S3 and Azure accept
# both): on the emulators the fuzzed keys leave control characters out.
emulator_store_keys = st.text(
    st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=60
) | st.text(alphabet="ab/. %", min_size=1, max_size=12)
DECODERS = {
    "raw": raw(),
    "json": json(),
    "text": text(),
    "text(ascii)": text("ascii"),
    "zlib": zlib(),
    "json|zlib": json() | zlib(),
    "text|zlib": text() | zlib(),
}


@settings(max_examples=500)
@given(key=any_key)
def test_key_validation_accepts_verbatim_or_raises_type_or_value_error(
    key: object,
) -> None:
    """validate_key returns the key unchanged or raises TypeError/ValueError only."""
    try:
        result = validate_key(key)
    except (TypeError, ValueError):
        return
    assert result is key
    assert isinstance(result, str)
    assert result
    assert "\x00" not in result
    assert len(result.encode("utf-8")) <= MAX_KEY_BYTES


EMULATOR_EXAMPLES = 15


@pytest.fixture
def examples(request: pytest.FixtureRequest) -> int:
    """Fewer examples over the network emulators than over memory and disk."""
    return EMULATOR_EXAMPLES if request.node.get_closest_marker("emulator") else 100


def test_stores_accept_keys_verbatim_or_raise_documented_errors(
    store: Store, examples: int
) -> None:
    """A fuzzed key round-trips verbatim through put/list/get/delete or is refused cleanly."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        key=emulator_store_keys if examples == EMULATOR_EXAMPLES else store_keys,
        data=st.binary(max_size=16),
    )
    def run(key: str, data: bytes) -> None:
        try:
            store.put(key, data)
        except (TypeError, ValueError, NotSupportedError):
            # Refused before any write: the store (emptied after each key) is empty.
            assert list(store.list()) == []
            return
        try:
            assert [item.key for item in store.list()] == [key]
            entry = store.get(key)
            assert entry is not None
            assert entry.data == data
        finally:
            store.delete(key)
        assert store.get(key) is None

    run()


@pytest.mark.parametrize("codec", DECODERS.values(), ids=list(DECODERS))
@settings(max_examples=300)
@given(data=st.binary(max_size=200))
def test_decoding_random_bytes_raises_only_codec_error(
    codec: Codec, data: bytes
) -> None:
    """Any stored bytes decode to a value or raise CodecError, nothing else."""
    with contextlib.suppress(CodecError):
        codec.loads(data)


@pytest.mark.parametrize("codec", DECODERS.values(), ids=list(DECODERS))
@settings(max_examples=100)
@given(
    data=st.binary(max_size=64) | st.sampled_from([b"[" * 5000, b'{"a":' * 3000]),
    tag=st.none() | st.sampled_from(["pickle", "json", "raw", "zlib", "", "x|y"]),
)
def test_mapping_reads_of_random_objects_raise_only_codec_error(
    codec: Codec, data: bytes, tag: str | None
) -> None:
    """A mapping read of any object another tool wrote returns a value or raises CodecError."""
    store = MemoryStore()
    store.put("k", data, metadata=None if tag is None else {"cloudmap-codec": tag})
    m = CloudMapping[Any](store, codec=codec)
    message = ""
    try:
        m["k"]
    except CodecError as exc:
        message = str(exc)
    assert not message or "'k'" in message


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=4)
    | st.sets(st.integers(), max_size=2),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300)
@given(value=json_values)
def test_json_encoding_returns_bytes_or_raises_codec_error(value: Any) -> None:
    """Encoding any value as JSON gives bytes that decode back, or raises CodecError."""
    codec = json()
    try:
        encoded = codec.dumps(value)
    except CodecError:
        return
    assert isinstance(encoded, bytes)
    decoded = codec.loads(encoded)
    assert _is_json_like(decoded)


def _is_json_like(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json_like(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_like(v) for k, v in value.items())
    return value is None or isinstance(value, bool | int | str)
