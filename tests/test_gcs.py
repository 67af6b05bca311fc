"""GCSStore and GoogleCloudStorageMapping against fake-gcs-server."""

from __future__ import annotations

import functools
import multiprocessing
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from requests.adapters import HTTPAdapter

from cloudmap import CloudMapping
from cloudmap.codecs import json
from cloudmap.errors import (
    CodecError,
    ConfigError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    KeySyncError,
)
from cloudmap.providers import GoogleCloudStorageMapping
from cloudmap.stores import Replace, Store
from cloudmap.stores.gcs import GCSStore
from tests.http_recording import RecordingAdapter

pytestmark = pytest.mark.emulator

StoreFactory = Callable[[], Store]


# -- helpers -------------------------------------------------------------------


@pytest.fixture
def sdk_client(gcs_endpoint: str) -> Iterator[storage.Client]:
    """A plain google-cloud-storage client on the emulator, as another tool uses."""
    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": gcs_endpoint},
    )
    yield client
    client.close()


@pytest.fixture
def gcs_store(gcs_store_factory: StoreFactory) -> Iterator[GCSStore]:
    store = gcs_store_factory()
    assert isinstance(store, GCSStore)
    yield store
    store.close()


@pytest.fixture
def recorder(gcs_store: GCSStore) -> RecordingAdapter:
    return RecordingAdapter().attach(gcs_store.client)


class RealGCSReadConditions(HTTPAdapter):
    """Answers ignored read conditions as real GCS does (412 / 304), below the SDK.

    fake-gcs-server returns the object whatever `ifGenerationMatch` or
    `ifGenerationNotMatch` says; real GCS answers 412 or 304 instead. This
    transport compares the served generation with the condition, like the
    server would, so the store's handling of those answers is exercised.
    """

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().send(request, **kwargs)
        query = parse_qs(urlsplit(str(request.url)).query)
        if request.method != "GET" or response.status_code != 200:
            return response
        served = response.headers.get("x-goog-generation")
        if served in query.get("ifGenerationNotMatch", []):
            return self._replace(response, 304)
        wanted = query.get("ifGenerationMatch")
        if wanted and served not in wanted:
            return self._replace(response, 412)
        return response

    @staticmethod
    def _replace(response: requests.Response, status: int) -> requests.Response:
        response.close()
        fake = requests.Response()
        fake.status_code = status
        fake.headers = response.headers
        fake.url = response.url
        fake.request = response.request
        fake._content = b""
        return fake


# -- interoperability with other tools ------------------------------------------


def test_objects_written_by_the_sdk_are_read_verbatim(
    gcs_store: GCSStore, sdk_client: storage.Client, gcs_bucket: str
) -> None:
    """An object written by the plain SDK reads back, its generation as etag."""
    blob = sdk_client.bucket(gcs_bucket).blob("from sdk/é a+b")
    blob.upload_from_string(b"raw bytes", content_type="text/plain")
    entry = gcs_store.get("from sdk/é a+b")
    assert entry is not None
    assert entry.data == b"raw bytes"
    assert entry.etag == str(blob.generation)
    assert dict(entry.metadata) == {}
    assert [(i.key, i.etag) for i in gcs_store.list()] == [
        ("from sdk/é a+b", str(blob.generation))
    ]


def test_our_objects_are_readable_by_the_sdk(
    gcs_store: GCSStore, sdk_client: storage.Client, gcs_bucket: str
) -> None:
    """Our keys, bytes, metadata and codec content type are what the SDK sees."""
    etag = gcs_store.put("dir/k?x", b"\x00\x01", metadata={"cloudmap-codec": "json"})
    blob = sdk_client.bucket(gcs_bucket).get_blob("dir/k?x")
    assert blob is not None
    assert blob.download_as_bytes() == b"\x00\x01"
    assert str(blob.generation) == etag
    assert blob.metadata == {"cloudmap-codec": "json"}
    assert blob.content_type == 'application/x-cloudmap; codec="json"'


