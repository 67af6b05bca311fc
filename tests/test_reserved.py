"""cloudmap's own objects (lock objects, verify scratch keys) stay out of user data.

Mappings, `changes()`, copies, syncs and rekey never list, copy, overwrite,
delete or decrypt them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

import cloudmap
from cloudmap import CloudMapping
from cloudmap.codecs import encrypted, pickle
from cloudmap.errors import NotSupportedError
from cloudmap.lease import LOCK_PREFIX
from cloudmap.rekey import rekey
from cloudmap.stores import LocalStore, MemoryStore
from cloudmap.transfer import copy_keys
from cloudmap.verify import RESERVED_PREFIX, verify
from tests.test_cli import cli

if TYPE_CHECKING:
    from pathlib import Path

OLD, NEW = b"o" * 32, b"n" * 32
SCRATCH = f"{RESERVED_PREFIX}0123/probe"


def _take_three_times(mapping: CloudMapping[Any]) -> int:
    token = 0
    for _ in range(3):
        with mapping.lock("leader", ttl=5) as lease:
            token = lease.token
    return token


def test_sync_keeps_the_destination_lock_objects(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """`cloudmap sync` deletes no lock object: fencing tokens never reset."""
    with cloudmap.LocalMapping(tmp_path / "src") as m:
        m["keep"] = b"1"
    with cloudmap.LocalMapping(tmp_path / "dst") as d:
        assert _take_three_times(d) == 3
    result = cli(env, "--json", "sync", tmp_path / "src", tmp_path / "dst")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["copied"], report["deleted"]) == (1, 0)
    with cloudmap.LocalMapping(tmp_path / "dst") as d, d.lock("leader", 5) as lease:
        assert lease.token == 4


def test_copy_never_copies_or_overwrites_reserved_objects() -> None:
    """copy_keys leaves the destination's lock and scratch objects as they are."""
    src, dst = MemoryStore(), MemoryStore()
    source = CloudMapping[Any](src)
    source["k"] = b"1"
    _take_three_times(source)
    src.put(SCRATCH, b"source scratch")
    _take_three_times(CloudMapping[Any](dst))
    lock = LOCK_PREFIX + "leader"
    before = dst.get(lock)
    dst.put("sub/" + SCRATCH, b"destination scratch")
    report = copy_keys(src, dst, delete_extra=True)
    assert (report.copied, report.deleted, report.failed) == (["k"], [], {})
    assert dst.get(lock) == before
    assert dst.get(SCRATCH) is None
    assert dst.get("sub/" + SCRATCH) is not None


def test_rekey_skips_lock_objects_and_scratch_keys() -> None:
    """A lease taken on an encrypted store does not make rekey fail."""
    store = MemoryStore()
    mapping = CloudMapping[Any](store, codec=pickle() | encrypted({"k1": OLD}))
    mapping["a"] = 1
    _take_three_times(mapping)
    store.put(SCRATCH, b"scratch")
    report = rekey(store, encrypted({"k2": NEW, "k1": OLD}))
    assert (report.rekeyed, report.current, report.failed) == (["a"], [], {})


def test_scratch_keys_are_hidden_like_lock_objects() -> None:
    """Another process's verify scratch keys are not keys, changes or len()."""
    store = MemoryStore()
    mapping = CloudMapping[Any](store, key_prefix="p/")
    whole = CloudMapping[Any](store)
    mapping["a"] = b"1"
    mapping.changes()
    whole.changes()
    store.put("p/" + SCRATCH, b"scratch")
    found = mapping.changes()
    assert (found.added, found.modified, found.deleted) == (set(), set(), set())
    assert not whole.changes().added
    mapping.sync_with_cloud()
    whole.sync_with_cloud()
    assert (list(mapping), len(mapping), list(whole)) == (["a"], 1, ["p/a"])


def test_a_scratch_folder_can_be_looked_into_on_purpose() -> None:
    """A mapping whose prefix is inside the reserved folder sees what it holds."""
    store = MemoryStore()
    store.put(SCRATCH, b"scratch")
    inside = CloudMapping[Any](store, key_prefix=RESERVED_PREFIX)
    assert list(inside) == ["0123/probe"]


def test_verify_on_a_read_only_store_says_it_needs_write_access(
    tmp_path: Path,
) -> None:
    """verify() on a read-only store raises before writing, naming the cause."""
    LocalStore(tmp_path, create=True).close()
    store = LocalStore(tmp_path, read_only=True)
    with pytest.raises(NotSupportedError, match="write access"):
        verify(store)


def test_read_only_open_skips_verify(tmp_path: Path) -> None:
    """open(..., 'r') with ?verify=1 reads without probing (probes need writes)."""
    with cloudmap.open(tmp_path, "c") as db:
        db["k"] = 1
    with cloudmap.open(f"file://{tmp_path}?verify=1", "r") as db:
        assert db["k"] == 1
