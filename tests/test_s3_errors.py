"""S3's one error mapping: botocore's and obstore's exceptions, by type.

Each SDK exception becomes one cloudmap error, and a `TransientStoreError`
says whether the failed request may have been applied: False only when it
never reached the server or was refused unapplied (429, 503); `RetryingStore`
reads only that flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from cloudmap.errors import (
    AccessDeniedError,
    CloudMapError,
    EtagMismatchError,
    KeyExistsError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.stores import PutMode, Replace
from cloudmap.stores.s3 import S3Store
from cloudmap.stores.s3._errors import s3_errors
from devtools.emulators import free_port
from tests.fault_proxy import FaultProxy, WireFault
from tests.fixtures_s3 import MOTO_CREDENTIALS

if TYPE_CHECKING:
    from collections.abc import Iterator

STORE = "s3://bucket"
ENDPOINT = "http://127.0.0.1:1"


def client_error(status: int, code: str) -> ClientError:
    """botocore's exception for an S3 error answer."""
    response = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
    }
    return ClientError(response, "PutObject")  # type: ignore[arg-type]


def mapped(exc: Exception, mode: PutMode = "overwrite") -> CloudMapError:
    """What `s3_errors` raises for `exc`, checking it keeps `exc` as its cause."""
    with pytest.raises(CloudMapError) as info, s3_errors("k", store=STORE, mode=mode):
        raise exc
    assert info.value.__cause__ is exc
    return info.value


@pytest.mark.parametrize(
    ("exc", "applied"),
    [
        (client_error(503, "SlowDown"), False),
        (client_error(503, "ServiceUnavailable"), False),
        (client_error(429, "TooManyRequests"), False),
        (client_error(500, "InternalError"), True),
        (client_error(400, "RequestTimeout"), True),
        (EndpointConnectionError(endpoint_url=ENDPOINT), False),
        (ConnectTimeoutError(endpoint_url=ENDPOINT), False),
        (ReadTimeoutError(endpoint_url=ENDPOINT), True),
        (ConnectionClosedError(endpoint_url=ENDPOINT), True),
    ],
    ids=lambda value: (
        type(value).__name__ if isinstance(value, Exception) else str(value)
    ),
)
def test_botocore_transient_errors_say_whether_they_may_have_applied(
    exc: Exception, *, applied: bool
) -> None:
    """A refusal or an unsent request did not apply; anything else may have."""
    error = mapped(exc)
    assert isinstance(error, TransientStoreError)
    assert error.may_have_applied is applied


def test_a_raced_conditional_write_is_transient_and_may_have_applied() -> None:
    """S3's 409 to a conditional request is retried, and may have been applied."""
    error = mapped(client_error(409, "ConditionalRequestConflict"), Replace('"e"'))
    assert isinstance(error, TransientStoreError)
    assert error.may_have_applied


@pytest.mark.parametrize(
    ("exc", "mode", "expected"),
    [
        (client_error(412, "PreconditionFailed"), "create", KeyExistsError),
        (client_error(412, "PreconditionFailed"), Replace('"e"'), EtagMismatchError),
        (client_error(404, "NoSuchKey"), Replace('"e"'), EtagMismatchError),
        (client_error(403, "AccessDenied"), "overwrite", AccessDeniedError),
        (client_error(400, "InvalidArgument"), "overwrite", StoreError),
        (NoCredentialsError(), "overwrite", MissingCredentialsError),
    ],
)
def test_botocore_errors_map_by_type_most_specific_first(
    exc: Exception, mode: PutMode, expected: type[CloudMapError]
) -> None:
    """Conflicts, denials, missing credentials and the rest: one error each."""
    error = mapped(exc, mode)
    assert type(error) is expected


def test_other_exceptions_pass_unchanged() -> None:
    """Only SDK exceptions are mapped: a programming error stays what it is."""
    with pytest.raises(ZeroDivisionError), s3_errors("k", store=STORE):
        _ = 1 / 0


# -- real failures, both engines ------------------------------------------------


@pytest.fixture(params=["boto3", "obstore"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine of S3Store."""
    name: str = request.param
    return name


def test_a_refused_connection_was_never_applied(engine: str) -> None:
    """Nothing listens on the port: transient, and known not to have applied."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3Store("bucket", endpoint_url=endpoint, engine=engine, **MOTO_CREDENTIALS)
    with store, pytest.raises(TransientStoreError) as info:
        store.put("k", b"v", mode="create")
    assert info.value.may_have_applied is False
    assert info.value.may_have_applied is False


@pytest.fixture
def faulty_store(
    request: pytest.FixtureRequest, engine: str
) -> Iterator[tuple[S3Store, list[WireFault]]]:
    """A store behind a proxy that answers each PUT with the next queued fault."""
    faults: list[WireFault] = []

    def handler(method: str, _path: str, _n: int) -> WireFault | None:
        return faults.pop(0) if method == "PUT" and faults else None

    with FaultProxy(request.getfixturevalue("s3_endpoint"), handler) as proxy:
        bucket = request.getfixturevalue("s3_bucket")
        with S3Store(
            bucket, endpoint_url=proxy.url, engine=engine, **MOTO_CREDENTIALS
        ) as store:
            yield store, faults


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("fault", "applied"), [(WireFault.UNAVAILABLE, False), (WireFault.RESET, True)]
)
def test_wire_failures_say_whether_they_may_have_applied(
    faulty_store: tuple[S3Store, list[WireFault]], fault: WireFault, *, applied: bool
) -> None:
    """A 503 refused the write unapplied; a reset leaves its outcome unknown."""
    store, faults = faulty_store
    faults.append(fault)
    with pytest.raises(TransientStoreError) as info:
        store.put("k", b"v", mode="create")
    assert info.value.may_have_applied is applied
    assert info.value.may_have_applied is applied
