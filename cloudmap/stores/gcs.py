"""GCSStore: objects in a Google Cloud Storage bucket, the generation as etag.

Every precondition rides in the request it guards, as a query parameter the
server checks (`ifGenerationMatch`, `ifGenerationNotMatch`):

- create: upload with `ifGenerationMatch=0` (the object must not exist);
- replace: upload with `ifGenerationMatch=<generation>`;
- delete: `ifGenerationMatch=<generation>` on the DELETE;
- conditional read: the media download with `ifGenerationMatch` (412 when
  stale, 404 when gone) or `ifGenerationNotMatch` (304 when unchanged).

The etag is the object's generation as a decimal string: it changes on every
write, even of identical bytes. google-cloud-storage is imported only when a
store is built.
"""

from __future__ import annotations

import contextlib
import io
import threading
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloudmap._extras import require
from cloudmap.errors import (
    AccessDeniedError,
    ConfigError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    KeySyncError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    Replace,
    check_mode,
    validate_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from typing_extensions import Self

__all__ = ["GCSStore"]

CODEC_METADATA_KEY = "cloudmap-codec"
CLOUDMAP_CONTENT_TYPE = "application/x-cloudmap"
_META_PREFIX = "x-goog-meta-"
_TRANSIENT_CODES = frozenset({408, 429, 500, 502, 503, 504})
_PAGE_SIZE = 1000
# Resumable uploads (values over 8 MiB) send chunks of this size: the SDK's
# 100 MiB default holds two copies of a chunk at once, 2x a 200 MB value.
_UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024
# google-cloud-storage sends values up to this size as one multipart upload.
_SDK_MULTIPART_LIMIT = 8 * 1024 * 1024


class _SDKDefault:
    def __repr__(self) -> str:
        return "<SDK default>"


SDK_DEFAULT: Any = _SDKDefault()
"""Leave google-cloud-storage's own retry policy in place (see `GCSStore`)."""


class _ObjectMissingError(Exception):
    """An unconditional request found no object (a plain 404): not an error."""


class GCSStore:
    """A Google Cloud Storage bucket; the etag of an object is its generation.

    Args:
        bucket_name: the bucket.
        client: a ready `google.cloud.storage.Client`; it is not closed by
            `close()`. When None, one is built from the arguments below.
        project: the project billed and used by `create=True`; None lets the
            SDK find it in the environment.
        credentials: google-auth credentials; None uses Application Default
            Credentials (anonymous ones when `endpoint_url` is given).
        endpoint_url: an emulator or private endpoint, such as
            `http://127.0.0.1:4443`.
        create: create the bucket if it does not exist (needs a project).
        retry: a `google.api_core.retry.Retry` passed to every call. The
            default None makes one attempt per request: an SDK retry of a
            conditional write whose first attempt landed would fail its own
            precondition and look like a conflict, so `cloudmap.retry` retries
            instead. `SDK_DEFAULT` keeps the SDK's own policies.
        max_pool_connections: HTTP connections kept open for concurrent
            requests by a client built here (requests keeps 10, fewer than a
            mapping's 16 bulk workers).

    A missing bucket raises `ContainerNotFoundError` on the first write or
    listing (a read or delete of a key in a missing bucket does too on real
    GCS, whose 404 names the bucket).
    """

    min_lock_ttl = 3.0
    """GCS allows about one write per second per object: leases need ttl >= 3 s."""

    def __init__(
        self,
        bucket_name: str,
        *,
        client: Any = None,
        project: str | None = None,
        credentials: Any = None,
        endpoint_url: str | None = None,
        create: bool = False,
        retry: Any = None,
        max_pool_connections: int = 32,
    ) -> None:
        storage = require(
            "google.cloud.storage",
            extra="gcs",
            purpose="GCSStore (gs:// targets)",
            package="google-cloud-storage",
        )
        self._bucket_name = bucket_name
        self._endpoint_url = endpoint_url
        self._retry: dict[str, Any] = {} if retry is SDK_DEFAULT else {"retry": retry}
        self._owns_client = client is None
        if client is None:
            client = _new_client(
                storage,
                bucket_name,
                project=project,
                credentials=credentials,
                endpoint_url=endpoint_url,
            )
            _size_pool(client, max_pool_connections)
        self._client = client
        self._bucket = client.bucket(bucket_name)
        self._responses = threading.local()
        self._resumable_threshold = _SDK_MULTIPART_LIMIT
        self._hooks: list[Any] | None = None
        self._watch_responses()
        if create:
            self._create_bucket()

    # -- identity ------------------------------------------------------------

    @property
    def name(self) -> str:
        """`gs://` followed by the bucket name."""
        return f"gs://{self._bucket_name}"

    @property
    def resumable_threshold(self) -> int:
        """Values larger than this many bytes go as a resumable upload."""
        return self._resumable_threshold

    def with_upload_threshold(self, size: int) -> GCSStore:
        """A store sharing this client that sends values over `size` bytes resumably.

        For probes (`cloudmap.verify`): a value just over a small `size` takes
        the resumable path, the condition on the request that starts it. Close
        the copy after use (it watches the shared client's responses).
        """
        copy = GCSStore(
            self._bucket_name,
            client=self._client,
            retry=self._retry["retry"] if self._retry else SDK_DEFAULT,
        )
        copy._resumable_threshold = size
        return copy

    @property
    def client(self) -> Any:
        """The `google.cloud.storage.Client` in use."""
        return self._client

    def __repr__(self) -> str:
        endpoint = ""
        if self._endpoint_url:
            endpoint = f", endpoint_url={self._endpoint_url!r}"
        return f"GCSStore({self._bucket_name!r}{endpoint})"

    # -- setup -----------------------------------------------------------------

    def _watch_responses(self) -> None:
        """Keep the last HTTP response of each thread, to read a download's headers.

        `Blob.download_as_bytes()` returns only the body; the SDK copies a few
        headers onto the blob, but not the `x-goog-meta-*` ones and, on some
        emulators, not the generation. A `requests` response hook on the
        client's session sees the very response of the download (hooks run in
        the calling thread), so one request still gives body, generation and
        metadata while the SDK keeps building the URL, checking the checksum
        and translating errors.
        """
        hooks = getattr(self._client._http, "hooks", None)  # noqa: SLF001
        if isinstance(hooks, dict):
            self._hooks = hooks.setdefault("response", [])
            self._hooks.append(self._remember_response)

    def _remember_response(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        self._responses.last = response
        return response

    def _create_bucket(self) -> None:
        from google.api_core import exceptions as gexc  # noqa: PLC0415

        if self._client.project is None:
            msg = (
                f"creating bucket {self._bucket_name!r} needs a project: pass "
                "project= (?project= in a gs:// URL) or set GOOGLE_CLOUD_PROJECT"
            )
            raise ConfigError(msg)
        # A 409 says it exists already: create=True only makes sure it does.
        with (
            _map_gcs_errors("", store=self.name, bucket_request=True),
            contextlib.suppress(gexc.Conflict),
        ):
            self._client.create_bucket(self._bucket_name, **self._retry)

    # -- reads -------------------------------------------------------------------

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key` in one request; see `cloudmap.stores.Store.get`."""
        from google.api_core import exceptions as gexc  # noqa: PLC0415

        _validate_gcs_key(key)
        match = _generation(key, if_match, store=self.name)
        not_match = _generation_or_none(if_none_match)
        blob = self._bucket.blob(key)
        self._responses.last = None
        try:
            with _map_gcs_errors(key, store=self.name, if_match=if_match):
                try:
                    data = blob.download_as_bytes(
                        if_generation_match=match,
                        if_generation_not_match=not_match,
                        **self._retry,
                    )
                except gexc.NotModified as exc:
                    headers = _headers(exc.response)
                    return Entry(
                        b"", str(if_none_match), _metadata(headers), not_modified=True
                    )
        except _ObjectMissingError:
            return None
        finally:
            response, self._responses.last = self._responses.last, None
        headers = _headers(response)
        generation = headers.get("x-goog-generation") or blob.generation
        if generation is None:
            msg = f"{self.name} returned {key!r} without its generation"
            raise StoreError(msg, key=key, store=self.name)
        headers.setdefault("content-type", blob.content_type or "")
        return Entry(data, str(generation), _metadata(headers))

    # -- writes ------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key` in one request (up to 8 MiB); see `cloudmap.stores.Store.put`.

        A larger value takes a resumable upload: one request to start it, with
        the condition, and one per 16 MiB chunk.

        Raises:
            ValueError: a metadata name is not lower case (HTTP returns it
                lower-cased), or `mode` is not a `PutMode`.
        """
        _validate_gcs_key(key)
        check_mode(mode, store=self.name)
        if_match: str | None = None
        condition: int | None = None
        match mode:
            case "create":
                condition = 0  # generation 0: only if no object exists
            case Replace(etag):
                if_match = etag
                condition = _generation(key, etag, store=self.name)
        meta = dict(metadata or {})
        for name in meta:
            if name != name.lower():
                msg = f"metadata name {name!r} must be lower case on {self.name}"
                raise ValueError(msg)
        blob = self._bucket.blob(key, chunk_size=_UPLOAD_CHUNK_SIZE)
        blob.metadata = meta or None
        with _map_gcs_errors(
            key,
            store=self.name,
            if_match=if_match,
            create=mode == "create",
            bucket_request=True,
        ):
            # Up to 8 MiB the SDK sends one multipart upload carrying the
            # condition; larger values go as a resumable upload started with
            # it, which real GCS checks on the last chunk (fake-gcs-server
            # ignores it).
            if self._resumable_threshold < len(data) <= _SDK_MULTIPART_LIMIT:
                # The SDK picks a resumable upload for a stream of unknown size.
                blob.upload_from_file(
                    io.BytesIO(data),
                    size=None,
                    content_type=_content_type(meta),
                    if_generation_match=condition,
                    **self._retry,
                )
            else:
                blob.upload_from_string(
                    bytes(data),
                    content_type=_content_type(meta),
                    if_generation_match=condition,
                    **self._retry,
                )
        return str(blob.generation)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key` in one request; see `cloudmap.stores.Store.delete`."""
        _validate_gcs_key(key)
        match = _generation(key, if_match, store=self.name)
        blob = self._bucket.blob(key)
        try:
            with _map_gcs_errors(key, store=self.name, if_match=if_match):
                blob.delete(if_generation_match=match, **self._retry)
        except _ObjectMissingError:
            return

    # -- listing -------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix` and their generations, 1000 per page."""
        with _map_gcs_errors(prefix, store=self.name, bucket_request=True):
            blobs = self._client.list_blobs(
                self._bucket,
                prefix=prefix or None,
                # fake-gcs-server returns everything in one page unless asked.
                page_size=_PAGE_SIZE,
                fields="items(name,generation),nextPageToken",
                **self._retry,
            )
            for blob in blobs:
                yield ListedKey(blob.name, str(blob.generation))

    # -- housekeeping -------------------------------------------------------------

    def close(self) -> None:
        """Stop watching the client's responses; close the client if we built it."""
        if self._hooks is not None:
            with contextlib.suppress(ValueError):
                self._hooks.remove(self._remember_response)
            self._hooks = None
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_NO_CREDENTIALS = (
    "gs://{}: no Google Cloud credentials found: looked at "
    "GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials "
    "(run `gcloud auth application-default login`) and the GCE metadata server; "
    "for an emulator pass ?endpoint=URL (or endpoint_url=)"
)


def _new_client(
    storage: Any,
    bucket: str,
    *,
    project: str | None,
    credentials: Any,
    endpoint_url: str | None,
) -> Any:
    kwargs: dict[str, Any] = {}
    # Omitted, the project is looked up in the environment. An explicit None
    # (emulators) skips that lookup, which would probe for Application Default
    # Credentials and the GCE metadata server.
    if project is not None or endpoint_url is not None:
        kwargs["project"] = project
    if endpoint_url is not None:
        kwargs["client_options"] = {"api_endpoint": endpoint_url}
        if credentials is None:
            from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415

            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    from google.auth.exceptions import DefaultCredentialsError  # noqa: PLC0415

    try:
        client = storage.Client(credentials=credentials, **kwargs)
    except DefaultCredentialsError as exc:
        raise MissingCredentialsError(
            _NO_CREDENTIALS.format(bucket), store=f"gs://{bucket}"
        ) from exc
    # google-cloud-storage 3.x fetches each bucket's metadata in a background
    # thread, only to label OpenTelemetry spans: an extra request (needing
    # storage.buckets.get) outside the one request per operation we promise.
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None  # noqa: SLF001
    return client


def _size_pool(client: Any, size: int) -> None:
    """Keep `size` connections per host, so parallel requests reuse them."""
    from requests.adapters import HTTPAdapter  # noqa: PLC0415

    adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
    for scheme in ("http://", "https://"):
        client._http.mount(scheme, adapter)  # noqa: SLF001


def _generation(key: str, etag: str | None, *, store: str) -> int | None:
    """The generation an etag names; an etag that is none can match no object."""
    if etag is None:
        return None
    generation = _generation_or_none(etag)
    if generation is None:
        raise EtagMismatchError(key, expected_etag=etag, store=store)
    return generation


def _generation_or_none(etag: str | None) -> int | None:
    if etag is None or not etag.isdigit():
        return None
    return int(etag)


def _content_type(metadata: Mapping[str, str]) -> str:
    """Carry the codec tag in the Content-Type too, which every download returns."""
    codec = metadata.get(CODEC_METADATA_KEY)
    if codec is None:
        return "application/octet-stream"
    escaped = codec.replace("\\", "\\\\").replace('"', '\\"')
    return f'{CLOUDMAP_CONTENT_TYPE}; codec="{escaped}"'


def _codec_from_content_type(content_type: str) -> str | None:
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != CLOUDMAP_CONTENT_TYPE:
        return None
    name, _, value = params.strip().partition("=")
    if name.strip().lower() != "codec":
        return None
    value = value.strip()
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:  # noqa: PLR2004
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _headers(response: Any) -> dict[str, str]:
    """A response's headers with lower-case names (empty without a response)."""
    if response is None:
        return {}
    return {str(k).lower(): str(v) for k, v in response.headers.items()}


def _metadata(headers: Mapping[str, str]) -> Mapping[str, str]:
    """User metadata from `x-goog-meta-*` headers, plus the codec in Content-Type."""
    meta = {
        name[len(_META_PREFIX) :]: value
        for name, value in headers.items()
        if name.startswith(_META_PREFIX)
    }
    codec = _codec_from_content_type(headers.get("content-type", ""))
    if codec is not None:
        meta.setdefault(CODEC_METADATA_KEY, codec)
    return MappingProxyType(meta)


def _precondition_error(
    exc: Exception, key: str, *, store: str, if_match: str | None, create: bool
) -> KeySyncError:
    if create:
        return KeyExistsError(key, store=store)
    # A 412 does not say whether the object changed or is gone.
    message = (
        f"key {key!r} in {store} changed or was deleted since it was last seen "
        f"(expected etag {if_match!r}); call sync_with_cloud() to refresh it: {exc}"
    )
    return EtagMismatchError(key, expected_etag=if_match, store=store, message=message)


def _not_found_error(
    exc: Exception,
    key: str,
    *,
    store: str,
    if_match: str | None,
    bucket_request: bool,
) -> Exception:
    # GCS answers 404 for a missing object and a missing bucket alike; only the
    # message tells them apart ("The specified bucket does not exist.").
    if bucket_request or "bucket does not exist" in str(exc).lower():
        msg = f"bucket {store} does not exist (pass create=True to create it)"
        return ContainerNotFoundError(msg, key=key, store=store)
    if if_match is not None:
        return EtagMismatchError(
            key, expected_etag=if_match, actual_etag=None, store=store
        )
    return _ObjectMissingError(key)


@contextlib.contextmanager
def _map_gcs_errors(
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
    `_ObjectMissingError` for the caller to turn into None or a no-op.
    """
    import requests  # noqa: PLC0415
    from google.api_core import exceptions as gexc  # noqa: PLC0415
    from google.auth import exceptions as auth_exc  # noqa: PLC0415
    from google.cloud.storage.exceptions import DataCorruption  # noqa: PLC0415

    try:
        yield
    except gexc.PreconditionFailed as exc:
        raise _precondition_error(
            exc, key, store=store, if_match=if_match, create=create
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
    except gexc.GoogleAPICallError as exc:
        msg = f"{store} failed on {key!r}: {exc}"
        kind = TransientStoreError if exc.code in _TRANSIENT_CODES else StoreError
        raise kind(msg, key=key, store=store) from exc
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
        raise TransientStoreError(msg, key=key, store=store) from exc
    except gexc.GoogleAPIError as exc:
        msg = f"{store} failed on {key!r}: {exc}"
        raise StoreError(msg, key=key, store=store) from exc


def _validate_gcs_key(key: str) -> None:
    """`validate_key`, plus GCS's own rule: an object cannot be named `.` or `..`."""
    validate_key(key)
    if key in {".", ".."}:
        msg = (
            f"key {key!r} cannot be stored in GCS: objects cannot be named '.' or '..'"
        )
        raise ValueError(msg)
