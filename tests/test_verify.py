"""`cloudmap.verify` and `CloudMapping(verify=True)` report what a store enforces.

Offline tests run against MemoryStore and LocalStore, which honour everything,
and against a test server (a store wrapper) that drops conditions on delete.
tests/test_verify_emulators.py probes the real emulators and moto behind a
header-stripping proxy.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import cloudmap
import cloudmap.stores
from cloudmap import CloudMapping
from cloudmap.cli import main
from cloudmap.config import mapping_from_config, read_config
from cloudmap.errors import ConfigError, NotSupportedError, StoreError
from cloudmap.stores import MemoryStore, Store
from cloudmap.stores.s3 import S3Store
from cloudmap.targets import memory_store
from cloudmap.testing import Call, Fault, FaultyStore
from cloudmap.verify import RESERVED_PREFIX, probe_store, require, verify

ALL = [
    "create-only",
    "replace-stale",
    "delete-stale",
    "read-if-match",
    "read-if-none-match",
    "listing",
    "etag-changes",
]


class DeleteIgnoringServer(MemoryStore):
    """A server that accepts If-Match on delete and deletes anyway (as MinIO did)."""

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        super().delete(key)


def _memory() -> MemoryStore:
    # A label of its own: verdicts are remembered per store repr.
    return MemoryStore(f"verify-{uuid.uuid4().hex}")


def test_memory_store_honours_everything_and_keeps_no_key() -> None:
    """Every guarantee holds on MemoryStore, and no scratch key is left behind."""
    store = _memory()
    store.put("mine", b"kept")
    verdict = verify(store)
    assert [c.name for c in verdict.checks] == ALL
    assert {c.status for c in verdict.checks} == {"honoured"}
    assert verdict.ok
    assert verdict.exit_code == 0
    assert verdict.leftover == ()
    assert [item.key for item in store.list()] == ["mine"]


def test_local_directory_target_honours_everything(tmp_path: Path) -> None:
    """A path target is probed under its directory and left as it was."""
    verdict = verify(tmp_path)
    assert verdict.ok, str(verdict)
    assert list(cloudmap.stores.LocalStore(tmp_path).list()) == []


def test_url_target_is_probed_under_its_prefix() -> None:
    """A URL's prefix holds the scratch keys; the keys outside it stay as they were."""
    name = f"verify-{uuid.uuid4().hex}"
    store = memory_store(name)
    store.put("outside", b"kept")
    assert verify(f"memory://{name}/runs/1").ok
    assert [item.key for item in store.list()] == ["outside"]
    calls: list[Call] = []
    probe_store(FaultyStore(store, calls.append), "runs/1/")
    assert calls
    assert all(call.key.startswith(f"runs/1/{RESERVED_PREFIX}") for call in calls)


def test_a_server_ignoring_conditional_deletes_is_reported_and_refused() -> None:
    """Only the delete line is ignored; verify=True refuses and names the fallback."""
    server = DeleteIgnoringServer(f"lax-{uuid.uuid4().hex}")
    verdict = verify(server)
    statuses = {c.name: c.status for c in verdict.checks}
    assert statuses.pop("delete-stale") == "ignored"
    assert set(statuses.values()) == {"honoured"}
    assert verdict.exit_code == 1
    assert "delete-stale" in str(verdict)
    with pytest.raises(NotSupportedError, match="delete-stale") as caught:
        CloudMapping(server, verify=True)
    assert "tombstone" in str(caught.value)
    assert list(server.list()) == []


def test_verify_true_probes_once_per_store() -> None:
    """A second mapping over the same store starts without probing again."""
    calls: list[Call] = []
    store = FaultyStore(_memory(), calls.append)
    CloudMapping(store, verify=True, sync_initially=False)
    probed = len(calls)
    assert probed > 0
    CloudMapping(store, verify=True, sync_initially=False)
    assert len(calls) == probed


def test_probes_leave_no_key_when_a_setup_write_fails() -> None:
    """A failure midway becomes an error line; every scratch key is still removed."""

    def fail_delete_setup(call: Call) -> Fault | None:
        if call.op == "put" and call.key.endswith("/delete-stale") and call.n == 1:
            return Fault.SERVER_ERROR
        return None

    inner = _memory()
    verdict = verify(FaultyStore(inner, fail_delete_setup))
    statuses = {c.name: c.status for c in verdict.checks}
    assert statuses.pop("delete-stale") == "error"
    assert set(statuses.values()) == {"honoured"}
    assert verdict.exit_code == 1
    assert list(inner.list()) == []


def test_probes_leave_no_key_when_the_store_raises_through() -> None:
    """An unexpected exception propagates, after the scratch keys are removed."""

    def crash_on_listing_probe(call: Call) -> BaseException | None:
        if call.op == "put" and call.key.endswith("/listing"):
            return RuntimeError("the store crashed")
        return None

    inner = _memory()
    with pytest.raises(RuntimeError, match="crashed"):
        verify(FaultyStore(inner, crash_on_listing_probe))
    assert list(inner.list()) == []


