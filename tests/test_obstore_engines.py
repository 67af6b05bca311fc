"""The obstore engines of S3Store and AzureBlobStore, against the SDK path.

What both engines promise the same way, on moto and Azurite: one request per
operation counted on the wire, the SDK path's etags, metadata and listings,
and the keys obstore cannot carry sent through the SDK verbatim. Each engine's
own configuration and error answers are in tests/test_s3_obstore.py and
tests/test_azure_obstore.py.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

import pytest

from cloudmap import CloudMapping, codecs
from cloudmap.cache import CacheSpec
from cloudmap.errors import CodecError, EtagMismatchError
from cloudmap.stores import Replace
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.s3 import S3Store
from tests.fault_proxy import Wire
from tests.fixtures_s3 import MOTO_CREDENTIALS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cloudmap.stores import Store

pytestmark = pytest.mark.emulator

_COMMON_KEYS = ["a b/é%20+?#", "pct%41", "ünï/ç*ö", "~!$&'()"]
# Keys per listing page: S3Store asks for 1000, Azure serves 5000.
PAGE = {"s3": 1000, "azure": 5000}
# Keys obstore would rewrite or refuse: they take the SDK path, verbatim (Azure
# itself refuses `.` and `..` segments).
ODD_KEYS = [
    *(("s3", key) for key in ["a//b", "./dot", "x/../y", "tab\tkey"]),
    *(("azure", key) for key in ["a//b", "tab\tkey"]),
]
# Keys obstore names verbatim (Azure refuses a backslash, which it stores as '/').
UNUSUAL_KEYS = [
    *((provider, key) for provider in ("s3", "azure") for key in _COMMON_KEYS),
    ("s3", "x\\y"),
]


class Engines(NamedTuple):
    """A store on the obstore engine behind a recording proxy, one on the SDK."""

    provider: str
    fast: Store
    sdk: Store
    wire: Wire


def _settings(connection_string: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in connection_string.split(";") if part)


def _azure(request: pytest.FixtureRequest) -> tuple[Store, Store, Wire]:
    conn: str = request.getfixturevalue("azure_connection_string")
    container: str = request.getfixturevalue("azure_container")
    settings = _settings(conn)
    endpoint = urlsplit(settings["BlobEndpoint"])
    wire = Wire(f"{endpoint.scheme}://{endpoint.netloc}")
    settings["BlobEndpoint"] = f"{wire.proxy.url}/{settings['AccountName']}"
    proxied = ";".join(f"{k}={v}" for k, v in settings.items())
    fast = AzureBlobStore(container, connection_string=proxied, engine="obstore")
    return fast, AzureBlobStore(container, connection_string=conn), wire


def _s3(request: pytest.FixtureRequest) -> tuple[Store, Store, Wire]:
    endpoint: str = request.getfixturevalue("s3_endpoint")
    bucket: str = request.getfixturevalue("s3_bucket")
    wire = Wire(endpoint)
    fast = S3Store(
        bucket, endpoint_url=wire.proxy.url, engine="obstore", **MOTO_CREDENTIALS
    )
    return fast, S3Store(bucket, endpoint_url=endpoint, **MOTO_CREDENTIALS), wire


@pytest.fixture(params=["s3", "azure"])
def engines(request: pytest.FixtureRequest) -> Iterator[Engines]:
    provider: str = request.param
    fast, sdk, wire = (_s3 if provider == "s3" else _azure)(request)
    yield Engines(provider, fast, sdk, wire)
    fast.close()
    sdk.close()
    wire.proxy.close()


def test_mapping_operations_are_one_request_each(engines: Engines) -> None:
    """Create, replace, read and delete each send exactly one HTTP request."""
    m: CloudMapping[bytes] = CloudMapping(engines.fast)
    engines.wire.methods()
    m["k"] = b"1"
    m["k"] = b"2"
    assert m["k"] == b"2"
    del m["k"]
    assert engines.wire.methods() == ["PUT", "PUT", "GET", "DELETE"]


def test_cached_reread_is_one_request_answered_not_modified(engines: Engines) -> None:
    """A cached value is revalidated in one GET, and 304 leaves the cache's copy."""
    fast, wire = engines.fast, engines.wire
    m: CloudMapping[bytes] = CloudMapping(fast, cache=CacheSpec(max_items=10))
    m["k"] = b"v" * 1000
    assert m["k"] == b"v" * 1000
    wire.methods()
    etag = m.etags["k"]
    entry = fast.get("k", if_none_match=etag)
    assert entry is not None
    assert entry.not_modified
    assert entry.etag == etag
    assert m["k"] == b"v" * 1000
    assert wire.methods() == ["GET", "GET"]


def test_listing_takes_one_request_per_page(engines: Engines) -> None:
    """sync_with_cloud over 1001 keys sends ceil(1001 / page) LIST requests."""
    CloudMapping[bytes](engines.sdk, max_workers=16).set_many(
        {f"k{i:04}": b"v" for i in range(1001)}
    )
    engines.wire.methods()
    m: CloudMapping[bytes] = CloudMapping(engines.fast)
    assert len(m) == 1001
    pages = math.ceil(1001 / PAGE[engines.provider])
    assert engines.wire.methods() == ["GET"] * pages


