"""AzureBlobStore and AzureBlobMapping against Azurite: interop, requests, races."""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from cloudmap import codecs
from cloudmap.errors import (
    AccessDeniedError,
    ConfigError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    TransientStoreError,
)
from cloudmap.mapping import CloudMapping
from cloudmap.providers import AzureBlobMapping
from cloudmap.stores import Replace
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.azure._errors import summary
from devtools.emulators import AZURITE_ACCOUNT, AZURITE_KEY, free_port
from tests.http_recording import RecordingTransport

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from cloudmap.stores import Store

pytestmark = pytest.mark.emulator


@pytest.fixture
def sdk(
    azure_connection_string: str, azure_container: str
) -> Iterator[ContainerClient]:
    """A plain SDK client of the test's container."""
    with ContainerClient.from_connection_string(
        azure_connection_string, azure_container, retry_total=0
    ) as client:
        yield client


@pytest.fixture(params=["sdk", "obstore"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each test taking it runs on the SDK engine and on the obstore engine."""
    return str(request.param)


@pytest.fixture
def factory(
    azure_store_factory: Callable[..., Store], engine: str
) -> Callable[[], Store]:
    """Picklable: a client of the test's container on `engine`."""
    return functools.partial(azure_store_factory, engine=engine)


@pytest.fixture
def store(factory: Callable[[], Store]) -> Iterator[Store]:
    client = factory()
    yield client
    client.close()


@pytest.fixture
def recorded(
    azure_connection_string: str, azure_container: str
) -> Iterator[tuple[AzureBlobStore, RecordingTransport]]:
    """A store whose HTTP requests are recorded, with small block sizes."""
    transport = RecordingTransport()
    with AzureBlobStore(
        azure_container,
        connection_string=azure_connection_string,
        retry_total=0,
        transport=transport,
        max_single_put_size=1024,
        max_block_size=1024,
    ) as client:
        yield client, transport


def _blob_url(azure_connection_string: str) -> str:
    fields = dict(
        part.split("=", 1) for part in azure_connection_string.split(";") if part
    )
    return fields["BlobEndpoint"].rstrip("/")


def _read_only_sas(container: str) -> str:
    return generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
    )


# -- interop with the plain SDK ----------------------------------------------------


def test_blobs_written_by_the_sdk_are_read_verbatim(
    store: Store, sdk: ContainerClient
) -> None:
    """A blob the SDK uploaded without metadata is read and listed under its name."""
    key = "from sdk/é %20+?#.txt"
    sdk.get_blob_client(key).upload_blob(b"raw bytes")
    entry = store.get(key)
    assert entry is not None
    assert (entry.data, dict(entry.metadata)) == (b"raw bytes", {})
    assert [item.key for item in store.list()] == [key]


def test_our_blobs_are_read_by_the_sdk(store: Store, sdk: ContainerClient) -> None:
    """The SDK reads our bytes under the same name, and our metadata as identifiers."""
    key = "ours/a b é"
    store.put(key, b"payload", metadata={"cloudmap-codec": "json|zlib", "owner": "me"})
    blob = sdk.get_blob_client(key)
    assert blob.download_blob().readall() == b"payload"
    assert blob.get_blob_properties().metadata == {
        "cloudmap_codec": "json|zlib",
        "owner": "me",
    }
    entry = store.get(key)
    assert entry is not None
    assert dict(entry.metadata) == {"cloudmap-codec": "json|zlib", "owner": "me"}


def test_listed_etags_are_quoted_like_written_ones(
    store: Store, sdk: ContainerClient
) -> None:
    """Listing gives the write's quoted etag; the SDK's unquoted one works too."""
    etag = store.put("k", b"1")
    assert etag.startswith('"')
    assert [(item.key, item.etag) for item in store.list()] == [("k", etag)]
    unquoted = next(iter(sdk.list_blobs())).etag
    assert f'"{unquoted}"' == etag
    second = store.put("k", b"2", mode=Replace(unquoted))
    with pytest.raises(EtagMismatchError):
        store.delete("k", if_match=unquoted)
    store.delete("k", if_match=second)


def test_conflicts_name_the_key_the_etags_and_the_store(store: Store) -> None:
    """KeyExistsError and EtagMismatchError carry key, etags and the store name."""
    first = store.put("k", b"1")
    store.put("k", b"2", mode=Replace(first))
    with pytest.raises(KeyExistsError) as exists:
        store.put("k", b"3", mode="create")
    assert (exists.value.key, exists.value.store) == ("k", store.name)
    with pytest.raises(EtagMismatchError) as stale:
        store.put("k", b"3", mode=Replace(first))
    assert stale.value.key == "k"
    assert stale.value.expected_etag == first
    assert stale.value.actual_etag is None  # Azure's 412 does not say
    assert stale.value.store == store.name
    assert "changed or was deleted" in str(stale.value)


# -- metadata names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"a-b": "1"},
        {"cloudmap_codec": "json"},
        {"1abc": "1"},
        {"with space": "1"},
        {"\N{SNOWMAN}": "1"},
        {"v": " leading space"},
        {"v": "trailing space "},
        {"v": "caf\N{LATIN SMALL LETTER E WITH ACUTE}"},
        {"v": "two\nlines"},
        {"Owner": "a", "owner": "b"},
    ],
)
def test_metadata_azure_cannot_keep_is_refused(
    store: Store, metadata: dict[str, str]
) -> None:
    """Names that are not identifiers and values HTTP would alter raise ValueError."""
    with pytest.raises(ValueError, match="'k'"):
        store.put("k", b"v", metadata=metadata)
    assert store.get("k") is None


