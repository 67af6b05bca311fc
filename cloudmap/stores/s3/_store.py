"""S3Store: an Amazon S3 bucket (or any S3-compatible service) through boto3.

Every precondition rides in the request it guards, checked by S3 itself:

- create: `PutObject` with `If-None-Match: *` (412 when the key exists);
- replace: `PutObject` with `If-Match: <etag>` (412 when changed, 404 when gone);
- delete: `DeleteObject` with `If-Match: <etag>` (same answers; no versioning);
- reads: `GetObject` with `If-Match` (412/404) or `If-None-Match` (304, no body).

Values larger than `multipart_threshold` go as a multipart upload whose
`CompleteMultipartUpload` carries the condition (see `_upload`). Nothing is ever
read first and written after. The etag is S3's `ETag` exactly as the service
returns it, quotes included: the MD5 of the bytes for a single-part upload, so
writing the same bytes twice gives the same etag. boto3 is imported when a store
is built, never by `import cloudmap`.
"""

from __future__ import annotations

import contextlib
import functools
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloudmap._extras import require
from cloudmap.errors import ConfigError
from cloudmap.stores._common import OwnedClient
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    check_mode,
    replace_or_overwrite,
    validate_key,
)
from cloudmap.stores.s3 import _client
from cloudmap.stores.s3._errors import NoSuchKeyError, NotModifiedError, s3_errors
from cloudmap.stores.s3._upload import check_part_size, conditions, upload

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from botocore.config import Config
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Store"]

_PAGE_SIZE = 1000  # S3's own maximum per ListObjectsV2 page
_MIB = 1024 * 1024


