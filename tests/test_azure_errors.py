"""azure-core's exception types map to cloudmap's errors, most specific first.

The SDK's own exception objects go through `map_azure_errors`; each transient
one says whether the failed request may have been applied, the one thing
`RetryingStore` reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from azure.core import exceptions as az
from azure.storage.blob import StorageErrorCode

from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.azure._errors import map_azure_errors

if TYPE_CHECKING:
    from collections.abc import Iterator
from devtools.emulators import free_port
from tests.fault_proxy import FaultProxy, WireFault

STORE = "az://account/container"


def _response_error(
    kind: type[az.HttpResponseError] = az.HttpResponseError,
    status: int | None = None,
    code: StorageErrorCode | None = None,
) -> az.HttpResponseError:
    """An error as azure-storage-blob raises it: status and error code set."""
    error = kind("the service said no")
    error.status_code = status
    error.error_code = code  # type: ignore[attr-defined]
    return error


def _mapped(error: BaseException, *, if_match: str | None = None) -> StoreError:
    with (
        pytest.raises(StoreError) as info,
        map_azure_errors(STORE, "put", "k", if_match=if_match),
    ):
        raise error
    assert info.value.__cause__ is error
    return info.value


def _decode_error_from(cause: BaseException) -> az.HttpResponseError:
    """A broken download as the SDK reports it: no status, the cause inside."""
    try:
        raise cause
    except az.AzureError as exc:
        try:
            raise az.HttpResponseError(exc, error=exc) from exc
        except az.HttpResponseError as outer:
            return outer


@pytest.mark.parametrize(
    ("error", "applied"),
    [
        pytest.param(az.ServiceRequestError("refused"), False, id="never-sent"),
        pytest.param(
            az.ServiceRequestTimeoutError("connect timeout"),
            False,
            id="connect-timeout",
        ),
        pytest.param(az.ServiceResponseError("reset"), True, id="answer-lost"),
        pytest.param(
            az.ServiceResponseTimeoutError("read timeout"), True, id="read-timeout"
        ),
        pytest.param(az.IncompleteReadError("cut short"), True, id="incomplete-read"),
        pytest.param(_response_error(status=503), False, id="503"),
        pytest.param(_response_error(status=429), False, id="429"),
        pytest.param(_response_error(status=500), True, id="500"),
        pytest.param(_response_error(status=408), True, id="408"),
        pytest.param(
            _decode_error_from(az.ServiceResponseError("reset")),
            True,
            id="broken-download",
        ),
    ],
)
def test_transient_errors_say_whether_the_request_may_have_applied(
    error: az.AzureError, applied: bool
) -> None:
    """Never sent, 429 and 503 are known unapplied; the rest are ambiguous."""
    mapped = _mapped(error)
    assert isinstance(mapped, TransientStoreError)
    assert mapped.may_have_applied is applied


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        pytest.param(
            _response_error(az.ClientAuthenticationError, 403),
            AccessDeniedError,
            id="auth-403",
        ),
        pytest.param(
            az.ClientAuthenticationError(
                "DefaultAzureCredential failed to get a token"
            ),
            MissingCredentialsError,
            id="credential-without-token",
        ),
        pytest.param(_response_error(status=401), AccessDeniedError, id="401"),
        pytest.param(_response_error(status=400), StoreError, id="400"),
        pytest.param(
            _response_error(
                az.ResourceExistsError, 409, StorageErrorCode.CONTAINER_BEING_DELETED
            ),
            StoreError,
            id="other-409",
        ),
        pytest.param(
            _response_error(
                az.ResourceNotFoundError, 404, StorageErrorCode.CONTAINER_NOT_FOUND
            ),
            ContainerNotFoundError,
            id="container-not-found",
        ),
    ],
)
def test_other_errors_are_not_transient(
    error: az.AzureError, kind: type[StoreError]
) -> None:
    """Denied, bad and missing-container errors are not retried."""
    mapped = _mapped(error)
    assert type(mapped) is kind
    assert STORE in str(mapped)


def test_a_create_that_found_a_blob_is_key_exists() -> None:
    """409 BlobAlreadyExists on a create is a KeyExistsError for the key."""
    error = _response_error(
        az.ResourceExistsError, 409, StorageErrorCode.BLOB_ALREADY_EXISTS
    )
    with pytest.raises(KeyExistsError) as info, map_azure_errors(STORE, "put", "k"):
        raise error
    assert info.value.key == "k"
    assert info.value.__cause__ is error


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (az.ResourceModifiedError, 412, StorageErrorCode.CONDITION_NOT_MET),
        (az.ResourceNotFoundError, 404, StorageErrorCode.BLOB_NOT_FOUND),
    ],
)
def test_a_conditional_request_refused_is_an_etag_mismatch(
    kind: type[az.HttpResponseError], status: int, code: StorageErrorCode
) -> None:
    """412, or 404 for the blob, under If-Match: changed or deleted, not known which."""
    error = _response_error(kind, status, code)
    with (
        pytest.raises(EtagMismatchError) as info,
        map_azure_errors(STORE, "put", "k", if_match='"e1"'),
    ):
        raise error
    assert info.value.expected_etag == '"e1"'
    assert f"key 'k' in {STORE} changed or was deleted" in str(info.value)


def test_a_refused_connection_is_known_unsent() -> None:
    """A closed port: the SDK's ServiceRequestError, may_have_applied False."""
    url = f"http://127.0.0.1:{free_port()}/account"
    with (
        AzureBlobStore("container", account_url=url, credential=None) as store,
        pytest.raises(TransientStoreError) as info,
    ):
        store.put("k", b"v", mode="create")
    assert isinstance(info.value.__cause__, az.ServiceRequestError)
    assert info.value.may_have_applied is False


@pytest.fixture
def settings(azure_connection_string: str) -> dict[str, str]:
    """The emulator's connection string, as its settings."""
    return dict(
        part.split("=", 1) for part in azure_connection_string.split(";") if part
    )


@pytest.fixture(params=["sdk", "obstore"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each test taking it runs on the SDK engine and on the obstore engine."""
    return str(request.param)


@pytest.fixture(params=list(WireFault))
def faulty_store(
    request: pytest.FixtureRequest,
    settings: dict[str, str],
    azure_container: str,
    engine: str,
) -> Iterator[tuple[AzureBlobStore, WireFault]]:
    """A store whose first PUT meets a fault on the wire, and that fault."""
    fault: WireFault = request.param
    upstream = urlsplit(settings["BlobEndpoint"])
    seen: list[str] = []

    def first_put(method: str, _path: str, _n: int) -> WireFault | None:
        if method == "PUT" and not seen:
            seen.append(method)
            return fault
        return None

    with FaultProxy(f"{upstream.scheme}://{upstream.netloc}", first_put) as proxy:
        endpoint = f"{proxy.url}/{settings['AccountName']}"
        options = {**settings, "BlobEndpoint": endpoint}
        connection_string = ";".join(f"{k}={v}" for k, v in options.items())
        with AzureBlobStore(
            azure_container, connection_string=connection_string, engine=engine
        ) as store:
            yield store, fault


@pytest.mark.emulator
def test_wire_faults_say_whether_the_write_may_have_applied(
    faulty_store: tuple[AzureBlobStore, WireFault],
) -> None:
    """A 503 is known unapplied; a reset, before or after the server acted, is not."""
    store, fault = faulty_store
    with pytest.raises(TransientStoreError) as info:
        store.put("k", b"v", mode="create")
    assert info.value.may_have_applied is (fault is not WireFault.UNAVAILABLE)
    assert (store.get("k") is not None) is (fault is WireFault.DROP_AFTER)
