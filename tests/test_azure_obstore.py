"""AzureBlobStore(engine="obstore"): what differs from the SDK engine, on Azurite.

The store contract, races, request economy, large values and wire faults run
over both engines through the `azure_obstore` provider of tests/conftest.py,
and tests/test_azure.py runs its store tests on both; what S3's and Azure's
obstore engines share (requests on the wire, keys and listings obstore cannot
name) is in tests/test_obstore_engines.py. Here are Azure's own: metadata,
large values, empty values, credentials, configuration and error answers.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from benchmarks import engines, engines_azure
from cloudmap.config import read_config
from cloudmap.errors import (
    AccessDeniedError,
    ConfigError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.mappings import AzureBlobMapping
from cloudmap.stores import Replace
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.targets import open_store
from tests.fault_proxy import Wire, error_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.emulator

MIB = 1024 * 1024


def _settings(connection_string: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in connection_string.split(";") if part)


def _via(connection_string: str, endpoint: str) -> str:
    """The connection string with its blob endpoint at `endpoint`."""
    settings = _settings(connection_string)
    settings["BlobEndpoint"] = f"{endpoint}/{settings['AccountName']}"
    return ";".join(f"{k}={v}" for k, v in settings.items())


@pytest.fixture
def wire(azure_connection_string: str) -> Iterator[Wire]:
    parts = urlsplit(_settings(azure_connection_string)["BlobEndpoint"])
    recorder = Wire(f"{parts.scheme}://{parts.netloc}")
    yield recorder
    recorder.proxy.close()


@pytest.fixture
def fast(
    wire: Wire, azure_connection_string: str, azure_container: str
) -> Iterator[AzureBlobStore]:
    conn = _via(azure_connection_string, wire.proxy.url)
    with AzureBlobStore(azure_container, connection_string=conn, engine="obstore") as s:
        yield s


@pytest.fixture
def sdk(azure_connection_string: str, azure_container: str) -> Iterator[AzureBlobStore]:
    with AzureBlobStore(
        azure_container, connection_string=azure_connection_string
    ) as store:
        yield store


def test_an_empty_value_is_read_in_one_request(
    fast: AzureBlobStore, wire: Wire
) -> None:
    """obstore asks for no byte range: an empty blob costs one GET, not two."""
    fast.put("k", b"")
    wire.methods()
    entry = fast.get("k")
    assert entry is not None
    assert entry.data == b""
    assert wire.methods() == ["GET"]


def test_large_values_go_as_blocks_under_the_condition(
    azure_connection_string: str, azure_container: str, wire: Wire
) -> None:
    """Over max_single_put_size the SDK sends blocks and a conditional Put Block List."""
    conn = _via(azure_connection_string, wire.proxy.url)
    with AzureBlobStore(
        azure_container,
        connection_string=conn,
        engine="obstore",
        max_single_put_size=MIB,
        max_block_size=MIB,
    ) as store:
        etag = store.put("big", b"x" * (2 * MIB + 1), mode="create")
        assert [path for _, path in wire.requests].count("/") == 0
        assert sum("comp=block&" in path for _, path in wire.requests) == 3
        with pytest.raises(EtagMismatchError):
            store.put("big", b"y" * (2 * MIB + 1), mode=Replace('"0x1"'))
        with pytest.raises(KeyExistsError):
            store.put("big", b"y" * (2 * MIB + 1), mode="create")
        entry = store.get("big", if_match=etag)
        assert entry is not None
        assert entry.data == b"x" * (2 * MIB + 1)


def test_upper_case_metadata_names_are_written_by_the_sdk(
    fast: AzureBlobStore, sdk: AzureBlobStore, wire: Wire
) -> None:
    """obstore would lower-case `Owner`: the SDK writes it; obstore reads `owner`."""
    wire.methods()
    fast.put("k", b"1", metadata={"Owner": "me"})
    assert wire.methods() == ["PUT"]
    entry = sdk.get("k")
    assert entry is not None
    assert dict(entry.metadata) == {"Owner": "me"}
    got = fast.get("k")
    assert got is not None
    assert dict(got.metadata) == {"owner": "me"}


@pytest.mark.parametrize("value", ["é", "a\nb", " lead"])
def test_metadata_values_are_checked_before_obstore(
    fast: AzureBlobStore, value: str
) -> None:
    """A value obstore's signer would panic on is a ValueError, before any request."""
    with pytest.raises(ValueError, match="printable ASCII"):
        fast.put("k", b"1", metadata={"owner": value})
    assert fast.get("k") is None