def test_codec_tag_is_read_from_the_content_type(
    gcs_store: GCSStore, sdk_client: storage.Client, gcs_bucket: str
) -> None:
    """The codec survives in Content-Type where no x-goog-meta header comes back."""
    blob = sdk_client.bucket(gcs_bucket).blob("k")
    blob.upload_from_string(
        b"{}", content_type='application/x-cloudmap; codec="json|zlib"'
    )
    entry = gcs_store.get("k")
    assert entry is not None
    assert entry.metadata == {"cloudmap-codec": "json|zlib"}


def test_other_metadata_round_trips(gcs_store: GCSStore) -> None:
    """Metadata other than the codec tag comes back from a one-request read."""
    gcs_store.put("k", b"v", metadata={"owner": "team-a", "cloudmap-codec": "raw"})
    entry = gcs_store.get("k")
    assert entry is not None
    assert dict(entry.metadata) == {"owner": "team-a", "cloudmap-codec": "raw"}


def test_upper_case_metadata_names_are_refused(gcs_store: GCSStore) -> None:
    """HTTP returns metadata names lower-cased, so other names are refused up front."""
    with pytest.raises(ValueError, match="lower case"):
        gcs_store.put("k", b"v", metadata={"Owner": "x"})
    assert gcs_store.get("k") is None


def test_an_etag_that_is_no_generation_matches_nothing(gcs_store: GCSStore) -> None:
    """A foreign etag (not a generation number) fails if_match without a request."""
    gcs_store.put("k", b"v")
    with pytest.raises(EtagMismatchError):
        gcs_store.put("k", b"w", mode=Replace('"abc"'))
    with pytest.raises(EtagMismatchError):
        gcs_store.get("k", if_match="abc")
    entry = gcs_store.get("k", if_none_match="abc")
    assert entry is not None
    assert entry.data == b"v"


# -- construction ----------------------------------------------------------------


def test_injected_client_is_used_and_left_open(
    sdk_client: storage.Client, gcs_bucket: str
) -> None:
    """A store built on a given client uses it, and close() leaves it open."""
    with GCSStore(gcs_bucket, client=sdk_client, retry=None) as store:
        assert store.client is sdk_client
        store.put("k", b"v", mode="create")
    assert sdk_client.bucket(gcs_bucket).blob("k").download_as_bytes() == b"v"


def test_create_makes_the_bucket(gcs_endpoint: str, unique_name: str) -> None:
    """create=True creates a missing bucket, and is harmless when it exists."""
    with GCSStore(
        unique_name, endpoint_url=gcs_endpoint, project="test", create=True
    ) as store:
        store.put("k", b"v")
    with GCSStore(
        unique_name, endpoint_url=gcs_endpoint, project="test", create=True
    ) as again:
        assert [item.key for item in again.list()] == ["k"]


def test_create_needs_a_project(gcs_endpoint: str, unique_name: str) -> None:
    """create=True without any project raises ConfigError naming the bucket."""
    with pytest.raises(ConfigError, match=unique_name):
        GCSStore(unique_name, endpoint_url=gcs_endpoint, create=True)


def test_missing_bucket_raises_container_not_found(
    gcs_endpoint: str, unique_name: str
) -> None:
    """Writing to or listing a missing bucket raises ContainerNotFoundError."""
    with GCSStore(unique_name, endpoint_url=gcs_endpoint, retry=None) as store:
        with pytest.raises(ContainerNotFoundError) as info:
            store.put("k", b"v")
        assert info.value.store == f"gs://{unique_name}"
        assert info.value.__cause__ is not None
        with pytest.raises(ContainerNotFoundError):
            list(store.list())


