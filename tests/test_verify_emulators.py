"""`verify` / `cloudmap doctor` against the emulators, and moto behind a lax proxy.

What each emulator ignores is measured in EMULATORS.md: Azurite honours
everything; moto ignores the condition on CompleteMultipartUpload; fake-gcs-server
ignores conditions on delete, on reads and on resumable uploads. A `FaultProxy`
that drops `If-Match` / `If-None-Match` turns moto into a server that accepts
and ignores them, as several S3-compatible servers do.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest

from cloudmap import CloudMapping, open_async
from cloudmap import open as open_shelf
from cloudmap.cli import main
from cloudmap.dask._cache import Memo
from cloudmap.dask._spill import make_spill_mapping
from cloudmap.errors import NotSupportedError
from cloudmap.stores import Store
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.gcs import GCSStore
from cloudmap.stores.s3 import S3Store
from cloudmap.targets import open_store
from cloudmap.verify import Verdict, verify
from tests.fault_proxy import FaultProxy, HeaderFilter, no_faults
from tests.fixtures_s3 import MOTO_CREDENTIALS, NO_RETRIES
from tests.test_verify import assert_endpoint_options

pytestmark = pytest.mark.emulator

CONDITIONS = frozenset({"if-match", "if-none-match"})
WRITE_AND_READ_CONDITIONS = {
    "create-only",
    "replace-stale",
    "delete-stale",
    "read-if-match",
    "read-if-none-match",
}


def _ignored(verdict: Verdict) -> set[str]:
    return {check.name for check in verdict.with_status("ignored")}


def _assert_only(verdict: Verdict, ignored: set[str]) -> None:
    assert _ignored(verdict) == ignored, str(verdict)
    honoured = {check.name for check in verdict.with_status("honoured")}
    assert honoured == {c.name for c in verdict.checks} - ignored, str(verdict)
    assert len(verdict.checks) == 8
    assert verdict.exit_code == (1 if ignored else 0)


def _empty(store: Store) -> None:
    assert list(store.list()) == [], "a probe left a key behind"


@pytest.mark.parametrize("engine", ["sdk", "obstore"])
def test_azurite_honours_everything(
    azure_connection_string: str,
    azure_container: str,
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
) -> None:
    """Azurite enforces every condition, block-list uploads included: doctor exits 0.

    On either engine: obstore's requests carry each condition too.
    """
    with AzureBlobStore(
        azure_container,
        connection_string=azure_connection_string,
        retry_total=0,
        engine=engine,
    ) as store:
        _assert_only(verify(store), set())
        _empty(store)
        monkeypatch.setenv("CLOUDMAP_TEST_AZURE", azure_connection_string)
        url = f"az://{azure_container}/p?connection_string=$CLOUDMAP_TEST_AZURE"
        url += f"&engine={engine}"
        assert main(["doctor", url]) == 0
        _empty(store)


def test_moto_ignores_only_the_multipart_condition(
    s3_endpoint: str, s3_bucket: str
) -> None:
    """moto honours every condition but If-Match on CompleteMultipartUpload."""
    with S3Store(
        s3_bucket, endpoint_url=s3_endpoint, config=NO_RETRIES, **MOTO_CREDENTIALS
    ) as store:
        verdict = verify(store)
        _assert_only(verdict, {"large-value"})
        large = next(c for c in verdict.checks if c.name == "large-value")
        # If-None-Match on the completion is honoured; If-Match is not.
        assert large.detail == (
            "a large write conditioned on a stale etag replaced the value"
        )
        _empty(store)


def test_fake_gcs_server_ignores_what_emulators_md_lists(
    gcs_endpoint: str, gcs_bucket: str
) -> None:
    """fake-gcs-server: conditions on delete, reads and resumable uploads are ignored."""
    with GCSStore(
        gcs_bucket, endpoint_url=gcs_endpoint, project="test", retry=None
    ) as store:
        _assert_only(
            verify(store),
            {"delete-stale", "read-if-match", "read-if-none-match", "large-value"},
        )
        _empty(store)
        url = f"gs://{gcs_bucket}?endpoint={gcs_endpoint}&project=test"
        assert main(["doctor", url]) == 1
        _empty(store)


@pytest.fixture
def lax_proxy(s3_endpoint: str) -> Iterator[Callable[[HeaderFilter], FaultProxy]]:
    """Starts proxies in front of moto that drop the headers a filter names."""
    proxies: list[FaultProxy] = []

    def start(drop: HeaderFilter) -> FaultProxy:
        proxy = FaultProxy(s3_endpoint, no_faults, drop_headers=drop)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


def _drop_all(method: str, path: str) -> Collection[str]:
    return CONDITIONS


def _drop_on_delete(method: str, path: str) -> Collection[str]:
    return CONDITIONS if method == "DELETE" else ()


@pytest.mark.parametrize(
    ("drop", "stripped"),
    [
        pytest.param(_drop_all, WRITE_AND_READ_CONDITIONS, id="every-condition"),
        pytest.param(_drop_on_delete, {"delete-stale"}, id="delete-only"),
    ],
)
def test_doctor_reports_exactly_the_stripped_guarantees(
    lax_proxy: Callable[[HeaderFilter], FaultProxy],
    s3_bucket: str,
    drop: HeaderFilter,
    stripped: set[str],
) -> None:
    """Behind a proxy dropping conditions, those lines (and moto's own) are ignored."""
    proxy = lax_proxy(drop)
    with S3Store(
        s3_bucket, endpoint_url=proxy.url, config=NO_RETRIES, **MOTO_CREDENTIALS
    ) as store:
        _assert_only(verify(store), stripped | {"large-value"})
        assert proxy.dropped, "the proxy dropped nothing: the test proves nothing"
        with pytest.raises(NotSupportedError, match="delete-stale"):
            CloudMapping(store, verify=True)
        _empty(store)


def test_doctor_command_exit_codes_and_json(
    lax_proxy: Callable[[HeaderFilter], FaultProxy],
    s3_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`cloudmap doctor` exits 1 when something is ignored, 2 on a bad target."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    proxy = lax_proxy(_drop_on_delete)
    url = f"s3://{s3_bucket}/runs?endpoint={proxy.url}&region=us-east-1"
    assert main(["doctor", url, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    ignored = {c["name"] for c in report["checks"] if c["status"] == "ignored"}
    assert ignored == {"delete-stale", "large-value"}
    assert report["leftover"] == []
    direct = f"s3://{s3_bucket}?endpoint={s3_endpoint}&region=us-east-1"
    assert main(["doctor", direct]) == 1
    assert "ignored   large-value" in capsys.readouterr().out
    assert main(["doctor", f"s3://{s3_bucket}?endpoint={s3_endpoint}&nope=1"]) == 2
    assert "unknown option 'nope'" in capsys.readouterr().err


def _open_async(url: str) -> Any:
    async def opened() -> Any:
        return await open_async(url)

    return asyncio.run(opened())


def _cached(url: str) -> Any:
    return Memo(url, prefix=f"verify-{uuid.uuid4().hex}/").mapping()


def _spilled(url: str) -> Any:
    return make_spill_mapping(url, 0, "spill/")


@pytest.mark.parametrize(
    "opener",
    [open_shelf, _open_async, _cached, _spilled],
    ids=["open", "open_async", "cached", "spill"],
)
def test_verify_url_option_refuses_a_lax_server(
    lax_proxy: Callable[[HeaderFilter], FaultProxy],
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    opener: Callable[[str], Any],
) -> None:
    """Every opener of `s3://...?verify=1` refuses to start on a lax server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    proxy = lax_proxy(_drop_all)
    url = f"s3://{s3_bucket}?endpoint={proxy.url}&region=us-east-1&verify=1"
    with pytest.raises(NotSupportedError, match="create-only"):
        opener(url)


def test_s3_endpoint_options_reach_botocore(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Path-style addressing and the checksum settings pass from a URL to the client."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store, _ = open_store(
        f"s3://{s3_bucket}?endpoint={s3_endpoint}&region=us-east-1"
        "&addressing_style=path&request_checksum_calculation=when_required"
        "&response_checksum_validation=when_required"
    )
    try:
        assert_endpoint_options(store)
        store.put("k", b"v")
        entry = store.get("k")
        assert entry is not None
        assert entry.data == b"v"
        store.delete("k")
    finally:
        store.close()


def _recording_proxy(upstream: str, seen: list[tuple[str, str]]) -> FaultProxy:
    def record(method: str, path: str, n: int) -> None:
        seen.append((method, path))

    return FaultProxy(upstream, record)


def test_large_value_probe_sends_a_multipart_upload_to_s3(
    s3_endpoint: str, s3_bucket: str
) -> None:
    """The tiny large-value probe completes a real multipart upload."""
    seen: list[tuple[str, str]] = []
    with (
        _recording_proxy(s3_endpoint, seen) as proxy,
        S3Store(
            s3_bucket, endpoint_url=proxy.url, config=NO_RETRIES, **MOTO_CREDENTIALS
        ) as store,
    ):
        verify(store)
    assert any(m == "POST" and "uploadId=" in p for m, p in seen)


def test_large_value_probe_commits_a_block_list_on_azure(
    azure_connection_string: str, azure_container: str
) -> None:
    """The tiny large-value probe uploads a block and commits a block list."""
    seen: list[tuple[str, str]] = []
    settings = dict(p.split("=", 1) for p in azure_connection_string.split(";") if p)
    with _recording_proxy(settings["BlobEndpoint"], seen) as proxy:
        settings["BlobEndpoint"] = f"{proxy.url}/{settings['AccountName']}"
        proxied = ";".join(f"{k}={v}" for k, v in settings.items())
        with AzureBlobStore(
            azure_container, connection_string=proxied, retry_total=0
        ) as store:
            assert verify(store).ok
    assert any(m == "PUT" and "comp=blocklist" in p for m, p in seen)


def test_large_value_probe_starts_a_resumable_upload_on_gcs(
    gcs_endpoint: str, gcs_bucket: str
) -> None:
    """The tiny large-value probe takes the resumable-upload path."""
    seen: list[tuple[str, str]] = []
    with (
        _recording_proxy(gcs_endpoint, seen) as proxy,
        GCSStore(
            gcs_bucket, endpoint_url=proxy.url, project="test", retry=None
        ) as store,
    ):
        verify(store)
    assert any("uploadType=resumable" in p for _, p in seen)
