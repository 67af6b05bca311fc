"""PrefixedStore: a store seen through a key prefix, as a folder of another store.

Every key given to it is stored as `prefix + key`, and every key it lists or
names in a conflict has the prefix removed, so the code above it never adds or
slices a prefix by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmap.errors import KeySyncError
from cloudmap.stores._protocol import Entry, ListedKey, PutMode, Store, validate_key
from cloudmap.stores._wrapper import StoreWrapper

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["PrefixedStore"]


class PrefixedStore(StoreWrapper):
    """The keys of `store` under `prefix`, with the prefix left out.

    The prefix is a raw string: pass `folder_prefix(p)` to name a folder. The
    store is not closed with this view unless `close()` is called. Its name is
    the inner store's: the prefix is not part of it.

    Examples:
        >>> from cloudmap.stores import MemoryStore
        >>> root = MemoryStore()
        >>> tenant = PrefixedStore(root, "tenant1/")
        >>> etag = tenant.put("a", b"1", mode="create")
        >>> [item.key for item in root.list()], [item.key for item in tenant.list()]
        (['tenant1/a'], ['a'])
    """

    def __init__(self, store: Store, prefix: str) -> None:
        super().__init__(store)
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        """What every key is prefixed with in the inner store."""
        return self._prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r}, {self._prefix!r})"

    def check_key(self, key: str) -> str:
        """`key` as stored in the inner store, if both are valid keys.

        Raises:
            TypeError: `key` is not a str.
            ValueError: `key`, or `key` with the prefix, is not a valid key.
        """
        validate_key(key)
        return validate_key(self._prefix + key) if self._prefix else key

    def full_key(self, key: str) -> str:
        """`key` as stored in the inner store.

        Unlike `check_key`, an empty `key` is accepted under a prefix: it names
        the object stored exactly at the prefix (an S3 "folder" object), which
        this store's own listing reports as `""`.
        """
        if self._prefix and key == "":
            return validate_key(self._prefix)
        return self.check_key(key)

    def _rename(self, exc: KeySyncError, key: str, full: str) -> None:
        """Raise the inner store's conflict on `full` again under `key`."""
        if exc.key == full and full != key:
            raise type(exc)(
                key,
                expected_etag=exc.expected_etag,
                actual_etag=exc.actual_etag,
                store=exc.store,
                message=str(exc).replace(repr(full), repr(key)),
            ) from exc

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`; see `Store.get`."""
        full = self.full_key(key)
        try:
            return self._store.get(full, if_match=if_match, if_none_match=if_none_match)
        except KeySyncError as exc:
            self._rename(exc, key, full)
            raise

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key`; see `Store.put`."""
        full = self.full_key(key)
        try:
            return self._store.put(
                full,
                data,
                mode=mode,
                metadata=metadata,
            )
        except KeySyncError as exc:
            self._rename(exc, key, full)
            raise

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; see `Store.delete`."""
        full = self.full_key(key)
        try:
            self._store.delete(full, if_match=if_match)
        except KeySyncError as exc:
            self._rename(exc, key, full)
            raise

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield every key starting with `prefix`, the view's prefix left out."""
        if not self._prefix:
            yield from self._store.list(prefix)
            return
        cut = len(self._prefix)
        for item in self._store.list(self._prefix + prefix):
            yield ListedKey(item.key[cut:], item.etag)

    def list_etags(self, prefix: str = "") -> dict[str, str]:
        """Every key starting with `prefix` and its etag, as one dict.

        Taken whole from a store that lists into one dict (`LocalStore`).
        """
        whole = getattr(self._store, "list_etags", None)
        if whole is None:
            return {item.key: item.etag for item in self.list(prefix)}
        found: dict[str, str] = whole(self._prefix + prefix)
        if not self._prefix:
            return found
        cut = len(self._prefix)
        return {key[cut:]: etag for key, etag in found.items()}
