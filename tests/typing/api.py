"""Type-checked in CI (`mypy --strict tests/typing`), never run.

Every store must be assignable to the `Store` protocol, and the public API must
type-check the way users write it.
"""

from __future__ import annotations

from cloudmap import (
    AsyncCloudMapping,
    CloudMapping,
    KeySyncError,
    Lease,
    LocalMapping,
    ReplicatedMapping,
    codecs,
    open_async,
    verify,
)
from cloudmap.cache import CacheSpec
from cloudmap.changes import Changes
from cloudmap.retry import RetryingStore, default_retry
from cloudmap.stores import (
    AzureBlobStore,
    GCSStore,
    LocalStore,
    MemoryStore,
    PutMode,
    Replace,
    S3Store,
    Store,
)
from cloudmap.stores.prefixed import PrefixedStore
from cloudmap.testing import FaultyStore
from cloudmap.verify import Verdict


def every_store_is_a_store() -> list[Store]:
    """Each implementation satisfies the protocol structurally."""
    memory: Store = MemoryStore()
    local: Store = LocalStore("/tmp/cloudmap")
    s3: Store = S3Store("bucket", region_name="eu-west-1")
    azure: Store = AzureBlobStore(
        "container", connection_string="UseDevelopmentStorage=true"
    )
    gcs: Store = GCSStore("bucket", project="p")
    prefixed: Store = PrefixedStore(memory, "tenant1/")
    return [memory, local, s3, azure, gcs, prefixed]


def wrappers_are_stores(memory: MemoryStore) -> list[Store]:
    """Each `StoreWrapper` is a Store, and `with` gives back its own class."""
    with PrefixedStore(memory, "tenant1/") as prefixed:
        keys: PrefixedStore = prefixed
    retrying: Store = RetryingStore(keys, default_retry())
    faulty: Store = FaultyStore(retrying, lambda _call: None)
    return [keys, retrying, faulty, keys.inner]


def helpers_keep_their_types() -> tuple[bytes, object] | None:
    """Constructors return the class they are called on; `latest` its pair."""
    values: CloudMapping[object] = CloudMapping.with_json(MemoryStore())
    local: LocalMapping[object] = LocalMapping.with_pickle("/tmp/cloudmap")
    local.close()
    return values.latest("k")


def write_modes(store: Store) -> list[str]:
    """A write says its condition in one `mode` argument."""
    created = store.put("k", b"1", mode="create")
    replaced = store.put("k", b"2", mode=Replace(created))
    mode: PutMode = "overwrite"
    return [created, replaced, store.put("k", b"3", mode=mode)]


def mappings_are_typed(store: Store) -> int:
    """CloudMapping[V] reads and writes V; modify returns V."""
    raw: CloudMapping[bytes] = CloudMapping(store)
    raw["k"] = b"v"
    data: bytes = raw["k"]
    counters: CloudMapping[int] = CloudMapping(
        store, codec=codecs.json(), cache=CacheSpec()
    )
    total: int = counters.modify("n", lambda n: n + 1, default=0)
    try:
        counters.create("lock", 1)
    except KeySyncError as exc:
        expected: str | None = exc.expected_etag
        del expected
    with LocalMapping[str]("/tmp/cloudmap", codec=codecs.text()) as texts:
        texts["greeting"] = "hi"
    replicated = ReplicatedMapping([raw, CloudMapping[bytes](MemoryStore())])
    replicated["k"] = data
    return total


def dict_conformance(store: Store) -> bytes:
    """m.raw is a bytes mapping; a raw prefix is opt-in; get/pop keep dict types."""
    values: CloudMapping[object] = CloudMapping(
        store, codec=codecs.pickle(), key_prefix="runs", prefix_separator=""
    )
    stored: bytes = values.raw["k"]
    fallback: object = values.get("k", 0)
    popped: object = values.pop("k", None)
    values.setdefault("k", [1])
    del fallback, popped
    return stored


def coordination_is_typed(store: Store) -> list[tuple[str, str]]:
    """A lease fences modify; changes() and watch() yield Changes."""
    counter: CloudMapping[int] = CloudMapping(store, codec=codecs.json())
    lease: Lease = counter.lock("job", ttl=30, timeout=120, auto_renew=True)
    with lease:
        token: int = lease.token
        held: bool = lease.held
        total: int = counter.modify("n", lambda n: n + token, default=0, fence=lease)
    if lease.acquire(blocking=False):
        lease.release()
    counter.restore_etags(dict(counter.etags))
    found: Changes = counter.changes("cfg/", apply=False)
    batches: list[Changes] = list(counter.watch(10, 0.1, stop=lambda: held))
    del total, batches
    return list(found)


def optional_codecs_compose(store: Store, key: bytes) -> codecs.Codec:
    """The optional codecs chain with `|` like the built-in ones."""
    chain: codecs.Codec = (
        codecs.json(fast=True)
        | codecs.zstd(3, max_size=2**20)
        | codecs.encrypted({"k1": key})
    )
    typed: CloudMapping[object] = CloudMapping(
        store, codec=codecs.model(object, format="msgpack")
    )
    del typed
    compact = codecs.msgpack() | codecs.zlib(9, max_size=codecs.DEFAULT_MAX_SIZE)
    data: bytes = chain.dumps({"a": 1}, key="k")
    chain.loads(data, key="k", metadata={codecs.KEY_ID_METADATA_KEY: "k1"})
    return compact


def servers_are_verified(store: Store) -> int:
    """verify() takes a store or a target and returns a Verdict; verify=True is a flag."""
    verdict: Verdict = verify(store)
    by_target: Verdict = verify("s3://bucket/prefix?endpoint=http://127.0.0.1:9000")
    ignored = [check.name for check in verdict.with_status("ignored")]
    checked: CloudMapping[bytes] = CloudMapping(store, verify=True)
    del checked, ignored
    return verdict.exit_code + by_target.exit_code


async def async_mappings_are_typed(store: Store) -> int:
    """AsyncCloudMapping[V] awaits V; open_async gives a context manager."""
    counters: AsyncCloudMapping[int] = AsyncCloudMapping(
        CloudMapping(store, codec=codecs.json()), max_workers=8
    )
    async with counters:
        total: int = await counters.modify("n", lambda n: n + 1, default=0)
        await counters.set("other", total)
        keys: list[str] = [key async for key in counters]
        del keys
    async with await open_async("/tmp/cloudmap", codec="json") as m:
        await m.create("k", total)
    return total
