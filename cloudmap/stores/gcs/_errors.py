"""google-cloud-storage exceptions, by type, to cloudmap's errors.

One context manager, `map_gcs_errors`, in the manner of httpx's
`map_httpcore_exceptions`: the most specific SDK type first. It decides what is
transient and whether a failed request may have been applied, so that a retry
of a conditional write knows when to look for its own earlier attempt.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    StoreError,
    TransientStoreError,
    conflict,
)
from cloudmap.stores._common import (
    TRANSIENT_STATUSES,
    chain_may_have_applied,
    may_have_applied,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ObjectMissingError", "map_gcs_errors"]


class ObjectMissingError(Exception):
    """An unconditional request found no object (a plain 404): not an error."""


def _may_have_applied(exc: BaseException) -> bool:
    """Whether the request that failed with `exc` may have been acted on.

    False when the connection never opened (refused, unresolved, or timed out
    while connecting: the request was never sent) or when the server refused it
    unapplied (429, 503); a read timeout, a reset or another 5xx is ambiguous.
    """
    import requests  # noqa: PLC0415
    from google.api_core import exceptions as gexc  # noqa: PLC0415
    from urllib3 import exceptions as url_exc  # noqa: PLC0415

    unsent = (
        ConnectionRefusedError,
        requests.exceptions.ConnectTimeout,
        url_exc.NewConnectionError,  # refused, or the name did not resolve
        url_exc.ConnectTimeoutError,
    )

    def status(link: BaseException) -> int | None:
        if isinstance(link, gexc.GoogleAPICallError) and isinstance(link.code, int):
            return link.code
        return None

    return chain_may_have_applied(exc, unsent, status)


def _not_found_error(
    exc: Exception, key: str, *, store: str, if_match: str | None, bucket_request: bool
) -> Exception:
    # GCS answers 404 for a missing object and a missing bucket alike; only the
    # message tells them apart ("The specified bucket does not exist.").
    if bucket_request or "bucket does not exist" in str(exc).lower():
        msg = f"bucket {store} does not exist (pass create=True to create it)"
        return ContainerNotFoundError(msg, key=key, store=store)
    if if_match is not None:
        return conflict(key, store=store, expected_etag=if_match, actual_etag=None)
    return ObjectMissingError(key)


@contextlib.contextmanager
def map_gcs_errors(
    key: str,
    *,
    store: str,
    if_match: str | None = None,
    create: bool = False,
    bucket_request: bool = False,
) -> Iterator[None]:
    """Translate google-cloud-storage exceptions into cloudmap's, as `__cause__`.

    `bucket_request` says a 404 can only mean the bucket is missing (an
    upload or a listing). A 404 of a read or delete without a condition raises
    `ObjectMissingError` for the caller to turn into None or a no-op.
    """
    import requests  # noqa: PLC0415
    from google.api_core import exceptions as gexc  # noqa: PLC0415
    from google.auth import exceptions as auth_exc  # noqa: PLC0415
    from google.cloud.storage.exceptions import DataCorruption  # noqa: PLC0415

    try:
        yield
    except gexc.PreconditionFailed as exc:
        # A 412 does not say whether the object changed or is gone.
        expected = None if create else if_match
        raise conflict(
            key, store=store, expected_etag=expected, actual_known=False
        ) from exc
    except gexc.NotFound as exc:
        raise _not_found_error(
            exc, key, store=store, if_match=if_match, bucket_request=bucket_request
        ) from exc
    except (
        gexc.Unauthorized,
        gexc.Forbidden,
        auth_exc.RefreshError,
        auth_exc.DefaultCredentialsError,
    ) as exc:
        msg = f"access to {key!r} in {store} denied: {exc}"
        raise AccessDeniedError(msg, key=key, store=store) from exc
    except (gexc.TooManyRequests, gexc.ServiceUnavailable) as exc:
        # 429 and 503 refuse a request before acting on it.
        msg = f"{store} failed on {key!r}: {exc}"
        raise TransientStoreError(
            msg, key=key, store=store, may_have_applied=False
        ) from exc
    except gexc.GoogleAPICallError as exc:
        msg = f"{store} failed on {key!r}: {exc}"
        if exc.code not in TRANSIENT_STATUSES:
            raise StoreError(msg, key=key, store=store) from exc
        raise TransientStoreError(
            msg, key=key, store=store, may_have_applied=may_have_applied(exc.code)
        ) from exc
    except (
        gexc.RetryError,
        auth_exc.TransportError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        DataCorruption,  # a checksum mismatch: the transfer broke, a retry may not
    ) as exc:
        msg = (
            f"{store} unreachable, timed out or corrupted a transfer of {key!r}: {exc}"
        )
        raise TransientStoreError(
            msg, key=key, store=store, may_have_applied=_may_have_applied(exc)
        ) from exc
    except gexc.GoogleAPIError as exc:
        msg = f"{store} failed on {key!r}: {exc}"
        raise StoreError(msg, key=key, store=store) from exc