def test_missing_container_is_container_not_found(azure_connection_string: str) -> None:
    """Reads, writes and listings of a missing container raise ContainerNotFoundError."""
    with AzureBlobStore(
        "cm-no-such-container",
        connection_string=azure_connection_string,
        engine="obstore",
    ) as store:
        with pytest.raises(ContainerNotFoundError):
            store.get("k")
        with pytest.raises(ContainerNotFoundError):
            store.put("k", b"1", mode="create")
        with pytest.raises(ContainerNotFoundError):
            list(store.list())


def test_unreachable_endpoint_is_transient_and_unsent(
    azure_connection_string: str,
) -> None:
    """A refused connection is a TransientStoreError that never reached a server."""
    conn = _via(azure_connection_string, "http://127.0.0.1:9")
    with AzureBlobStore("c", connection_string=conn, engine="obstore") as store:
        for call in (
            lambda: store.put("k", b"1", mode="create"),
            lambda: store.get("k"),
        ):
            with pytest.raises(TransientStoreError) as info:
                call()
            assert not info.value.may_have_applied
            assert "AccountKey" not in str(info.value)


def test_a_sas_token_signs_obstores_requests(
    azure_connection_string: str, azure_container: str, sdk: AzureBlobStore
) -> None:
    """A container URL with a SAS token works on the obstore engine, never shown."""
    settings = _settings(azure_connection_string)
    sas = generate_container_sas(
        settings["AccountName"],
        azure_container,
        account_key=settings["AccountKey"],
        permission=ContainerSasPermissions(read=True, write=True, list=True),
        expiry="2099-01-01T00:00:00Z",
    )
    url = f"{settings['BlobEndpoint']}?{sas}"
    with AzureBlobStore(azure_container, account_url=url, engine="obstore") as store:
        etag = store.put("k", b"1", mode="create")
        assert [k.etag for k in store.list()] == [etag]
        entry = store.get("k", if_match=etag)
        assert entry is not None
        assert entry.data == b"1"
        assert "sig=" not in repr(store)


