"""azure-core's and obstore's exceptions, by type, to cloudmap's errors.

One context manager, `map_azure_errors`, in the manner of httpx's
`map_httpcore_exceptions`: the most specific SDK type first. Both engines of
`AzureBlobStore` run their requests under it, so one mapping answers for both:
obstore's errors (its own types, and the builtin `FileNotFoundError` for a 404)
are read for the status and Azure error code their message states. It decides
what is transient and whether a failed request may have been applied, so that a
retry of a conditional write knows when to look for its own earlier attempt.
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import TYPE_CHECKING

from cloudmap.errors import (
    AccessDeniedError,
    CloudMapError,
    ContainerNotFoundError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
    conflict,
)
from cloudmap.stores._common import (
    DENIED_STATUSES,
    NOT_MODIFIED,
    TRANSIENT_STATUSES,
    chain_may_have_applied,
    may_have_applied,
)
from cloudmap.stores._obstore import is_obstore_error, never_sent, status_of

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["error_code", "map_azure_errors", "summary"]

# obstore states the service's error code only in the XML body of its message.
_OBSTORE_CODE = re.compile(r"<Code>(\w+)</Code>")
_EXISTS = frozenset({None, "BlobAlreadyExists"})
# How obstore names a credential provider of ours that raised.
_PROVIDER_FAILED = "External Azure credential provider"
_SECRETS = re.compile(
    r"(?i)(sig=|sig%3D|AccountKey=|SharedAccessSignature=)[^&;\s'\"]*"
)


def error_code(exc: Exception) -> str | None:
    """The service's error code (`x-ms-error-code`), set by azure-storage-blob."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))  # a StorageErrorCode member or a str


def summary(exc: Exception) -> str:
    """A one-line description of an SDK error with any credential removed."""
    status = getattr(exc, "status_code", None)
    code = error_code(exc)
    if is_obstore_error(exc):  # obstore states both only in its message
        status, code = status_of(exc), _obstore_code(exc)
    lines = str(exc).strip().splitlines()
    first = _SECRETS.sub(r"\1<redacted>", lines[0])[:200] if lines else ""
    details = ", ".join(
        str(part) for part in (f"HTTP {status}" if status else None, code) if part
    )
    return (
        f"{type(exc).__name__}"
        + (f" ({details})" if details else "")
        + (f": {first}" if first else "")
    )


def _obstore_code(exc: Exception) -> str | None:
    found = _OBSTORE_CODE.search(str(exc))
    return found.group(1) if found else None


def _failed(operation: str, key: str, store: str, exc: Exception) -> str:
    """`<operation> '<key>' in <store> failed: ...`; no key for container calls."""
    what = f"{operation} {key!r}" if key else operation
    return f"{what} in {store} failed: {summary(exc)}"


def _may_have_applied(exc: BaseException) -> bool:
    """Whether the request that failed with `exc` may have been acted on.

    False when it was never sent (azure-core's `ServiceRequestError`: the
    connection was refused, did not resolve or timed out while connecting) or
    when the service refused it unapplied (429, 503); a lost or unreadable
    response and any other status are ambiguous.
    """
    import requests  # noqa: PLC0415
    from azure.core import exceptions as az  # noqa: PLC0415
    from urllib3 import exceptions as url_exc  # noqa: PLC0415

    unsent = (
        az.ServiceRequestError,
        ConnectionRefusedError,
        requests.exceptions.ConnectTimeout,
        url_exc.NewConnectionError,  # refused, or the name did not resolve
        url_exc.ConnectTimeoutError,
    )

    def status(link: BaseException) -> int | None:
        code = getattr(link, "status_code", None)
        is_response = isinstance(link, az.HttpResponseError)
        return code if is_response and isinstance(code, int) else None

    return chain_may_have_applied(exc, unsent, status)


def _by_status(exc: Exception, message: str, *, key: str, store: str) -> StoreError:
    """Any other azure-core error: denied, transient or not, by status and type."""
    from azure.core import exceptions as az  # noqa: PLC0415

    status = getattr(exc, "status_code", None)
    if status in DENIED_STATUSES:
        return AccessDeniedError(message, key=key, store=store)
    if status is None and isinstance(exc, az.ClientAuthenticationError):
        # Raised before any request: the credential (azure-identity's, say)
        # could not get a token.
        msg = f"{message} (the credential given could not obtain a token)"
        return MissingCredentialsError(msg, key=key, store=store)
    # A download that broke off arrives as an IncompleteReadError, or as an
    # HttpResponseError without status whose `inner_exception` is the transport's.
    kinds = (az.ServiceRequestError, az.ServiceResponseError, az.IncompleteReadError)
    if (
        isinstance(exc, kinds)
        or isinstance(getattr(exc, "inner_exception", None), kinds)
        or status in TRANSIENT_STATUSES
    ):
        return TransientStoreError(
            message, key=key, store=store, may_have_applied=_may_have_applied(exc)
        )
    return StoreError(message, key=key, store=store)


