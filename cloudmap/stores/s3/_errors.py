"""S3's one error mapping: botocore's and obstore's exceptions to cloudmap's.

Both engines of `S3Store` run their SDK calls under `s3_errors`, which turns
each SDK exception, by its type and most specific first, into one cloudmap
error (the SDK's as `__cause__`). It decides what is transient and whether a
failed request may have been applied; a 304 and a missing key leave as the
internal `NotModifiedError` and `NoSuchKeyError`, which `S3Store.get` answers.
"""

from __future__ import annotations

import contextlib
import sys
from types import MappingProxyType
from typing import TYPE_CHECKING

from cloudmap.errors import (
    AccessDeniedError,
    CloudMapError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeySyncError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
    conflict,
)
from cloudmap.stores._common import (
    DENIED_STATUSES,
    NOT_MODIFIED,
    TRANSIENT_STATUSES,
    causes,
    header_metadata,
    may_have_applied,
)
from cloudmap.stores._obstore import is_obstore_error, never_sent, status_of
from cloudmap.stores._protocol import PutMode, Replace

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from botocore.exceptions import ClientError

__all__ = [
    "CREDENTIAL_CHAIN",
    "NoSuchKeyError",
    "NotModifiedError",
    "precondition_failed",
    "s3_errors",
    "to_cloudmap_error",
]

CREDENTIAL_CHAIN = (
    "boto3 looked at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
    "~/.aws/credentials and ~/.aws/config, SSO, the container credential "
    "endpoint and the EC2 instance metadata service"
)

# S3 error codes that say "try again later", whatever status carries them.
_TRANSIENT_CODES = frozenset(
    {
        "ConditionalRequestConflict",  # 409: two conditional writes raced; retry
        "InternalError",
        "OperationAborted",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
    }
)
_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
    }
)
_NOT_FOUND = 404
_CONFLICT = 409
_PRECONDITION_FAILED = 412
_META_PREFIX = "x-amz-meta-"
_MISSING_BUCKET = "NoSuchBucket"


class NotModifiedError(StoreError):
    """Internal: a conditional GET answered 304; `get` turns it into an Entry."""

    def __init__(self, etag: str | None, metadata: Mapping[str, str]) -> None:
        self.etag = etag
        self.metadata = metadata
        super().__init__("304 Not Modified")


class NoSuchKeyError(StoreError):
    """Internal: an unconditional GET found no object; `get` returns None."""


@contextlib.contextmanager
def s3_errors(
    key: str | None,
    *,
    store: str,
    mode: PutMode = "overwrite",
) -> Iterator[None]:
    """Raise botocore's and obstore's exceptions as cloudmap's, SDK error as cause."""
    try:
        yield
    except Exception as exc:
        error = to_cloudmap_error(exc, key, store=store, mode=mode)
        if error is None:
            raise
        raise error from exc


