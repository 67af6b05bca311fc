"""Faults injected on the wire, below the SDK, are classified and survived.

Runs for every cloud store, its SDK pointed at a `FaultProxy` in front of the
emulator, with the SDK's own retries off.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import tenacity
from botocore.config import Config

from cloudmap import CloudMapping, codecs
from cloudmap.errors import TransientStoreError
from cloudmap.retry import retry_policy
from cloudmap.stores import Store
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.gcs import GCSStore
from cloudmap.stores.s3 import S3Store
from tests.fault_proxy import FaultProxy, WireFault, WireHandler
from tests.fixtures_s3 import MOTO_CREDENTIALS

pytestmark = pytest.mark.emulator


@dataclass
class Proxied:
    """Builds stores of one provider whose every request passes a FaultProxy."""

    build: Callable[[WireHandler], Store]
    write_method: str


def _gcs(request: pytest.FixtureRequest, proxy: FaultProxy) -> Store:
    # retry=None: the SDK's own retries would hide the faults.
    bucket = request.getfixturevalue("gcs_bucket")
    return GCSStore(bucket, endpoint_url=proxy.url, project="test", retry=None)


# One attempt in all: in botocore's default (legacy) mode, max_attempts=1 still
# allows one retry, which would hide the injected fault.
_ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _s3(request: pytest.FixtureRequest, proxy: FaultProxy) -> Store:
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(
        bucket, endpoint_url=proxy.url, config=_ONE_ATTEMPT, **MOTO_CREDENTIALS
    )


def _azure(
    request: pytest.FixtureRequest, proxy: FaultProxy, engine: str = "sdk"
) -> Store:
    container = request.getfixturevalue("azure_container")
    settings = dict(
        part.split("=", 1)
        for part in request.getfixturevalue("azure_connection_string").split(";")
        if part
    )
    settings["BlobEndpoint"] = f"{proxy.url}/{settings['AccountName']}"
    connection_string = ";".join(f"{k}={v}" for k, v in settings.items())
    return AzureBlobStore(
        container, connection_string=connection_string, retry_total=0, engine=engine
    )


def _s3_obstore(request: pytest.FixtureRequest, proxy: FaultProxy) -> Store:
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(
        bucket,
        endpoint_url=proxy.url,
        config=_ONE_ATTEMPT,
        engine="obstore",
        **MOTO_CREDENTIALS,
    )


_BUILDERS = {
    "gcs": _gcs,
    "s3": _s3,
    "s3_obstore": _s3_obstore,
    "azure": _azure,
    "azure_obstore": functools.partial(_azure, engine="obstore"),
}
_WRITE_METHODS = {
    "gcs": "POST",
    "s3": "PUT",
    "s3_obstore": "PUT",
    "azure": "PUT",
    "azure_obstore": "PUT",
}


def _upstream(request: pytest.FixtureRequest, provider: str) -> str:
    if provider.startswith("azure"):
        settings = dict(
            part.split("=", 1)
            for part in request.getfixturevalue("azure_connection_string").split(";")
            if part
        )
        parts = urlsplit(settings["BlobEndpoint"])
        return f"{parts.scheme}://{parts.netloc}"
    endpoint: str = request.getfixturevalue(
        f"{provider.removesuffix('_obstore')}_endpoint"
    )
    return endpoint


@pytest.fixture(params=["s3", "s3_obstore", "azure", "azure_obstore", "gcs"])
def proxied(request: pytest.FixtureRequest) -> Iterator[Proxied]:
    """A builder of the provider's stores behind fault-injecting proxies."""
    provider: str = request.param
    proxies: list[FaultProxy] = []
    stores: list[Store] = []

    def build(handler: WireHandler) -> Store:
        proxy = FaultProxy(_upstream(request, provider), handler)
        proxies.append(proxy)
        stores.append(_BUILDERS[provider](request, proxy))
        return stores[-1]

    yield Proxied(build, _WRITE_METHODS[provider])
    for store in stores:
        store.close()
    for proxy in proxies:
        proxy.close()


def on_first(method: str, fault: WireFault) -> WireHandler:
    seen: list[int] = []

    def handler(m: str, path: str, n: int) -> WireFault | None:
        if m == method and not seen:
            seen.append(n)
            return fault
        return None

    return handler


def fast() -> tenacity.Retrying:
    return retry_policy(attempts=10, jitter=0, sleep=lambda _: None)


@pytest.mark.parametrize("fault", [WireFault.UNAVAILABLE, WireFault.RESET])
def test_wire_failures_are_transient_store_errors(
    proxied: Proxied, fault: WireFault
) -> None:
    """A 503 or a reset on the wire surfaces as TransientStoreError, not an SDK error."""
    store = proxied.build(on_first(proxied.write_method, fault))
    with pytest.raises(TransientStoreError) as info:
        store.put("k", b"v", mode="create")
    assert info.value.__cause__ is not None
    assert info.value.may_have_applied is (fault is WireFault.RESET)


def test_mapping_rides_out_wire_failures(proxied: Proxied) -> None:
    """A mapping over a flaky wire retries until its writes and reads succeed."""
    store = proxied.build(
        lambda _m, _path, n: WireFault.UNAVAILABLE if n % 3 == 0 else None
    )
    m: CloudMapping[bytes] = CloudMapping(store, retry=fast())
    m["k"] = b"v"
    m["k"] = b"w"
    assert m["k"] == b"w"


def test_write_applied_then_connection_dropped_is_a_success(
    proxied: Proxied,
) -> None:
    """A replace the server applied before the connection dropped is recognised as ours."""
    drop = {"armed": False}

    def handler(method: str, path: str, n: int) -> WireFault | None:
        if method == proxied.write_method and drop["armed"]:
            drop["armed"] = False
            return WireFault.DROP_AFTER
        return None

    store = proxied.build(handler)
    m: CloudMapping[bytes] = CloudMapping(store, retry=fast())
    m["k"] = b"v1"
    drop["armed"] = True
    m["k"] = b"v2"
    assert not drop["armed"]
    entry = store.get("k")
    assert entry is not None
    assert entry.data == b"v2"
    assert m.etags["k"] == entry.etag


def test_mixed_operations_over_a_flaky_wire(proxied: Proxied) -> None:
    """At 10% wire faults, acknowledged writes and deletes are all that is stored."""
    rng = random.Random(5)
    faults = list(WireFault)
    injected: list[WireFault] = []

    def handler(method: str, path: str, n: int) -> WireFault | None:
        if rng.random() < 0.1:
            injected.append(rng.choice(faults))
            return injected[-1]
        return None

    m: CloudMapping[int] = CloudMapping(
        proxied.build(handler), codec=codecs.json(), retry=fast()
    )
    model: dict[str, int] = {}
    for step in range(150):
        key = f"k{rng.randrange(15)}"
        if key in model and rng.random() < 0.3:
            del m[key]
            del model[key]
        else:
            m[key] = step
            model[key] = step
    clean: CloudMapping[int] = CloudMapping(
        proxied.build(lambda *_: None), codec=codecs.json(), retry=None
    )
    assert dict(clean.items()) == model
    assert set(injected) == set(WireFault)