def test_cleanup_retries_a_failed_delete() -> None:
    """A scratch key whose first delete fails is deleted on the next attempt."""

    def fail_first_unconditional_delete(call: Call) -> Fault | None:
        if call.op == "delete" and call.key.endswith("/create-only") and call.n == 0:
            return Fault.THROTTLE
        return None

    inner = _memory()
    verdict = verify(FaultyStore(inner, fail_first_unconditional_delete))
    assert verdict.ok
    assert verdict.leftover == ()
    assert list(inner.list()) == []


def test_a_probe_that_cannot_run_is_not_remembered() -> None:
    """verify=True raises StoreError on a probe error, then probes again next time."""
    failing = True

    def flaky(call: Call) -> Fault | None:
        return Fault.RESET if failing and call.op == "list" else None

    store = FaultyStore(_memory(), flaky)
    with pytest.raises(StoreError, match="could not verify"):
        require(store)
    failing = False
    assert require(store).ok


def test_verify_option_on_urls_and_ini_files(tmp_path: Path) -> None:
    """`?verify=1` and `verify = true` reach the mapping; a bad value is a ConfigError."""
    name = f"verify-{uuid.uuid4().hex}"
    with cloudmap.open(f"memory://{name}?verify=1") as shelf:
        shelf["a"] = 1
    with pytest.raises(ConfigError, match="verify"):
        cloudmap.open(f"memory://{name}?verify=maybe")
    ini = tmp_path / "store.ini"
    ini.write_text(
        f"[default]\nprovider = in-memory\nname = {name}\nverify = true\n",
        encoding="utf-8",
    )
    mapping = mapping_from_config(ini, codec=cloudmap.codecs.raw())
    assert isinstance(mapping, CloudMapping)
    ini.write_text(
        f"[default]\nprovider = in-memory\nname = {name}\nverify = perhaps\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="verify"):
        mapping_from_config(ini, codec=cloudmap.codecs.raw())


def test_an_ini_with_several_stores_is_verified_one_store_at_a_time(
    tmp_path: Path,
) -> None:
    """verify() refuses a replicated ini; `verify = true` in [default] covers each."""
    ini = tmp_path / "two.ini"
    ini.write_text(
        "[default]\nproviders = a, b\n"
        "[a]\nprovider = in-memory\nname = a\n[b]\nprovider = in-memory\nname = b\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="2 stores"):
        verify(ini)
    assert [p.verify for p in read_config(ini)] == [False, False]
    ini.write_text(
        "[default]\nproviders = a, b\nverify = true\n"
        "[a]\nprovider = in-memory\nname = a\n"
        "[b]\nprovider = in-memory\nname = b\nverify = false\n",
        encoding="utf-8",
    )
    assert [p.verify for p in read_config(ini)] == [True, False]


def test_doctor_checks_every_provider_of_an_ini_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cloudmap doctor file.ini` reports one verdict per provider and exits 0."""
    ini = tmp_path / "two.ini"
    ini.write_text(
        "[default]\nproviders = a, b\n"
        f"[a]\nprovider = in-memory\nname = a-{uuid.uuid4().hex}\n"
        f"[b]\nprovider = filesystem\nfolder_path = {tmp_path / 'b'}\n",
        encoding="utf-8",
    )
    (tmp_path / "b").mkdir()
    assert main(["--json", "doctor", str(ini)]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [report["ok"] for report in reports] == [True, True]
    assert main(["doctor", str(tmp_path / "missing.ini")]) == 2


def assert_endpoint_options(store: Store) -> None:
    """The store's botocore client uses path-style URLs and checksums when required."""
    assert isinstance(store, S3Store)
    config = store.client.meta.config
    assert getattr(config, "s3", None) == {"addressing_style": "path"}
    for setting in ("request_checksum_calculation", "response_checksum_validation"):
        assert getattr(config, setting) == "when_required"


def test_ini_provider_params_carry_s3_endpoint_options(tmp_path: Path) -> None:
    """Path-style addressing and checksum settings pass from an ini file to botocore."""
    ini = tmp_path / "minio.ini"
    ini.write_text(
        "[default]\nprovider = aws-s3\nbucket_name = b\nregion = us-east-1\n"
        "key_id = x\nkey_secret = y\n"
        "[provider_params]\nendpoint_url = http://127.0.0.1:9\n"
        "addressing_style = path\nrequest_checksum_calculation = when_required\n"
        "response_checksum_validation = WHEN_REQUIRED\n",
        encoding="utf-8",
    )
    (provider,) = read_config(ini)
    store = provider.open_store(create=False)
    try:
        assert_endpoint_options(store)
    finally:
        store.close()
    with pytest.raises(ConfigError, match="addressing_style"):
        S3Store("b", region_name="us-east-1", addressing_style="sideways")