class S3Store(OwnedClient):
    """Objects in one S3 bucket, every write conditional on the server.

    Args:
        bucket: the bucket name.
        client: a ready `boto3` S3 client; it is then the caller's to close, and
            no other connection argument may be given.
        endpoint_url: an S3-compatible endpoint (moto, MinIO, ...).
        region_name: the bucket's region.
        aws_access_key_id: credentials; by default boto3's usual chain
            (environment, config files, instance role) applies.
        aws_secret_access_key: see `aws_access_key_id`.
        aws_session_token: see `aws_access_key_id`.
        profile_name: a profile of the AWS config files.
        create: create the bucket at construction if it does not exist. Without
            it a missing bucket raises `ContainerNotFoundError` on first use.
        max_pool_connections: HTTP connections kept for concurrent requests.
        multipart_threshold: values larger than this many bytes go as a
            multipart upload in parts of this size (at least 5 MiB), the
            condition riding on the final `CompleteMultipartUpload`.
        addressing_style: `path` (`endpoint/bucket/key`, what most
            S3-compatible servers want), `virtual` (`bucket.endpoint/key`) or
            `auto` (botocore's choice, the default).
        request_checksum_calculation: `when_supported` (botocore >= 1.36's
            default: a CRC checksum on every upload) or `when_required`, which
            S3-compatible servers that reject the new checksum headers need.
        response_checksum_validation: `when_supported` or `when_required`, the
            same for checksums of downloads.
        config: a `botocore.config.Config` merged over ours (its settings win).
        engine: `boto3` (the default) or `obstore` (the `fast` extra): reads,
            single-part writes and listings through obstore, at a fraction of
            boto3's client CPU; conditional deletes, multipart uploads and keys
            obstore would rewrite stay on boto3 (see the S3 provider page).

    The client built here does not retry (`total_max_attempts=1`): a conditional
    write retried inside botocore after its first attempt landed would fail its
    own precondition and report a false conflict. Retry `TransientStoreError` with
    `cloudmap.retry` instead, or pass `config=` to choose otherwise.
    """

    def __init__(
        self,
        bucket: str,
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile_name: str | None = None,
        create: bool = False,
        max_pool_connections: int = 32,
        multipart_threshold: int = 8 * _MIB,
        addressing_style: str | None = None,
        request_checksum_calculation: str | None = None,
        response_checksum_validation: str | None = None,
        config: Config | None = None,
        engine: str = "boto3",
    ) -> None:
        require("boto3", extra="s3", purpose="S3Store (s3:// targets)")
        if not bucket:
            raise ConfigError("an S3 bucket name is required")
        check_part_size(multipart_threshold)
        self._part_size = self._threshold = multipart_threshold
        self._bucket = bucket
        self._endpoint_url = endpoint_url
        self._errors = functools.partial(s3_errors, store=self.name)
        self._client, self._owns_client, self._fast = _client.connect(
            bucket,
            name=self.name,
            client=client,
            engine=engine,
            endpoint_url=endpoint_url,
            region_name=region_name,
            credentials={
                "aws_access_key_id": aws_access_key_id,
                "aws_secret_access_key": aws_secret_access_key,
                "aws_session_token": aws_session_token,
                "profile_name": profile_name,
            },
            max_pool_connections=max_pool_connections,
            options=(
                addressing_style,
                request_checksum_calculation,
                response_checksum_validation,
                config,
            ),
        )
        if create:
            _client.create_bucket(self._client, bucket, store=self.name)

    @property
    def name(self) -> str:
        """`s3://` followed by the bucket name."""
        return f"s3://{self._bucket}"

    @property
    def bucket(self) -> str:
        """The bucket name."""
        return self._bucket

    @property
    def client(self) -> S3Client:
        """The boto3 S3 client in use."""
        return self._client

    @property
    def engine(self) -> str:
        """`boto3` or `obstore`: what sends reads, small writes and listings."""
        return "boto3" if self._fast is None else "obstore"

    @property
    def multipart_threshold(self) -> int:
        """Values larger than this many bytes go as a multipart upload."""
        return self._threshold

    def with_upload_threshold(self, size: int) -> S3Store:
        """A store sharing this client whose multipart path starts above `size` bytes.

        For probes (`cloudmap.verify`): parts keep their size (at least 5 MiB),
        so a value just over a small `size` goes as a one-part multipart upload,
        which S3 accepts at any size, with its condition on the completion.
        """
        copy = S3Store(self._bucket, client=self._client)
        copy._endpoint_url = self._endpoint_url
        copy._part_size = self._part_size
        copy._threshold = size
        copy._fast = self._fast
        return copy

    def __repr__(self) -> str:
        endpoint = (
            f", endpoint_url={self._endpoint_url!r}" if self._endpoint_url else ""
        )
        engine = ", engine='obstore'" if self._fast else ""
        return f"S3Store({self._bucket!r}{endpoint}{engine})"

    def _owned(self) -> S3Client:
        return self._client

    # -- the Store protocol --------------------------------------------------------

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key` in one GetObject; see `cloudmap.stores.Store.get`."""
        validate_key(key)
        try:
            with self._errors(key, mode=replace_or_overwrite(if_match)):
                if self._fast is not None and self._fast.handles(key):
                    return self._fast.get(
                        key, if_match=if_match, if_none_match=if_none_match
                    )
                response = self._client.get_object(
                    Bucket=self._bucket,
                    Key=key,
                    **conditions(if_match=if_match, if_none_match=if_none_match),
                )
                with contextlib.closing(response["Body"]) as body:
                    data = body.read()
        except NoSuchKeyError:
            return None
        except NotModifiedError as exc:
            etag = exc.etag or if_none_match
            assert etag is not None  # noqa: S101  # a 304 only answers If-None-Match
            return Entry(b"", etag, exc.metadata, not_modified=True)
        return Entry(
            data,
            response["ETag"],
            MappingProxyType(dict(response.get("Metadata", {}))),
        )

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key` in one PutObject; see `cloudmap.stores.Store.put`.

        A value larger than `multipart_threshold` takes a multipart upload
        (2 requests plus one per part) with the condition on its completion.
        """
        validate_key(key)
        check_mode(mode, store=self.name)
        fast = self._fast
        if fast:
            fast.check_writable(key)
        if fast and len(data) <= self._threshold and fast.handles(key, metadata):
            return fast.put(key, data, mode=mode, metadata=metadata)
        with self._errors(key, mode=mode):
            return upload(
                self._client,
                self._bucket,
                key,
                data,
                mode=mode,
                metadata=metadata,
                threshold=self._threshold,
                part_size=self._part_size,
            )

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key` in one DeleteObject; see `cloudmap.stores.Store.delete`."""
        validate_key(key)
        # S3 answers 204 to an unconditional delete of a missing key: a no-op.
        with self._errors(key, mode=replace_or_overwrite(if_match)):
            self._client.delete_object(
                Bucket=self._bucket, Key=key, **conditions(if_match=if_match)
            )

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys under `prefix` with their etags, from paged ListObjectsV2."""
        start_after: list[str] = []
        if self._fast is not None and self._fast.lists(prefix):
            from cloudmap.stores._obstore import NotAPathError  # noqa: PLC0415

            try:
                yield from self._fast.list(prefix, start_after=start_after)
            except NotAPathError:
                pass  # a key obstore cannot name: boto3 lists on from the last one
            else:
                return
        paginator = self._client.get_paginator("list_objects_v2")
        # boto3 asks for url-encoded keys in listings and decodes them itself.
        extra: dict[str, Any] = {"StartAfter": start_after[0]} if start_after else {}
        pages = iter(
            paginator.paginate(
                Bucket=self._bucket,
                Prefix=prefix,
                PaginationConfig={"PageSize": _PAGE_SIZE},
                **extra,
            )
        )
        while True:
            with self._errors(None):
                page = next(pages, None)
            if page is None:
                return
            for item in page.get("Contents", ()):
                yield ListedKey(item["Key"], item["ETag"])