def test_name_and_repr_hold_no_credentials(gcs_endpoint: str, gcs_bucket: str) -> None:
    """name is gs://bucket and repr shows only the bucket and endpoint."""
    credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    with GCSStore(
        gcs_bucket, endpoint_url=gcs_endpoint, credentials=credentials
    ) as store:
        assert store.name == f"gs://{gcs_bucket}"
        assert repr(store) == f"GCSStore({gcs_bucket!r}, endpoint_url={gcs_endpoint!r})"


def test_importing_cloudmap_does_not_import_the_sdk() -> None:
    """google.cloud.storage is loaded only when a GCSStore is built."""
    code = (
        "import sys, cloudmap, cloudmap.providers, cloudmap.stores.gcs\n"
        "assert 'google.cloud.storage' not in sys.modules, 'SDK imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- preconditions ride in the request (fake-gcs-server ignores some) -----------


def test_each_operation_is_one_request_with_its_condition(
    gcs_store: GCSStore, recorder: RecordingAdapter, gcs_bucket: str
) -> None:
    """Each write, read and delete is one request carrying its condition."""
    created = gcs_store.put("k", b"1", mode="create")
    replaced = gcs_store.put("k", b"2", mode=Replace(created))
    gcs_store.get("k", if_match=replaced)
    gcs_store.get("k", if_none_match=replaced)
    gcs_store.get("k")
    gcs_store.delete("k", if_match=replaced)
    calls = recorder.calls()
    assert [(method, query.get("uploadType")) for method, _, query in calls] == [
        ("POST", ["multipart"]),
        ("POST", ["multipart"]),
        ("GET", None),
        ("GET", None),
        ("GET", None),
        ("DELETE", None),
    ]
    conditions = [
        (query.get("ifGenerationMatch"), query.get("ifGenerationNotMatch"))
        for _, _, query in calls
    ]
    assert conditions == [
        (["0"], None),
        ([created], None),
        ([replaced], None),
        (None, [replaced]),
        (None, None),
        ([replaced], None),
    ]
    object_path = f"/b/{gcs_bucket}/o"
    assert all(object_path in path for _, path, _ in calls)


def test_a_stale_delete_sends_if_generation_match(
    gcs_store: GCSStore, recorder: RecordingAdapter
) -> None:
    """delete(if_match=old) sends ifGenerationMatch=old, which real GCS refuses."""
    first = gcs_store.put("k", b"1")
    gcs_store.put("k", b"2", mode=Replace(first))
    # fake-gcs-server deletes anyway; real GCS answers 412 to this very request.
    gcs_store.delete("k", if_match=first)
    method, path, query = recorder.calls()[-1]
    assert method == "DELETE"
    assert path.endswith("/o/k")
    assert query["ifGenerationMatch"] == [first]


def test_listing_asks_for_pages_of_a_thousand(
    gcs_store: GCSStore, recorder: RecordingAdapter
) -> None:
    """2,001 keys are listed in three requests of up to 1000 keys, with generations."""
    keys = [f"many/{i:05d}" for i in range(2001)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = pool.map(lambda k: gcs_store.put(k, b""), keys)
        etags = dict(zip(keys, written, strict=True))
    recorder.requests.clear()
    listed = {item.key: item.etag for item in gcs_store.list("many/")}
    assert listed == etags
    pages = recorder.calls()
    assert len(pages) == 3
    assert all(query["maxResults"] == ["1000"] for _, _, query in pages)


@pytest.fixture
def real_read_conditions(gcs_store: GCSStore) -> GCSStore:
    gcs_store.client._http.mount("http://", RealGCSReadConditions())
    return gcs_store


def test_not_modified_answer_gives_an_entry_without_body(
    real_read_conditions: GCSStore,
) -> None:
    """A 304 to ifGenerationNotMatch becomes Entry(not_modified=True) with the etag."""
    store = real_read_conditions
    etag = store.put("k", b"payload", metadata={"cloudmap-codec": "json"})
    entry = store.get("k", if_none_match=etag)
    assert entry is not None
    assert (entry.data, entry.etag, entry.not_modified) == (b"", etag, True)


def test_precondition_failed_read_raises_etag_mismatch(
    real_read_conditions: GCSStore,
) -> None:
    """A 412 to ifGenerationMatch on a read raises EtagMismatchError naming the key."""
    store = real_read_conditions
    first = store.put("k", b"1")
    store.put("k", b"2", mode=Replace(first))
    with pytest.raises(EtagMismatchError) as info:
        store.get("k", if_match=first)
    assert (info.value.key, info.value.expected_etag) == ("k", first)
    assert info.value.store == store.name


# -- the mapping ---------------------------------------------------------------------


def test_mapping_end_to_end(gcs_endpoint: str, gcs_bucket: str) -> None:
    """GoogleCloudStorageMapping.with_json stores, conflicts and deletes on GCS."""
    options = {"bucket_name": gcs_bucket, "endpoint_url": gcs_endpoint}
    with (
        GoogleCloudStorageMapping.with_json(**options) as first,
        GoogleCloudStorageMapping.with_json_zlib(**options) as other_codec,
    ):
        first["config"] = {"workers": 4}
        assert first["config"] == {"workers": 4}
        with GoogleCloudStorageMapping.with_json(**options) as second:
            second["config"] = {"workers": 8}
            with pytest.raises(KeySyncError):
                first["config"] = {"workers": 2}
            other_codec.sync_with_cloud()
            with pytest.raises(CodecError):
                other_codec["config"]
            first.sync_with_cloud()
            assert first["config"] == {"workers": 8}
            del first["config"]
        assert "config" not in first
        first.sync_with_cloud()
        assert list(first) == []


def test_mapping_with_pickle_and_buffers(gcs_endpoint: str, gcs_bucket: str) -> None:
    """with_pickle and with_buffers pass their codec through to the store."""
    options = {"bucket_name": gcs_bucket, "endpoint_url": gcs_endpoint}
    with GoogleCloudStorageMapping.with_pickle(**options) as m:
        m["s"] = {1, 2}
        assert m["s"] == {1, 2}
    with GoogleCloudStorageMapping.with_buffers(
        [str.encode], [bytes.decode], key_prefix="text/", **options
    ) as m:
        m["t"] = "hello"
        assert m["t"] == "hello"


# -- races across processes ----------------------------------------------------------


def _create_once(factory: StoreFactory, barrier: Any, i: int) -> str:
    store = factory()
    try:
        barrier.wait()
        store.put("claim", str(i).encode(), mode="create")
    except KeyExistsError:
        return "lost"
    finally:
        store.close()
    return "won"


def _increment(factory: StoreFactory, threads: int, rounds: int) -> None:
    with CloudMapping[int](factory(), codec=json(), sync_initially=False) as mapping:

        def work() -> None:
            for _ in range(rounds):
                mapping.modify("counter", lambda v: v + 1)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()


def test_two_processes_racing_to_create_have_one_winner(
    gcs_store_factory: StoreFactory,
) -> None:
    """Two processes creating one key at once: exactly one wins."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(2) as pool:
        barrier = manager.Barrier(2)
        outcomes = pool.map(
            functools.partial(_create_once, gcs_store_factory, barrier), range(2)
        )
    assert sorted(outcomes) == ["lost", "won"]


def test_modify_from_eight_workers_in_two_processes_is_exact(
    gcs_store_factory: StoreFactory,
) -> None:
    """2 processes x 4 threads x 25 increments end at exactly 200."""
    with CloudMapping[int](gcs_store_factory(), codec=json()) as mapping:
        mapping.create("counter", 0)
        ctx = multiprocessing.get_context("spawn")
        workers = [
            ctx.Process(target=_increment, args=(gcs_store_factory, 4, 25))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=240)
        assert [worker.exitcode for worker in workers] == [0, 0]
        mapping.sync_with_cloud()
        assert mapping["counter"] == 200
