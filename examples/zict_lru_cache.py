"""A zict LRU cache in front of a store: repeated reads cost no request.

Run: python examples/zict_lru_cache.py [TARGET]
TARGET defaults to $CLOUDMAP_EXAMPLE_TARGET, else a temporary directory.

`zict.Cache(data=mapping, cache=zict.LRU(n, {}))` writes through to the store
and keeps the n most recently used values in memory. It is a *private* cache:
it only knows the keys written through it, and does not notice other workers'
writes. A cache shared by many workers should revalidate by etag instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping

import zict

from cloudmap import CloudMapping, codecs
from cloudmap.stores import Entry, ListedKey, PutMode, Store
from cloudmap.targets import open_store


class CountingStore:
    """A store wrapper that counts requests, to show what the cache saves."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.requests: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return self.inner.name

    def get(self, key: str, **conditions: str | None) -> Entry | None:
        self.requests["get"] += 1
        return self.inner.get(key, **conditions)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        self.requests["put"] += 1
        return self.inner.put(key, data, mode=mode, metadata=metadata)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self.requests["delete"] += 1
        self.inner.delete(key, if_match=if_match)

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        self.requests["list"] += 1
        return self.inner.list(prefix)

    def close(self) -> None:
        self.inner.close()


def main(target: str) -> None:
    inner, prefix = open_store(target, create=True)
    store = CountingStore(inner)
    with CloudMapping(store, codec=codecs.json(), key_prefix=prefix) as bucket:
        cached: zict.Cache[str, object] = zict.Cache(data=bucket, cache=zict.LRU(2, {}))
        for i in range(4):
            cached[f"page-{i}"] = {"page": i, "body": "x" * 100}
        print(f"wrote 4 pages through the cache: {dict(store.requests)}")
        store.requests.clear()
        for _ in range(10):
            assert cached["page-3"]["page"] == 3  # kept by the LRU: no request
        print(f"10 reads of a recent page: {dict(store.requests) or 'no request'}")
        assert store.requests["get"] == 0
        assert cached["page-0"]["page"] == 0  # evicted from the LRU: one GET
        print(f"1 read of an evicted page: {dict(store.requests)}")
        assert store.requests["get"] == 1
        print(f"the store holds {sorted(bucket)}: the LRU evicts from memory only")


if __name__ == "__main__":
    chosen = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CLOUDMAP_EXAMPLE_TARGET")
    )
    if chosen:
        main(chosen)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
