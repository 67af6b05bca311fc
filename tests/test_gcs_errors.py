"""The GCS error mapping: SDK exception types to cloudmap errors, and "may have applied"."""

from __future__ import annotations

import socket

import pytest
import requests
from google.api_core import exceptions as gexc
from google.api_core.exceptions import RetryError
from google.auth import exceptions as auth_exc
from google.cloud.storage.exceptions import DataCorruption
from urllib3 import exceptions as url_exc

from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.stores.gcs import GCSStore
from cloudmap.stores.gcs._errors import ObjectMissingError, map_gcs_errors

STORE = "gs://bucket"


def _mapped(
    exc: BaseException,
    *,
    if_match: str | None = None,
    create: bool = False,
    bucket_request: bool = False,
) -> BaseException:
    """What `map_gcs_errors` raises for `exc` raised inside it."""
    mapping = map_gcs_errors(
        "k",
        store=STORE,
        if_match=if_match,
        create=create,
        bucket_request=bucket_request,
    )
    with pytest.raises(Exception) as raised, mapping:
        raise exc
    assert raised.value.__cause__ is exc or isinstance(raised.value, ObjectMissingError)
    return raised.value


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    """`outer` raised from `inner`, as requests and urllib3 chain their errors."""
    try:
        raise outer from inner
    except BaseException as exc:
        return exc


def test_a_refused_create_is_key_exists() -> None:
    """A 412 on a create means another writer created the key first."""
    error = _mapped(gexc.PreconditionFailed("412"), create=True)
    assert type(error) is KeyExistsError


def test_a_refused_replace_says_changed_or_deleted() -> None:
    """A 412 on a replace does not say whether the object changed or is gone."""
    error = _mapped(gexc.PreconditionFailed("412"), if_match="7")
    assert type(error) is EtagMismatchError
    assert error.expected_etag == "7"
    assert "changed or was deleted" in str(error)


def test_not_found_is_a_missing_bucket_an_absent_object_or_a_conflict() -> None:
    """A 404 names a missing bucket, a conditional request's gone object, or nothing."""
    bucket = _mapped(gexc.NotFound("The specified bucket does not exist."))
    assert type(bucket) is ContainerNotFoundError
    upload = _mapped(gexc.NotFound("No such object"), bucket_request=True)
    assert type(upload) is ContainerNotFoundError
    gone = _mapped(gexc.NotFound("No such object"), if_match="7")
    assert type(gone) is EtagMismatchError
    assert gone.actual_etag is None
    assert type(_mapped(gexc.NotFound("No such object"))) is ObjectMissingError


@pytest.mark.parametrize(
    "exc",
    [
        gexc.Unauthorized("401"),
        gexc.Forbidden("403"),
        auth_exc.RefreshError("token refused"),
        auth_exc.DefaultCredentialsError("none found"),
    ],
)
def test_refused_credentials_are_access_denied(exc: Exception) -> None:
    """401, 403 and credential failures are AccessDeniedError, never retried."""
    assert type(_mapped(exc)) is AccessDeniedError


@pytest.mark.parametrize(
    ("exc", "applied"),
    [
        (gexc.TooManyRequests("429"), False),
        (gexc.ServiceUnavailable("503"), False),
        (gexc.InternalServerError("500"), True),
        (gexc.BadGateway("502"), True),
        (gexc.GatewayTimeout("504"), True),
        (gexc.from_http_status(408, "timeout"), True),
        (requests.exceptions.ConnectTimeout("connect"), False),
        (requests.exceptions.ReadTimeout("read"), True),
        (requests.exceptions.ChunkedEncodingError("cut"), True),
        (DataCorruption(None, "checksum"), True),
        (
            _chained(
                requests.exceptions.ConnectionError("refused"),
                url_exc.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
            ),
            False,
        ),
        (
            _chained(
                requests.exceptions.ConnectionError("aborted"),
                url_exc.ProtocolError("Connection aborted.", ConnectionResetError()),
            ),
            True,
        ),
        (
            _chained(
                auth_exc.TransportError("token fetch"),
                requests.exceptions.ConnectTimeout("connect"),
            ),
            False,
        ),
        (
            _chained(RetryError("gave up", None), gexc.ServiceUnavailable("503")),  # type: ignore[arg-type]
            False,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_transient_errors_say_whether_they_may_have_applied(
    exc: Exception, applied: bool
) -> None:
    """Refusals and unsent requests did not apply; timeouts, resets, other 5xx may have."""
    error = _mapped(exc)
    assert isinstance(error, TransientStoreError)
    assert error.may_have_applied is applied


@pytest.mark.parametrize(
    "exc", [gexc.BadRequest("400"), gexc.Conflict("409"), gexc.GoogleAPIError("x")]
)
def test_other_failures_are_store_errors_not_retried(exc: Exception) -> None:
    """A client error or an unclassified SDK failure is a plain StoreError."""
    assert type(_mapped(exc)) is StoreError


def test_a_closed_port_is_transient_and_known_unapplied() -> None:
    """A write to an endpoint that refuses connections was never sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = GCSStore("bucket", endpoint_url=f"http://127.0.0.1:{port}")
    with store, pytest.raises(TransientStoreError) as raised:
        store.put("k", b"v", mode="create")
    assert raised.value.may_have_applied is False
    assert raised.value.may_have_applied is False