# -- keys Azure would alias ----------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["a/./b", "a/../b", "./a", "..", "x.", "dir./x", "a\\b"]
)
def test_keys_azure_would_alias_are_refused_before_any_request(
    recorded: tuple[AzureBlobStore, RecordingTransport], key: str
) -> None:
    """Dot segments, trailing dots and backslashes raise ValueError; nothing is sent."""
    store, transport = recorded
    for call in (
        lambda: store.put(key, b"v"),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError, match="key"):
            call()
    assert transport.requests == []


def test_dots_inside_segments_are_fine(store: Store) -> None:
    """Only a segment ending with '.' is refused: '.hidden' and 'a.b/c' are stored."""
    for key in (".hidden", "a.b/c", "dir/.x.y"):
        store.put(key, key.encode())
    assert sorted(item.key for item in store.list()) == [".hidden", "a.b/c", "dir/.x.y"]


# -- the requests sent -------------------------------------------------------------


def test_preconditions_ride_on_the_write_itself(
    recorded: tuple[AzureBlobStore, RecordingTransport],
) -> None:
    """Create, replace, delete and reads: one request each, carrying the condition."""
    store, transport = recorded
    etag = store.put("k", b"1", mode="create")
    assert transport.summary() == [("PUT", None, None, "*")]
    transport.requests.clear()

    second = store.put("k", b"2", mode=Replace(etag))
    assert transport.summary() == [("PUT", None, etag, None)]
    transport.requests.clear()

    with pytest.raises(EtagMismatchError):
        store.delete("k", if_match=etag)
    assert transport.summary() == [("DELETE", None, etag, None)]
    transport.requests.clear()

    assert store.get("k", if_none_match=second).not_modified  # type: ignore[union-attr]
    assert transport.summary() == [("GET", None, None, second)]
    transport.requests.clear()

    assert store.get("k", if_match=second).data == b"2"  # type: ignore[union-attr]
    assert transport.summary() == [("GET", None, second, None)]
    transport.requests.clear()

    store.delete("k", if_match=second)
    assert transport.summary() == [("DELETE", None, second, None)]


def test_a_mapping_operation_is_one_request(
    azure_connection_string: str, azure_container: str
) -> None:
    """m[k] = v, m[k] and del m[k] each cost exactly one HTTP request."""
    transport = RecordingTransport()
    with ContainerClient.from_connection_string(
        azure_connection_string, azure_container, retry_total=0, transport=transport
    ) as client:
        m = AzureBlobMapping.with_json(azure_container, client=client)
        transport.requests.clear()

        m["k"] = {"n": 1}
        assert transport.summary() == [("PUT", None, None, "*")]
        first = m.etags["k"]
        transport.requests.clear()

        m["k"] = {"n": 2}
        assert transport.summary() == [("PUT", None, first, None)]
        second = m.etags["k"]
        transport.requests.clear()

        assert m["k"] == {"n": 2}
        assert transport.summary() == [("GET", None, second, None)]
        transport.requests.clear()

        del m["k"]
        assert transport.summary() == [("DELETE", None, second, None)]
        m.close()
        transport.requests.clear()
        assert list(client.list_blobs()) == []  # an injected client is left open
        assert len(transport.requests) == 1


