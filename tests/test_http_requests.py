"""Request economy counted in real HTTP requests on the three emulators.

tests/test_request_economy.py counts Store calls on every provider; here each
cloud SDK's requests are recorded below the store (tests/http_recording.py), so
a hidden HEAD, retry or extra page would show.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import pytest

from cloudmap import CloudMapping
from cloudmap.cache import CacheSpec
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.gcs import GCSStore
from cloudmap.stores.s3 import S3Store
from tests.http_recording import (
    Exchange,
    RecordingAdapter,
    RecordingTransport,
    S3RequestLog,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cloudmap.stores import Store
    from tests.conftest import StoreFactory

pytestmark = pytest.mark.emulator

Log = S3RequestLog | RecordingTransport | RecordingAdapter
CLOUD = ["s3", "azure", "gcs"]
# Keys per LIST page: S3 and our GCS store ask for 1000; Azure serves 5000.
PAGE = {"s3": 1000, "azure": 5000, "gcs": 1000}
# Keys listed by sync_with_cloud: the largest on the fastest emulator.
SYNC_KEYS = {"s3": 1001, "azure": 1001, "gcs": 2500}


@pytest.fixture(params=CLOUD)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def recorded(
    provider: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Store, Log]]:
    """A store of a fresh bucket whose every HTTP request is recorded."""
    store: Store
    log: Log
    if provider == "azure":
        log = RecordingTransport()
        store = AzureBlobStore(
            request.getfixturevalue("azure_container"),
            connection_string=request.getfixturevalue("azure_connection_string"),
            retry_total=0,
            transport=log,
        )
    else:
        store = request.getfixturevalue(f"{provider}_store_factory")()
        if isinstance(store, S3Store):
            log = S3RequestLog(store.client)
        else:
            assert isinstance(store, GCSStore)
            log = RecordingAdapter().attach(store.client)
    yield store, log
    store.close()


@pytest.fixture
def mapping(
    recorded: tuple[Store, Log],
) -> Iterator[tuple[CloudMapping[bytes], Log]]:
    """A cached mapping over the recorded store, and the request log."""
    store, log = recorded
    with CloudMapping[bytes](store, cache=CacheSpec()) as m:
        yield m, log


def test_get_set_delete_are_one_request_each(
    mapping: tuple[CloudMapping[bytes], Log],
) -> None:
    """m[k] = v (create and replace), m[k] and del m[k] send one request each."""
    m, log = mapping
    for step in (
        lambda: m.__setitem__("k", b"1"),
        lambda: m.__setitem__("k", b"2"),
        lambda: m["k"],
        lambda: m.__delitem__("k"),
    ):
        log.clear()
        step()
        assert len(log.exchanges()) == 1


def test_len_contains_and_iteration_send_nothing(
    mapping: tuple[CloudMapping[bytes], Log],
) -> None:
    """len, in and iteration are answered without a request."""
    m, log = mapping
    m.set_many(dict.fromkeys(("a", "b", "c"), b"v"))
    log.clear()
    assert (len(m), "b" in m, "z" in m, sorted(m)) == (3, True, False, ["a", "b", "c"])
    assert log.exchanges() == []


@pytest.mark.parametrize("refresh", ["sync_with_cloud", "changes"])
def test_refresh_sends_one_listing_per_page(
    provider: str,
    recorded: tuple[Store, Log],
    request: pytest.FixtureRequest,
    refresh: str,
) -> None:
    """sync_with_cloud() and changes() over N new keys send ceil(N / page) listings.

    And no per-key request.
    """
    store, log = recorded
    n = SYNC_KEYS[provider]
    factory: StoreFactory = request.getfixturevalue(f"{provider}_store_factory")
    with CloudMapping[bytes](factory(), sync_initially=False) as writer:
        writer.set_many({f"k{i:05d}": b"" for i in range(n)})
    with CloudMapping[bytes](store, sync_initially=False) as m:
        log.clear()
        getattr(m, refresh)()
        assert len(m) == n
    listings = log.exchanges()
    assert len(listings) == math.ceil(n / PAGE[provider])
    assert {(exchange.method, exchange.status) for exchange in listings} == {
        ("GET", 200)
    }


def _cached_reread(m: CloudMapping[bytes], log: Log) -> Exchange:
    """Write and read a value, then read it again: the one request that sends."""
    m["big"] = b"x" * 100_000
    assert m["big"] == b"x" * 100_000
    log.clear()
    assert m["big"] == b"x" * 100_000
    (reread,) = log.exchanges()
    return reread


def test_cached_reread_is_one_conditional_request(
    mapping: tuple[CloudMapping[bytes], Log],
) -> None:
    """Re-reading a cached value sends one request conditioned on the held etag."""
    m, log = mapping
    reread = _cached_reread(m, log)
    sent = [
        reread.headers.get("If-None-Match"),
        *reread.query.get("ifGenerationNotMatch", []),
    ]
    assert m.etags["big"] in sent


@pytest.mark.parametrize(
    "provider",
    [
        "s3",
        "azure",
        pytest.param(
            "gcs",
            marks=pytest.mark.xfail(
                strict=True, reason="fake-gcs-server ignores ifGenerationNotMatch"
            ),
        ),
    ],
    indirect=True,
)
def test_cached_reread_of_unchanged_value_transfers_no_body(
    mapping: tuple[CloudMapping[bytes], Log],
) -> None:
    """An unchanged cached value is answered 304 with no body."""
    reread = _cached_reread(*mapping)
    assert reread.status == 304
    assert reread.body_length in {None, 0}


def test_bulk_calls_reuse_pooled_connections(
    provider: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """16 bulk workers never find the connection pool full (no connection is thrown away)."""
    factory: StoreFactory = request.getfixturevalue(f"{provider}_store_factory")
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    with CloudMapping[bytes](factory(), max_workers=16) as m:
        m.set_many({f"k{i}": b"v" for i in range(200)})
        assert len(m.get_many([f"k{i}" for i in range(200)])) == 200
    full = [r for r in caplog.records if "pool is full" in r.getMessage()]
    assert full == []
