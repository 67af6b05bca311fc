"""Re-encrypt every value of a store under the current key, after a rotation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from cloudmap._bulk import run_each
from cloudmap._reserved import reserved
from cloudmap.codecs import KEY_ID_METADATA_KEY, Codec
from cloudmap.codecs._crypto import stored_key_id
from cloudmap.errors import CloudMapError
from cloudmap.stores._protocol import Replace, Store
from cloudmap.stores.prefixed import PrefixedStore

__all__ = ["RekeyReport", "rekey"]


@dataclass
class RekeyReport:
    """What `rekey` did: keys re-encrypted, keys already current, failures."""

    rekeyed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data."""
        return {
            "rekeyed": len(self.rekeyed),
            "current": len(self.current),
            "failed": dict(self.failed),
        }


def rekey(
    store: Store,
    encryption: Codec,
    *,
    prefix: str = "",
    workers: int = 8,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[], None] | None = None,
) -> RekeyReport:
    """Re-encrypt every value under `prefix` with `encryption`'s current key.

    `encryption` is the `codecs.encrypted(keys)` codec, holding the current key
    first and every key still in use; it must be the last step of the chain
    that wrote the values. Each value is decrypted, encrypted again and written
    back conditioned on the etag read, so a concurrent write is never lost (it
    is reported as failed and picked up by the next run). Values already under
    the current key are left alone, so a run that stopped part way resumes
    where it was. The other steps of the chain are not run: values are never
    decoded.

    Returns:
        The keys re-encrypted, those already current, and failures with reasons.
    """
    current = encryption.metadata.get(KEY_ID_METADATA_KEY)
    if current is None:
        msg = f"rekey needs an encrypted() codec, not {encryption.name!r}"
        raise ValueError(msg)
    scoped = PrefixedStore(store, prefix)
    keys = [
        item.key
        for item in scoped.list()
        if not reserved(prefix + item.key)  # lock objects and verify scratch keys
    ]
    if on_total is not None:
        on_total(len(keys))
    report = RekeyReport()
    lock = threading.Lock()

    def one(key: str) -> None:
        try:
            outcome = _rekey_one(scoped, encryption, key, current)
        except CloudMapError as exc:
            with lock:
                report.failed[key] = f"{type(exc).__name__}: {exc}"
        else:
            with lock:
                getattr(report, outcome).append(key)
        if on_progress is not None:
            on_progress()

    run_each(keys, one, workers)
    report.rekeyed.sort()
    report.current.sort()
    return report


def _rekey_one(store: PrefixedStore, encryption: Codec, key: str, current: str) -> str:
    entry = store.get(key)
    if entry is None or stored_key_id(entry.data) == current:
        return "current"  # deleted since the listing, or done by an earlier run
    plain = encryption.loads(entry.data, key=key, metadata=entry.metadata)
    store.put(
        key,
        encryption.dumps(plain, key=key),
        mode=Replace(entry.etag),
        metadata={**entry.metadata, KEY_ID_METADATA_KEY: current},
    )
    return "rekeyed"
