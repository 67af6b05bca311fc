"""A full sync over LocalStore takes its listing as one dict: the same keys and etags as `list`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cloudmap import CloudMapping
from cloudmap.lease import LOCK_PREFIX
from cloudmap.stores import LocalStore


def test_list_etags_is_the_listing_as_a_dict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalStore(tmp_path)
    store.put("b", b"1")
    store.put("a/x", b"2")
    (tmp_path / "foreign").write_bytes(b"by another tool")
    (tmp_path / "bad\\name").write_bytes(b"no valid key")
    with caplog.at_level(logging.WARNING, logger="cloudmap"):
        etags = store.list_etags()
    assert list(etags) == ["a/x", "b", "foreign"]
    assert etags == {item.key: item.etag for item in store.list()}
    assert etags["foreign"] == store.get("foreign").etag  # type: ignore[union-attr]
    assert store.list_etags("a/") == {"a/x": etags["a/x"]}
    assert [r.getMessage() for r in caplog.records if "bad" in r.getMessage()]


def test_full_sync_strips_the_prefix_and_hides_lock_objects(tmp_path: Path) -> None:
    writer = CloudMapping[bytes](LocalStore(tmp_path), key_prefix="team")
    writer["k"] = b"v"
    with writer.lock("job", ttl=30):
        assert any(k.startswith(LOCK_PREFIX) for k in LocalStore(tmp_path).list_etags())
        other = CloudMapping[bytes](LocalStore(tmp_path), key_prefix="team")
        outside = CloudMapping[bytes](LocalStore(tmp_path))
        other.sync_with_cloud()
        outside.sync_with_cloud()
    assert dict(other.etags) == dict(writer.etags) == {"k": other.etags["k"]}
    assert set(outside.etags) == {"team/k"}
