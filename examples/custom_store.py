"""Writing a store: a third-party store, registered, then opened by URL.

Run: python examples/custom_store.py [TARGET]
`DictStore` keeps its objects in a dict that every `DictStore` of the same name
in the process shares (TARGET is accepted, as by every example, and unused:
nothing is written to disk). `tests/test_custom_store.py` runs cloudmap's
shipped contract suite, `cloudmap.testing.StoreContract`, on it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping

import cloudmap
from cloudmap import KeySyncError
from cloudmap.stores import (
    Entry,
    ListedKey,
    PutMode,
    Replace,
    check_mode,
    check_precondition,
    register,
    validate_key,
)

_LOCK = threading.Lock()  # one lock: a check and its write are one atomic step
_SHELVES: dict[str, dict[str, Entry]] = {}
_ETAGS = itertools.count(1)


class DictStore:
    """Objects in a dict shared by every DictStore of the same name."""

    url_schemes = ("dict",)  # dict://NAME/PREFIX
    ini_providers = ("dict",)  # provider = dict, with name = NAME
    ini_location = ("name",)

    def __init__(self, name: str) -> None:
        self.name = f"dict://{name}"
        with _LOCK:
            self._objects = _SHELVES.setdefault(name, {})

    def _etag(self, key: str) -> str | None:
        entry = self._objects.get(key)
        return None if entry is None else entry.etag

    def get(
        self, key: str, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> Entry | None:
        validate_key(key)
        with _LOCK:
            entry = self._objects.get(key)
            if if_match is not None:
                mode = Replace(if_match)
                check_precondition(key, self._etag(key), mode=mode, store=self.name)
        if entry is not None and entry.etag == if_none_match:
            return Entry(b"", entry.etag, entry.metadata, not_modified=True)
        return entry

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        validate_key(key)
        check_mode(mode, store=self.name)
        with _LOCK:
            check_precondition(key, self._etag(key), mode=mode, store=self.name)
            etag = f"v{next(_ETAGS)}"
            self._objects[key] = Entry(bytes(data), etag, dict(metadata or {}))
        return etag

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        validate_key(key)
        with _LOCK:
            if if_match is not None:
                mode = Replace(if_match)
                check_precondition(key, self._etag(key), mode=mode, store=self.name)
            self._objects.pop(key, None)

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        with _LOCK:
            found = sorted((k, e.etag) for k, e in self._objects.items())
        yield from (ListedKey(k, etag) for k, etag in found if k.startswith(prefix))

    def close(self) -> None:
        """Nothing to release."""


def main() -> None:
    """Register DictStore, open it by URL twice, and see a stale write refused."""
    register("dict", DictStore)  # or "mypackage.stores:DictStore", imported when used
    with (
        cloudmap.open("dict://demo/run", codec="json") as alice,
        cloudmap.open("dict://demo/run", codec="json") as bob,
    ):
        alice.clear()  # a previous run's keys: start over
        bob.sync()
        alice["config"] = {"workers": 4}
        bob.sync()
        bob["config"] = {"workers": 8}
        try:
            alice["config"] = {"workers": 2}
        except KeySyncError as exc:
            print(f"alice's stale write was refused: {type(exc).__name__}")
        print(f"dict://demo/run holds config = {bob['config']}")
    print("a registered third-party store, opened by URL, keeps every guarantee")


if __name__ == "__main__":
    main()