def test_large_values_commit_their_blocks_under_the_condition(
    recorded: tuple[AzureBlobStore, RecordingTransport],
) -> None:
    """Above max_single_put_size, Put Block List carries If-Match / If-None-Match."""
    store, transport = recorded
    big = bytes(range(256)) * 16  # 4 KiB: four 1 KiB blocks
    etag = store.put("big", big, mode="create")
    assert transport.summary() == [("PUT", "block", None, None)] * 4 + [
        ("PUT", "blocklist", None, "*")
    ]
    transport.requests.clear()

    second = store.put("big", big[::-1], mode=Replace(etag))
    assert transport.summary()[-1] == ("PUT", "blocklist", etag, None)
    with pytest.raises(EtagMismatchError):
        store.put("big", big, mode=Replace(etag))
    with pytest.raises(KeyExistsError):
        store.put("big", big, mode="create")
    entry = store.get("big")
    assert entry is not None
    assert (entry.data, entry.etag) == (big[::-1], second)


# -- construction, clients and the container ---------------------------------------


def test_name_and_repr(store: Store, azure_container: str) -> None:
    """The name is az://ACCOUNT/CONTAINER."""
    assert store.name == f"az://{AZURITE_ACCOUNT}/{azure_container}"
    assert repr(store).startswith(f"AzureBlobStore('{store.name}'")


def test_an_injected_container_client_is_used_and_left_open(
    azure_connection_string: str, azure_container: str
) -> None:
    """A ContainerClient passed as client= serves the store; close() leaves it open."""
    with ContainerClient.from_connection_string(
        azure_connection_string, azure_container
    ) as client:
        store = AzureBlobStore(azure_container, client=client)
        assert store.client is client
        store.put("k", b"v")
        store.close()
        assert client.download_blob("k").readall() == b"v"


def test_an_injected_service_client_is_used_and_left_open(
    azure_connection_string: str, azure_container: str
) -> None:
    """A BlobServiceClient passed as client= gives the container's client."""
    with BlobServiceClient.from_connection_string(azure_connection_string) as service:
        with AzureBlobStore(azure_container, client=service) as store:
            store.put("k", b"v")
            assert store.name == f"az://{AZURITE_ACCOUNT}/{azure_container}"
        assert (
            service.get_container_client(azure_container).download_blob("k").readall()
            == b"v"
        )


