"""azure-core exceptions, by type, to cloudmap's errors.

One context manager, `map_azure_errors`, in the manner of httpx's
`map_httpcore_exceptions`: the most specific SDK type first. It decides what is
transient and whether a failed request may have been applied, so that a retry
of a conditional write knows when to look for its own earlier attempt.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    StoreError,
    TransientStoreError,
    conflict,
)
from cloudmap.stores._common import (
    DENIED_STATUSES,
    NOT_MODIFIED,
    TRANSIENT_STATUSES,
    causes,
    may_have_applied,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["error_code", "map_azure_errors", "summary"]

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
    for link in causes(exc):
        if isinstance(link, unsent):
            return False
        status = getattr(link, "status_code", None)
        if isinstance(link, az.HttpResponseError) and isinstance(status, int):
            return may_have_applied(status)
    return True


def _by_status(exc: Exception, message: str, *, key: str, store: str) -> StoreError:
    """Any other azure-core error: denied, transient or not, by status and type."""
    from azure.core import exceptions as az  # noqa: PLC0415

    status = getattr(exc, "status_code", None)
    if status in DENIED_STATUSES:
        return AccessDeniedError(message, key=key, store=store)
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
        # (the service's 401/403; without status when azure-identity found no
        # token, a plain StoreError), HttpResponseError by its status.
        message = _failed(operation, key, store, exc)
        raise _by_status(exc, message, key=key, store=store) from exc