def test_metadata_round_trips_between_engines(engines: Engines) -> None:
    """Codec tags and user metadata written by one engine are read by the other."""
    fast, sdk = engines.fast, engines.sdk
    written: CloudMapping[dict[str, int]] = CloudMapping(fast, codec=codecs.json())
    written["k"] = {"a": 1}
    entry = sdk.get("k")
    assert entry is not None
    assert entry.metadata["cloudmap-codec"] == "json"
    sdk.put("s", b"x", metadata={"cloudmap-codec": "json", "owner": "me"})
    got = fast.get("s")
    assert got is not None
    assert dict(got.metadata) == {"cloudmap-codec": "json", "owner": "me"}
    with pytest.raises(CodecError):
        CloudMapping[bytes](fast, codec=codecs.zlib())["k"]


@pytest.mark.parametrize(("engines", "key"), ODD_KEYS, indirect=["engines"])
def test_keys_obstore_would_rewrite_round_trip_verbatim(
    engines: Engines, key: str
) -> None:
    """Such keys go through the SDK: stored, read, listed and deleted as written."""
    fast = engines.fast
    etag = fast.put(key, b"1", mode="create")
    entry = engines.sdk.get(key)
    assert entry is not None
    assert entry.etag == etag
    assert [(k.key, k.etag) for k in fast.list()] == [(key, etag)]
    with pytest.raises(EtagMismatchError):
        fast.put(key, b"2", mode=Replace('"stale"'))
    fast.delete(key, if_match=etag)
    assert fast.get(key) is None


@pytest.mark.parametrize("key", ["/lead", "trail/"])
def test_keys_obstore_would_list_renamed_are_refused(
    engines: Engines, key: str
) -> None:
    """obstore lists "/k" and "k/" as "k": such keys are refused, never written."""
    with pytest.raises(ValueError, match="use engine='"):
        engines.fast.put(key, b"1")
    assert list(engines.fast.list()) == []


def test_listing_under_a_partial_prefix_is_a_string_prefix(engines: Engines) -> None:
    """`list("a")` finds "ab" and "a/k" (obstore alone lists path segments only)."""
    for key in ["a/k", "ab", "b"]:
        engines.fast.put(key, b"1")
    assert sorted(k.key for k in engines.fast.list("a")) == ["a/k", "ab"]
    assert [k.key for k in engines.fast.list("a/")] == ["a/k"]


def test_listing_goes_on_past_a_key_obstore_cannot_name(engines: Engines) -> None:
    """A bucket holding "x//y" (written by another tool) is listed in full, once."""
    keys = ["a", "b", "x//y", "z"]
    etags = [engines.sdk.put(key, b"1") for key in keys]
    listed = [(k.key, k.etag) for k in engines.fast.list()]
    assert listed == list(zip(keys, etags, strict=True))


def test_conditional_delete_sends_the_etag(engines: Engines) -> None:
    """obstore's delete takes no condition: ours goes through the SDK with If-Match."""
    fast, sdk = engines.fast, engines.sdk
    etag = fast.put("k", b"1")
    with pytest.raises(EtagMismatchError):
        fast.delete("k", if_match='"stale"')
    assert sdk.get("k") is not None
    fast.delete("k", if_match=etag)
    assert sdk.get("k") is None


@pytest.mark.parametrize(("engines", "key"), UNUSUAL_KEYS, indirect=["engines"])
def test_unusual_keys_are_the_same_on_both_engines(engines: Engines, key: str) -> None:
    """Keys obstore can name are written, read and listed verbatim by either engine."""
    fast, sdk = engines.fast, engines.sdk
    etag = fast.put(key, b"1", mode="create")
    entry = sdk.get(key, if_match=etag)
    assert entry is not None
    assert entry.data == b"1"
    assert [k.key for k in sdk.list()] == [key]
    assert [(k.key, k.etag) for k in fast.list()] == [(key, etag)]
    sdk.delete(key, if_match=etag)
    sdk.put(key, b"2")
    got = fast.get(key)
    assert got is not None
    assert got.data == b"2"


_AZURITE_LIKE = "AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/a"


@pytest.mark.parametrize(
    ("module", "build"),
    [
        ("s3", "S3Store('b', engine='obstore', region_name='us-east-1')"),
        (
            "azure",
            f"AzureBlobStore('c', engine='obstore', connection_string={_AZURITE_LIKE!r})",
        ),
    ],
    ids=["s3", "azure"],
)
def test_missing_obstore_names_the_extra(module: str, build: str) -> None:
    """Without obstore installed, either engine names the `fast` extra."""
    code = (
        "import sys; sys.modules['obstore'] = None; sys.modules['obstore.store'] = None\n"
        f"from cloudmap.stores.{module} import *\n"
        "try:\n"
        f"    {build}\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("MissingDependencyError")
    assert "[fast]" in out