def test_engine_from_url_and_ini(
    azure_connection_string: str,
    azure_container: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`?engine=obstore` in a target URL and `engine = obstore` in ini select it."""
    monkeypatch.setenv("CM_TEST_CONN", azure_connection_string)
    url = f"az://{azure_container}?connection_string=$CM_TEST_CONN&engine=obstore"
    store, _ = open_store(url)
    assert isinstance(store, AzureBlobStore)
    assert store.engine == "obstore"
    store.close()
    ini = tmp_path / "store.ini"
    ini.write_text(
        "[default]\n"
        "provider = azure-blob\n"
        f"container_name = {azure_container}\n"
        "auth_type = connection_string\n"
        "environment_key = CM_TEST_CONN\n"
        "engine = obstore\n"
    )
    (config,) = read_config(ini)
    from_ini = config.open_store(create=False)
    assert isinstance(from_ini, AzureBlobStore)
    assert from_ini.engine == "obstore"
    from_ini.put("k", b"1", mode="create")
    from_ini.close()


def test_unknown_engine_and_injected_client_are_config_errors(
    azure_connection_string: str, sdk: AzureBlobStore
) -> None:
    """An unknown engine, or obstore with a ready SDK client, is refused."""
    with pytest.raises(ConfigError, match="'sdk' or 'obstore'"):
        AzureBlobStore("c", connection_string=azure_connection_string, engine="rust")
    with pytest.raises(ConfigError, match="client="):
        AzureBlobStore(sdk.client.container_name, client=sdk.client, engine="obstore")


def test_azure_blob_mapping_on_the_obstore_engine(
    azure_connection_string: str, azure_container: str
) -> None:
    """AzureBlobMapping(engine="obstore") round-trips a JSON value through obstore."""
    m: AzureBlobMapping[dict[str, int]] = AzureBlobMapping.with_json(
        azure_container, connection_string=azure_connection_string, engine="obstore"
    )
    m["k"] = {"a": 1}
    assert m["k"] == {"a": 1}
    assert "engine='obstore'" in repr(m.store)
    m.close()


@pytest.mark.parametrize(
    ("status", "code", "error", "applied"),
    [
        (503, "ServerBusy", TransientStoreError, False),
        (500, "InternalError", TransientStoreError, True),
        (403, "AuthenticationFailed", AccessDeniedError, None),
        (400, "InvalidHeaderValue", StoreError, None),
        (409, "BlobAlreadyExists", KeyExistsError, None),
        (409, "LeaseIdMissing", StoreError, None),
        (404, "ContainerNotFound", ContainerNotFoundError, None),
    ],
)
def test_service_errors_are_translated(
    status: int, code: str, error: type[Exception], applied: bool | None
) -> None:
    """Azure's answers to a create map as on the SDK engine, cause kept."""
    with error_server(status, code) as url:
        conn = _via("AccountName=devstoreaccount1;AccountKey=a2V5", url)
        with (
            AzureBlobStore("c", connection_string=conn, engine="obstore") as store,
            pytest.raises(error) as info,
        ):
            store.put("k", b"1", mode="create")
    assert type(info.value) is error
    assert info.value.__cause__ is not None
    if applied is not None:
        assert info.value.may_have_applied is applied


def test_engines_benchmark_runs_every_azure_implementation(
    azure_connection_string: str,
) -> None:
    """benchmarks/engines.py measures each op of each Azure implementation (3 keys)."""
    results = {}
    for name, make in engines.AZURE_IMPLS.items():
        container = engines_azure.new_container(azure_connection_string)
        impl = make(azure_connection_string, container)
        figures = engines.run_once(impl, 3, 1, page=engines_azure.PAGE)
        assert set(figures) == set(engines.OPS)
        assert all(cpu > 0 and wall > 0 for cpu, wall in figures.values())
        results[name] = {
            op: {"cpu_ms": cpu, "wall_ms": wall} for op, (cpu, wall) in figures.items()
        }
    assert "sdk/obstore CPU" in engines.table(results, 3, sdk="sdk", page=5000)


class _Credential:
    """A TokenCredential (azure-core's protocol) that records what it was asked."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("token", int(time.time()) + 3600)


def test_a_token_credential_is_asked_for_a_storage_token() -> None:
    """obstore signs with a token from the store's TokenCredential, for storage."""
    credential = _Credential()
    with (
        AzureBlobStore(
            "c",
            account_url="https://127.0.0.1:9/a",
            credential=credential,
            engine="obstore",
        ) as store,
        pytest.raises(TransientStoreError),
    ):  # nothing listens on port 9
        store.get("k")
    assert credential.scopes == [("https://storage.azure.com/.default",)]


class _SignedOut:
    """A TokenCredential with no sign-in, as azure-identity's raise then."""

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        msg = "DefaultAzureCredential failed to retrieve a token"
        raise ClientAuthenticationError(msg)


@pytest.mark.parametrize("engine", ["sdk", "obstore"])
def test_a_credential_without_a_token_is_missing_credentials(engine: str) -> None:
    """Both engines raise MissingCredentialsError, never retried, naming the store."""
    store = AzureBlobStore(
        "c",
        account_url="https://127.0.0.1:9/a",
        credential=_SignedOut(),
        engine=engine,
    )
    with store, pytest.raises(MissingCredentialsError) as info:
        store.get("k")
    assert "az://a/c" in str(info.value)
    assert "could not obtain a token" in str(info.value)