def test_constructor_arguments_are_checked(
    azure_connection_string: str, azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One source of client at most, else the environment; an injected one is not reconfigured."""
    for name in ("CONNECTION_STRING", "ACCOUNT_NAME", "ACCOUNT_KEY", "SAS_TOKEN"):
        monkeypatch.delenv(f"AZURE_STORAGE_{name}", raising=False)
    with pytest.raises(ConfigError, match="AZURE_STORAGE_CONNECTION_STRING"):
        AzureBlobStore(azure_container)
    with pytest.raises(ValueError, match="at most one"):
        AzureBlobStore(
            azure_container,
            connection_string=azure_connection_string,
            account_url=_blob_url(azure_connection_string),
        )
    with ContainerClient.from_connection_string(
        azure_connection_string, azure_container
    ) as client:
        with pytest.raises(ValueError, match="not 'other'"):
            AzureBlobStore("other", client=client)
        with pytest.raises(ValueError, match="injected"):
            AzureBlobStore(azure_container, client=client, retry_total=0)


def test_account_url_and_credential(
    azure_connection_string: str, azure_container: str, engine: str
) -> None:
    """account_url plus an account-key credential reaches the container."""
    credential = {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    with AzureBlobStore(
        azure_container,
        account_url=_blob_url(azure_connection_string),
        credential=credential,
        retry_total=0,
        engine=engine,
    ) as store:
        store.put("k", b"v")
        assert store.get("k").data == b"v"  # type: ignore[union-attr]


def test_missing_container_raises_on_every_operation(
    azure_connection_string: str, unique_name: str, engine: str
) -> None:
    """Without create=True nothing is created: every operation raises."""
    with AzureBlobStore(
        unique_name,
        connection_string=azure_connection_string,
        retry_total=0,
        engine=engine,
    ) as store:
        for call in (
            lambda: store.get("k"),
            lambda: store.put("k", b"v"),
            lambda: store.delete("k"),
            lambda: list(store.list()),
        ):
            with pytest.raises(ContainerNotFoundError) as info:
                call()
            assert info.value.store == store.name
            assert "create=True" in str(info.value)
    with BlobServiceClient.from_connection_string(azure_connection_string) as service:
        assert not service.get_container_client(unique_name).exists()


def test_create_makes_the_container_once(
    azure_connection_string: str, unique_name: str, engine: str
) -> None:
    """create=True creates a missing container and accepts an existing one."""
    with AzureBlobStore(
        unique_name,
        connection_string=azure_connection_string,
        create=True,
        engine=engine,
    ) as store:
        store.put("k", b"v")
    with AzureBlobStore(
        unique_name,
        connection_string=azure_connection_string,
        create=True,
        engine=engine,
    ) as store:
        assert store.get("k").data == b"v"  # type: ignore[union-attr]


# -- credentials never shown, failures classified ----------------------------------


def test_a_wrong_key_is_access_denied_and_never_shown(
    azure_connection_string: str, azure_container: str, engine: str
) -> None:
    """A bad account key gives AccessDeniedError; neither key appears anywhere."""
    wrong = "A" * 86 + "=="
    with AzureBlobStore(
        azure_container,
        account_url=_blob_url(azure_connection_string),
        credential={"account_name": AZURITE_ACCOUNT, "account_key": wrong},
        retry_total=0,
        engine=engine,
    ) as store:
        with pytest.raises(AccessDeniedError) as info:
            store.get("k")
        with pytest.raises(AccessDeniedError):
            list(store.list())
        for text in (str(info.value), repr(store), store.name):
            assert wrong not in text
            assert AZURITE_KEY not in text
        assert "403" in str(info.value)


def test_connection_string_is_never_shown(
    azure_connection_string: str, azure_container: str, engine: str
) -> None:
    """Neither the connection string nor its key appears in repr, name or errors."""
    with AzureBlobStore(
        azure_container, connection_string=azure_connection_string, engine=engine
    ) as store:
        with pytest.raises(ValueError, match="metadata") as info:
            store.put("k", b"v", metadata={"bad-name": "x"})
        for text in (repr(store), store.name, str(info.value)):
            assert AZURITE_KEY not in text
            assert "AccountKey" not in text


def test_a_sas_token_is_never_shown(
    azure_connection_string: str, azure_container: str, engine: str
) -> None:
    """A read-only SAS reads, is refused writes, and its signature appears nowhere."""
    sas = _read_only_sas(azure_container)
    signature = parse_qs(sas)["sig"][0]
    url = _blob_url(azure_connection_string)
    with AzureBlobStore(
        azure_container, connection_string=azure_connection_string
    ) as rw:
        rw.put("k", b"v")
    option_sets: list[dict[str, Any]] = [
        {"account_url": url, "credential": sas},
        {"account_url": f"{url}?{sas}"},
    ]
    for options in option_sets:
        with AzureBlobStore(
            azure_container, retry_total=0, engine=engine, **options
        ) as store:
            assert store.get("k").data == b"v"  # type: ignore[union-attr]
            with pytest.raises(AccessDeniedError) as info:
                store.put("k", b"w")
            for text in (str(info.value), repr(store), store.name):
                assert signature not in text
                assert sas not in text


def test_an_unreachable_endpoint_is_transient_and_hides_the_sas(
    azure_container: str,
    engine: str,
) -> None:
    """Connection refused gives TransientStoreError, without the SAS in its message."""
    sas = _read_only_sas(azure_container)
    url = f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}?{sas}"
    with (
        AzureBlobStore(
            azure_container, account_url=url, retry_total=0, engine=engine
        ) as store,
        pytest.raises(TransientStoreError) as info,
    ):
        store.get("k")
    if engine == "sdk":
        assert isinstance(info.value.__cause__, ServiceRequestError)
    else:
        assert "error sending request" in str(info.value.__cause__)
    assert parse_qs(sas)["sig"][0] not in str(info.value)
    assert sas not in str(info.value)


def test_sdk_messages_are_redacted() -> None:
    """A SAS signature or account key in an SDK message never reaches ours."""
    error = ServiceRequestError(
        "Max retries exceeded with url: /c/k?sv=2026&sig=SECRET%2Bsig "
        "(AccountKey=KEY==;SharedAccessSignature=sv=1&sig=OTHER)"
    )
    line = summary(error)
    assert line.startswith("ServiceRequestError: Max retries exceeded")
    for secret in ("SECRET", "KEY==", "OTHER"):
        assert secret not in line


def test_importing_cloudmap_imports_no_azure_module() -> None:
    """The SDK is imported only when a store is built."""
    code = (
        "import sys, cloudmap, cloudmap.providers, cloudmap.stores.azure; "
        "sys.exit(any(m == 'azure' or m.startswith('azure.') for m in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the mapping ---------------------------------------------------------------------


def test_mapping_with_pickle_as_in_cloud_mappings(
    azure_connection_string: str, azure_container: str, engine: str
) -> None:
    """AzureBlobMapping.with_pickle(container_name=..., connection_string=...) works."""
    m = AzureBlobMapping.with_pickle(
        container_name=azure_container,
        connection_string=azure_connection_string,
        engine=engine,
    )
    with m:
        m["a"] = {"x": [1, 2]}
        assert m["a"] == {"x": [1, 2]}
        assert f"az://{AZURITE_ACCOUNT}/{azure_container}" in repr(m)
    with AzureBlobMapping.with_pickle(
        container_name=azure_container,
        connection_string=azure_connection_string,
        engine=engine,
    ) as again:
        assert dict(again) == {"a": {"x": [1, 2]}}


@pytest.mark.parametrize(
    ("make", "value"),
    [
        (AzureBlobMapping.with_json, {"a": 1}),
        (AzureBlobMapping.with_json_zlib, [1, "two"]),
        (
            functools.partial(
                AzureBlobMapping.with_buffers, [str.encode], [bytes.decode]
            ),
            "s",
        ),
    ],
)
def test_mapping_constructors_round_trip_and_tag_the_codec(
    *,
    azure_connection_string: str,
    azure_container: str,
    sdk: ContainerClient,
    make: Callable[..., CloudMapping[Any]],
    value: object,
    engine: str,
) -> None:
    """Each constructor stores values and tags blobs with the codec's name."""
    with make(
        container_name=azure_container,
        connection_string=azure_connection_string,
        engine=engine,
    ) as m:
        m["k"] = value
        assert m["k"] == value
        tag = sdk.get_blob_client("k").get_blob_properties().metadata
        assert tag["cloudmap_codec"] == m.codec.name


def test_mapping_reads_untagged_blobs_and_creates_its_container(
    azure_connection_string: str, unique_name: str, engine: str
) -> None:
    """create=True makes the container; values the SDK wrote are decoded."""
    m: CloudMapping[Any]
    with AzureBlobMapping(
        unique_name,
        connection_string=azure_connection_string,
        create=True,
        engine=engine,
    ) as m:
        assert len(m) == 0
    with ContainerClient.from_connection_string(
        azure_connection_string, unique_name
    ) as client:
        client.get_blob_client("ext").upload_blob(b'{"from": "sdk"}')
    with AzureBlobMapping(
        unique_name,
        connection_string=azure_connection_string,
        codec=codecs.json(),
        engine=engine,
    ) as m:
        assert m["ext"] == {"from": "sdk"}


def test_mapping_on_a_missing_container(
    azure_connection_string: str, unique_name: str, engine: str
) -> None:
    """Without create=True a missing container fails the initial listing."""
    with pytest.raises(ContainerNotFoundError):
        AzureBlobMapping(
            unique_name, connection_string=azure_connection_string, engine=engine
        )


# -- races across processes ----------------------------------------------------------

THREADS = 4
ROUNDS = 5


def _race_creates(
    factory: Callable[[], Store],
    barrier: Any,
    results: Any,
    process: int,
) -> None:
    """Every thread of this process creates the same keys, released by the barrier."""
    store = factory()

    def run(thread: int) -> None:
        for round_ in range(ROUNDS):
            barrier.wait()
            try:
                store.put(
                    f"claim/{round_}",
                    f"{process}.{thread}".encode(),
                    mode="create",
                )
            except KeyExistsError:
                results.put((round_, "lost"))
            else:
                results.put((round_, "won"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()


def _increment(factory: Callable[[], Store], key: str, times: int) -> None:
    """THREADS threads share one mapping, each adding 1 to `key`, `times` times."""
    with CloudMapping.with_json(factory(), sync_initially=False) as m:

        def work(_: int) -> None:
            for _ in range(times):
                m.modify(key, lambda v: v + 1)

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(work, range(THREADS)))


def test_two_processes_racing_to_create_have_one_winner(
    factory: Callable[[], Store],
) -> None:
    """2 processes x 4 threads create one key per round: exactly one wins each round."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2 * THREADS, timeout=60)
    results = context.Queue()
    processes = [
        context.Process(target=_race_creates, args=(factory, barrier, results, p))
        for p in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * THREADS * ROUNDS)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    results.close()
    results.join_thread()
    for round_ in range(ROUNDS):
        won = [o for r, o in outcomes if r == round_ and o == "won"]
        lost = [o for r, o in outcomes if r == round_ and o == "lost"]
        assert (len(won), len(lost)) == (1, 2 * THREADS - 1), outcomes


def test_eight_workers_in_two_processes_count_exactly(
    factory: Callable[[], Store],
) -> None:
    """2 processes x 4 threads x 25 modify(+1) calls leave exactly 200."""
    with CloudMapping.with_json(factory()) as m:
        m["counter"] = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(_increment, factory, "counter", 25) for _ in range(2)]
        for future in futures:
            future.result(timeout=240)
    with CloudMapping.with_json(factory()) as m:
        assert m["counter"] == 2 * THREADS * 25