def to_cloudmap_error(
    exc: Exception,
    key: str | None,
    *,
    store: str,
    mode: PutMode,
) -> CloudMapError | None:
    """The cloudmap error for an S3 SDK exception of either engine; None for others."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        ConnectionError,  # noqa: A004
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, ClientError):
        return _client_error(exc, key, store=store, mode=mode)
    if isinstance(exc, (ConnectionError, HTTPClientError, IncompleteReadError)):
        msg = f"{store}: network failure on key {key!r}: {exc}"
        return TransientStoreError(
            msg, key=key, store=store, may_have_applied=not _never_sent(exc)
        )
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        msg = f"{store}: {exc}: {CREDENTIAL_CHAIN}"
        return MissingCredentialsError(msg, key=key, store=store)
    if isinstance(exc, BotoCoreError):
        msg = f"{store}: S3 request failed on key {key!r}: {exc}"
        return StoreError(msg, key=key, store=store)
    # obstore is loaded only by an engine="obstore" store; it reports a 404 as
    # the builtin FileNotFoundError and everything else as its BaseError.
    if is_obstore_error(exc):
        return _obstore_error(exc, key, store=store, mode=mode)
    return None


def _never_sent(exc: BaseException) -> bool:
    """Whether botocore failed before the request left: refused or timed-out connect.

    botocore raises its error while handling urllib3's, which wraps the OS's.
    """
    from botocore.exceptions import (  # noqa: PLC0415
        ConnectTimeoutError,
        EndpointConnectionError,
    )
    from urllib3.exceptions import (  # noqa: PLC0415
        ConnectTimeoutError as Urllib3ConnectTimeout,
    )
    from urllib3.exceptions import NewConnectionError  # noqa: PLC0415

    unsent = (
        ConnectTimeoutError,
        EndpointConnectionError,
        NewConnectionError,  # name resolution failures included
        Urllib3ConnectTimeout,
        ConnectionRefusedError,
    )
    return any(isinstance(link, unsent) for link in causes(exc))


def _client_error(  # noqa: PLR0911 - one answer per kind of S3 error
    exc: ClientError,
    key: str | None,
    *,
    store: str,
    mode: PutMode,
) -> CloudMapError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    meta = exc.response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode", 0))
    # botocore reports a 304 with the status as its code ("304"); some
    # S3-compatible services send "NotModified".
    if status == NOT_MODIFIED or code in {"304", "NotModified"}:
        headers = meta.get("HTTPHeaders", {})
        return NotModifiedError(
            headers.get("etag"), header_metadata(headers, _META_PREFIX)
        )
    if code == "PreconditionFailed" or status == _PRECONDITION_FAILED:
        return precondition_failed(key, store=store, mode=mode)
    if code == "NoSuchKey" or (
        status == _NOT_FOUND and key is not None and code != _MISSING_BUCKET
    ):
        return _missing_key(key, store=store, mode=mode)
    message = f"{store}: {code or status} on key {key!r}: {error.get('Message', exc)}"
    if code == _MISSING_BUCKET:
        return _missing_bucket(key, store=store)
    # S3 answers 409 to a conditional request that raced another write or
    # delete of the key; AWS says to retry it, and the retry gets the real answer.
    conditional = mode != "overwrite"
    if (
        code in _TRANSIENT_CODES
        or status in TRANSIENT_STATUSES
        or (conditional and status == _CONFLICT)
    ):
        return TransientStoreError(
            message, key=key, store=store, may_have_applied=may_have_applied(status)
        )
    if code in _DENIED_CODES or status in DENIED_STATUSES:
        return AccessDeniedError(message, key=key, store=store)
    return StoreError(message, key=key, store=store)


def _obstore_error(  # noqa: PLR0911 - one answer per kind of obstore error
    exc: Exception,
    key: str | None,
    *,
    store: str,
    mode: PutMode,
) -> CloudMapError:
    errors = sys.modules["obstore.exceptions"]
    text = str(exc)
    if isinstance(exc, errors.NotModifiedError):
        return NotModifiedError(None, MappingProxyType({}))
    # S3's 409 ConditionalRequestConflict (two conditional requests raced)
    # reaches us as a conflict too, but it is transient: AWS says retry.
    raced = "ConditionalRequestConflict" in text
    conflicts = (errors.AlreadyExistsError, errors.PreconditionError)
    if isinstance(exc, conflicts) and not raced:
        return precondition_failed(key, store=store, mode=mode)
    if isinstance(exc, FileNotFoundError):
        if _MISSING_BUCKET in text:
            return _missing_bucket(key, store=store)
        return _missing_key(key, store=store, mode=mode)
    first_line = text.split("\n", 1)[0]
    message = f"{store}: S3 request failed on key {key!r}: {first_line}"
    status = status_of(exc)
    denied = (errors.PermissionDeniedError, errors.UnauthenticatedError)
    if isinstance(exc, denied) or status in DENIED_STATUSES:
        return AccessDeniedError(message, key=key, store=store)
    # No status at all: the connection failed or timed out.
    no_answer = status is None and "HTTP error" in text
    # As on boto3: a 409 is a race only for a conditional request.
    conditional_race = mode != "overwrite" and status == _CONFLICT
    if raced or no_answer or conditional_race or status in TRANSIENT_STATUSES:
        return TransientStoreError(
            message,
            key=key,
            store=store,
            may_have_applied=not never_sent(exc) and may_have_applied(status),
        )
    return StoreError(message, key=key, store=store)


def _missing_key(key: str | None, *, store: str, mode: PutMode) -> CloudMapError:
    """A 404 on a key: a lost replace is a conflict, a plain read finds nothing."""
    if isinstance(mode, Replace):
        return conflict(key or "", store=store, expected_etag=mode.etag)
    return NoSuchKeyError(f"{store}: no key {key!r}", key=key, store=store)


def _missing_bucket(key: str | None, *, store: str) -> ContainerNotFoundError:
    message = f"{store} does not exist (pass create=True to create it)"
    return ContainerNotFoundError(message, key=key, store=store)


def precondition_failed(key: str | None, *, store: str, mode: PutMode) -> KeySyncError:
    """S3's 412, as the conflict it reports for the condition that was sent."""
    if isinstance(mode, Replace):
        # S3 does not say what it holds now: actual_etag stays unknown.
        return conflict(
            key or "", store=store, expected_etag=mode.etag, actual_known=False
        )
    if mode == "create":
        return conflict(key or "", store=store, expected_etag=None)
    # A 412 to a request that sent no etag (only a misbehaving server does that).
    return EtagMismatchError(key or "", expected_etag=None, store=store)
