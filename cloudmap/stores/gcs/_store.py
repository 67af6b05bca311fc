"""GCSStore: the operations on a Google Cloud Storage bucket (see the package)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from cloudmap._extras import require
from cloudmap.errors import StoreError
from cloudmap.stores._common import OwnedClient
from cloudmap.stores._protocol import Entry, ListedKey, PutMode, Replace, check_mode
from cloudmap.stores.gcs._client import (
    SDK_DEFAULT,
    ResponseWatcher,
    create_bucket,
    new_client,
)
from cloudmap.stores.gcs._errors import ObjectMissingError, map_gcs_errors
from cloudmap.stores.gcs._wire import (
    content_type,
    generation,
    generation_or_none,
    response_headers,
    user_metadata,
    validate_gcs_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["GCSStore"]

_PAGE_SIZE = 1000
# Resumable uploads (values over 8 MiB) send chunks of this size: the SDK's
# 100 MiB default holds two copies of a chunk at once, 2x a 200 MB value.
_UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024
# google-cloud-storage sends values up to this size as one multipart upload.
_SDK_MULTIPART_LIMIT = 8 * 1024 * 1024


class GCSStore(OwnedClient):
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
            client = new_client(
                storage,
                bucket_name,
                project=project,
                credentials=credentials,
                endpoint_url=endpoint_url,
                max_pool_connections=max_pool_connections,
            )
        self._client = client
        self._bucket = client.bucket(bucket_name)
        self._responses = ResponseWatcher(client)
        self._resumable_threshold = _SDK_MULTIPART_LIMIT
        if create:
            create_bucket(client, bucket_name, store=self.name, retry=self._retry)

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

        validate_gcs_key(key)
        match = generation(key, if_match, store=self.name)
        not_match = generation_or_none(if_none_match)
        blob = self._bucket.blob(key)
        self._responses.forget()
        try:
            with map_gcs_errors(key, store=self.name, if_match=if_match):
                try:
                    data = blob.download_as_bytes(
                        if_generation_match=match,
                        if_generation_not_match=not_match,
                        **self._retry,
                    )
                except gexc.NotModified as exc:
                    meta = user_metadata(response_headers(exc.response))
                    return Entry(b"", str(if_none_match), meta, not_modified=True)
        except ObjectMissingError:
            return None
        finally:
            response = self._responses.take()
        headers = response_headers(response)
        stored = headers.get("x-goog-generation") or blob.generation
        if stored is None:
            msg = f"{self.name} returned {key!r} without its generation"
            raise StoreError(msg, key=key, store=self.name)
        headers.setdefault("content-type", blob.content_type or "")
        return Entry(data, str(stored), user_metadata(headers))

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
        validate_gcs_key(key)
        check_mode(mode, store=self.name)
        if_match: str | None = None
        condition: int | None = None
        match mode:
            case "create":
                condition = 0  # generation 0: only if no object exists
            case Replace(etag):
                if_match = etag
                condition = generation(key, etag, store=self.name)
        meta = dict(metadata or {})
        for name in meta:
            if name != name.lower():
                msg = f"metadata name {name!r} must be lower case on {self.name}"
                raise ValueError(msg)
        blob = self._bucket.blob(key, chunk_size=_UPLOAD_CHUNK_SIZE)
        blob.metadata = meta or None
        with map_gcs_errors(
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
                    content_type=content_type(meta),
                    if_generation_match=condition,
                    **self._retry,
                )
            else:
                blob.upload_from_string(
                    bytes(data),
                    content_type=content_type(meta),
                    if_generation_match=condition,
                    **self._retry,
                )
        return str(blob.generation)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key` in one request; see `cloudmap.stores.Store.delete`."""
        validate_gcs_key(key)
        match = generation(key, if_match, store=self.name)
        blob = self._bucket.blob(key)
        try:
            with map_gcs_errors(key, store=self.name, if_match=if_match):
                blob.delete(if_generation_match=match, **self._retry)
        except ObjectMissingError:
            return

    # -- listing -------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix` and their generations, 1000 per page."""
        with map_gcs_errors(prefix, store=self.name, bucket_request=True):
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

    def _owned(self) -> Any:
        return self._client

    def close(self) -> None:
        """Stop watching the client's responses; close the client if we built it."""
        self._responses.stop()
        super().close()
