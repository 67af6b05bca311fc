"""Faults injected on the wire, below the SDK, are classified and survived.

Runs for every cloud store whose emulator endpoint can be pointed at
`FaultProxy`; today that is GCS.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
import tenacity

from cloudmap import CloudMapping, codecs
from cloudmap.errors import TransientStoreError
from cloudmap.retry import outcome_unknown, retry_policy
from cloudmap.store import Store
from cloudmap.stores.gcs import GCSStore
from tests.fault_proxy import FaultProxy, WireFault, WireHandler

pytestmark = pytest.mark.emulator

ProxiedFactory = Callable[[WireHandler], Store]


@pytest.fixture(params=["gcs"])
def proxied(request: pytest.FixtureRequest) -> Iterator[ProxiedFactory]:
    """Build a store of the provider whose every request passes a FaultProxy."""
    proxies: list[FaultProxy] = []
    stores: list[Store] = []

    def build(handler: WireHandler) -> Store:
        endpoint = request.getfixturevalue(f"{request.param}_endpoint")
        proxy = FaultProxy(endpoint, handler)
        store: Store = GCSStore(
            request.getfixturevalue("gcs_bucket"),
            endpoint_url=proxy.url,
            project="test",
            retry=None,  # the SDK's own retries would hide the faults
        )
        proxies.append(proxy)
        stores.append(store)
        return store

    yield build
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
    proxied: ProxiedFactory, fault: WireFault
) -> None:
    """A 503 or a reset on the wire surfaces as TransientStoreError, not an SDK error."""
    store = proxied(on_first("POST", fault))
    with pytest.raises(TransientStoreError) as info:
        store.put("k", b"v", if_none_match=True)
    assert info.value.__cause__ is not None
    assert outcome_unknown(info.value) is (fault is WireFault.RESET)


def test_mapping_rides_out_wire_failures(proxied: ProxiedFactory) -> None:
    """A mapping over a flaky wire retries until its writes and reads succeed."""
    store = proxied(lambda _m, _path, n: WireFault.UNAVAILABLE if n % 3 == 0 else None)
    m: CloudMapping[bytes] = CloudMapping(store, retry=fast())
    m["k"] = b"v"
    m["k"] = b"w"
    assert m["k"] == b"w"


def test_write_applied_then_connection_dropped_is_a_success(
    proxied: ProxiedFactory,
) -> None:
    """A replace the server applied before the connection dropped is recognised as ours."""
    drop = {"armed": False}

    def handler(method: str, path: str, n: int) -> WireFault | None:
        if method == "POST" and drop["armed"]:
            drop["armed"] = False
            return WireFault.DROP_AFTER
        return None

    store = proxied(handler)
    m: CloudMapping[bytes] = CloudMapping(store, retry=fast())
    m["k"] = b"v1"
    drop["armed"] = True
    m["k"] = b"v2"
    assert not drop["armed"]
    entry = store.get("k")
    assert entry is not None
    assert entry.data == b"v2"
    assert m.etags["k"] == entry.etag


def test_mixed_operations_over_a_flaky_wire(proxied: ProxiedFactory) -> None:
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
        proxied(handler), codec=codecs.json(), retry=fast()
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
        proxied(lambda *_: None), codec=codecs.json(), retry=None
    )
    assert dict(clean.items()) == model
    assert set(injected) == set(WireFault)