@contextlib.contextmanager
def map_azure_errors(
    store: str, operation: str, key: str, *, if_match: str | None = None
) -> Iterator[None]:
    """Turn azure-core exceptions into cloudmap's, keeping them as `__cause__`.

    `if_match` is the etag the request was conditioned on: a 412, or a 404 for
    the blob, then means the object changed or is gone.
    """
    from azure.core import exceptions as az  # noqa: PLC0415

    try:
        yield
    except az.ResourceExistsError as exc:  # 409
        if error_code(exc) == "BlobAlreadyExists":
            raise conflict(key, store=store, expected_etag=None) from exc
        raise StoreError(
            _failed(operation, key, store, exc), key=key, store=store
        ) from exc
    except (az.ResourceModifiedError, az.ResourceNotFoundError) as exc:  # 412, 304, 404
        if error_code(exc) == "ContainerNotFound":
            msg = f"container {store} does not exist (pass create=True to create it)"
            raise ContainerNotFoundError(msg, key=key, store=store) from exc
        if if_match is not None and exc.status_code != NOT_MODIFIED:
            # Azure does not say which etag it holds, nor whether the blob is gone.
            raise conflict(
                key, store=store, expected_etag=if_match, actual_known=False
            ) from exc
        raise StoreError(
            _failed(operation, key, store, exc), key=key, store=store
        ) from exc
    except az.ServiceRequestError as exc:  # never sent
        raise TransientStoreError(
            _failed(operation, key, store, exc),
            key=key,
            store=store,
            may_have_applied=False,
        ) from exc
    except az.AzureError as exc:
        # ServiceResponseError (sent, the answer lost), ClientAuthenticationError
        # (the service's 401/403; without status when the credential found no
        # token), HttpResponseError by its status.
        message = _failed(operation, key, store, exc)
        raise _by_status(exc, message, key=key, store=store) from exc
    except Exception as exc:
        if not is_obstore_error(exc):
            raise
        raise _obstore_error(exc, operation, key, store, if_match=if_match) from exc


def _obstore_error(
    exc: Exception, operation: str, key: str, store: str, *, if_match: str | None
) -> CloudMapError:
    """An error of the obstore engine, answered as the SDK path answers its own."""
    errors = sys.modules["obstore.exceptions"]
    code = _obstore_code(exc)
    if code == "ContainerNotFound":
        msg = f"container {store} does not exist (pass create=True to create it)"
        return ContainerNotFoundError(msg, key=key, store=store)
    if if_match is not None and isinstance(
        exc, (errors.PreconditionError, FileNotFoundError)
    ):
        # Azure does not say which etag it holds, nor whether the blob is gone.
        return conflict(key, store=store, expected_etag=if_match, actual_known=False)
    # obstore calls any 409 to a create AlreadyExists: the code tells them apart.
    if if_match is None and (
        isinstance(exc, errors.PreconditionError)
        or (isinstance(exc, errors.AlreadyExistsError) and code in _EXISTS)
    ):
        return conflict(key, store=store, expected_etag=None)
    message = _failed(operation, key, store, exc)
    status = status_of(exc)
    denied = (errors.PermissionDeniedError, errors.UnauthenticatedError)
    if isinstance(exc, denied) or status in DENIED_STATUSES:
        return _denied(exc, message, key=key, store=store)
    # No status at all: the connection failed, or the answer was lost.
    if status in TRANSIENT_STATUSES or (status is None and "HTTP error" in str(exc)):
        applied = not never_sent(exc) and may_have_applied(status)
        return TransientStoreError(
            message, key=key, store=store, may_have_applied=applied
        )
    return StoreError(message, key=key, store=store)


def _denied(exc: Exception, message: str, *, key: str, store: str) -> StoreError:
    """A refused request of the obstore engine, or a credential without a token."""
    if _PROVIDER_FAILED in str(exc):
        # The store's TokenCredential raised before any request, as on the SDK path.
        msg = f"{message} (the credential given could not obtain a token)"
        return MissingCredentialsError(msg, key=key, store=store)
    return AccessDeniedError(message, key=key, store=store)
