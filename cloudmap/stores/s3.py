"""S3Store: an Amazon S3 bucket (or any S3-compatible service) through boto3.

Every precondition rides in the request it guards, checked by S3 itself:

- create: `PutObject` with `If-None-Match: *` (412 when the key exists);
- replace: `PutObject` with `If-Match: <etag>` (412 when changed, 404 when gone);
- delete: `DeleteObject` with `If-Match: <etag>` (same answers; no versioning);
- reads: `GetObject` with `If-Match` (412/404) or `If-None-Match` (304, no body).

Values larger than `multipart_threshold` are sent as a multipart upload whose
`CompleteMultipartUpload` carries the condition (`IfNoneMatch: *` / `IfMatch`),
one part in memory at a time; boto3's managed transfer cannot send either.

Nothing is ever read first and written after. The etag is S3's `ETag` exactly as
the service returns it, quotes included: the MD5 of the bytes for a single-part
upload, so writing the same bytes twice gives the same etag.

boto3 is imported when a store is built, never by `import cloudmap`.
"""

from __future__ import annotations

import contextlib
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

from cloudmap._extras import require
from cloudmap._redact import redact_from_logs
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
    replace_or_overwrite,
    validate_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from botocore.config import Config
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client
    from typing_extensions import Self

    from cloudmap.stores.s3_obstore import ObstoreEngine

__all__ = ["S3Store"]

_PAGE_SIZE = 1000  # S3's own maximum per ListObjectsV2 page
_MIB = 1024 * 1024
_MIN_PART_SIZE = 5 * _MIB  # S3 refuses smaller parts, except the last
# What UploadPart may return and CompleteMultipartUpload wants back per part.
_PART_CHECKSUMS = (
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
)

# S3 error codes (and HTTP statuses) that say "try again later".
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
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
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
_NOT_MODIFIED = 304
_NOT_FOUND = 404
_CONFLICT = 409
_PRECONDITION_FAILED = 412
_DENIED_STATUSES = frozenset({401, 403})


CREDENTIAL_CHAIN = (
    "boto3 looked at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
    "~/.aws/credentials and ~/.aws/config, SSO, the container credential "
    "endpoint and the EC2 instance metadata service"
)
_BOTOCORE_LOGGERS = ("botocore.auth", "botocore.endpoint", "botocore.parsers")


class _NotModifiedError(StoreError):
    """Internal: a conditional GET answered 304; `get` turns it into an Entry."""

    def __init__(self, etag: str | None, metadata: Mapping[str, str]) -> None:
        self.etag = etag
        self.metadata = metadata
        super().__init__("304 Not Modified")


class _NoSuchKeyError(StoreError):
    """Internal: an unconditional GET found no object; `get` returns None."""


class S3Store:
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
            obstore would rewrite stay on boto3 (see `cloudmap.stores.s3_obstore`).

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
        if multipart_threshold < _MIN_PART_SIZE:
            msg = (
                f"multipart_threshold must be at least 5 MiB, not {multipart_threshold}"
            )
            raise ConfigError(msg)
        self._part_size = multipart_threshold
        self._threshold = multipart_threshold
        self._bucket = bucket
        self._endpoint_url = endpoint_url
        if client is not None:
            given = [
                name
                for name, value in (
                    ("endpoint_url", endpoint_url),
                    ("region_name", region_name),
                    ("aws_access_key_id", aws_access_key_id),
                    ("aws_secret_access_key", aws_secret_access_key),
                    ("aws_session_token", aws_session_token),
                    ("profile_name", profile_name),
                    ("addressing_style", addressing_style),
                    ("request_checksum_calculation", request_checksum_calculation),
                    ("response_checksum_validation", response_checksum_validation),
                    ("config", config),
                )
                if value is not None
            ]
            if given:
                msg = f"pass either client= or {', '.join(given)}, not both"
                raise ConfigError(msg)
            self._client = client
            self._owns_client = False
        else:
            self._client = _make_client(
                endpoint_url=endpoint_url,
                region_name=region_name,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                profile_name=profile_name,
                max_pool_connections=max_pool_connections,
                config=_endpoint_config(
                    addressing_style,
                    request_checksum_calculation,
                    response_checksum_validation,
                    config,
                ),
            )
            self._owns_client = True
        # botocore logs signed requests at DEBUG, the session token included.
        redact_from_logs(
            _BOTOCORE_LOGGERS,
            secrets=[aws_secret_access_key, aws_session_token],
            headers=["x-amz-security-token"],
        )
        self._fast: ObstoreEngine | None = None
        if engine == "obstore":
            if not self._owns_client:
                msg = "engine='obstore' builds its own clients: pass no client="
                raise ConfigError(msg)
            from cloudmap.stores.s3_obstore import make_obstore_engine  # noqa: PLC0415

            self._fast = make_obstore_engine(
                bucket,
                name=self.name,
                # boto3's own resolution, AWS_ENDPOINT_URL_S3 and profiles included.
                endpoint_url=endpoint_url or self._client.meta.endpoint_url,
                region_name=self._client.meta.region_name,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                profile_name=profile_name,
                addressing_style=addressing_style,
            )
        elif engine != "boto3":
            msg = f"engine must be 'boto3' or 'obstore', not {engine!r}"
            raise ConfigError(msg)
        if create:
            self._create_bucket()

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

    def _errors(
        self,
        key: str | None,
        *,
        mode: PutMode = "overwrite",
    ) -> contextlib.AbstractContextManager[None]:
        return _map_s3_errors(key, store=self.name, mode=mode)

    def _create_bucket(self) -> None:
        region = self._client.meta.region_name
        with self._errors(None):
            try:
                if region and region != "us-east-1":
                    self._client.create_bucket(
                        Bucket=self._bucket,
                        CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                    )
                else:
                    # us-east-1 refuses a LocationConstraint naming itself.
                    self._client.create_bucket(Bucket=self._bucket)
            except self._client.exceptions.BucketAlreadyOwnedByYou:
                pass

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
        if self._fast is not None and self._fast.handles(key):
            return self._fast.get(key, if_match=if_match, if_none_match=if_none_match)
        kwargs: dict[str, Any] = {}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if if_none_match is not None:
            kwargs["IfNoneMatch"] = if_none_match
        try:
            with self._errors(key, mode=replace_or_overwrite(if_match)):
                response = self._client.get_object(
                    Bucket=self._bucket, Key=key, **kwargs
                )
                with contextlib.closing(response["Body"]) as body:
                    data = body.read()
        except _NoSuchKeyError:
            return None
        except _NotModifiedError as exc:
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
        kwargs: dict[str, Any] = {}
        match mode:
            case "create":
                kwargs["IfNoneMatch"] = "*"
            case Replace(etag):
                kwargs["IfMatch"] = etag
        with self._errors(key, mode=mode):
            if len(data) > self._threshold:
                return self._put_multipart(key, data, dict(metadata or {}), kwargs)
            response = self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=bytes(data),
                Metadata=dict(metadata or {}),
                **kwargs,
            )
        return response["ETag"]

    def _put_multipart(
        self,
        key: str,
        data: bytes,
        metadata: dict[str, str],
        condition: dict[str, Any],
    ) -> str:
        """Upload parts, then complete under `condition`; abort on any failure."""
        upload_id = self._client.create_multipart_upload(
            Bucket=self._bucket, Key=key, Metadata=metadata
        )["UploadId"]
        try:
            view = memoryview(data)
            parts: list[dict[str, Any]] = []
            for number, start in enumerate(range(0, len(data), self._part_size), 1):
                response = self._client.upload_part(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    # One part copied at a time keeps memory near the value's size.
                    Body=view[start : start + self._part_size].tobytes(),
                )
                answer: Mapping[str, Any] = response
                part = {"PartNumber": number, "ETag": answer["ETag"]}
                part.update({n: answer[n] for n in _PART_CHECKSUMS if n in answer})
                parts.append(part)
            done = self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                **condition,
            )
        except BaseException:
            # The parts are billed until aborted; the original error wins.
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=upload_id
                )
            raise
        return done["ETag"]

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key` in one DeleteObject; see `cloudmap.stores.Store.delete`."""
        validate_key(key)
        kwargs: dict[str, Any] = {}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        # S3 answers 204 to an unconditional delete of a missing key: a no-op.
        with self._errors(key, mode=replace_or_overwrite(if_match)):
            self._client.delete_object(Bucket=self._bucket, Key=key, **kwargs)

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys under `prefix` with their etags, from paged ListObjectsV2."""
        start_after: list[str] = []
        if self._fast is not None and self._fast.lists(prefix):
            from cloudmap.stores.s3_obstore import NotAPathError  # noqa: PLC0415

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

    def close(self) -> None:
        """Close the connections of a client built here; an injected one stays open."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_CHECKSUM_SETTINGS = frozenset({"when_supported", "when_required"})
_ADDRESSING_STYLES = frozenset({"auto", "path", "virtual"})


def _endpoint_config(
    addressing_style: str | None,
    request_checksum_calculation: str | None,
    response_checksum_validation: str | None,
    config: Config | None,
) -> Config | None:
    """Our endpoint options as a botocore Config, under the caller's `config`."""
    from botocore.config import Config  # noqa: PLC0415

    options: dict[str, Any] = {}
    if addressing_style is not None:
        if addressing_style not in _ADDRESSING_STYLES:
            msg = (
                f"addressing_style must be one of {sorted(_ADDRESSING_STYLES)}, "
                f"not {addressing_style!r}"
            )
            raise ConfigError(msg)
        options["s3"] = {"addressing_style": addressing_style}
    for name, value in (
        ("request_checksum_calculation", request_checksum_calculation),
        ("response_checksum_validation", response_checksum_validation),
    ):
        if value is None:
            continue
        if value.lower() not in _CHECKSUM_SETTINGS:
            msg = f"{name} must be one of {sorted(_CHECKSUM_SETTINGS)}, not {value!r}"
            raise ConfigError(msg)
        options[name] = value.lower()
    if not options:
        return config
    try:
        ours = Config(**options)
    except TypeError as exc:  # botocore < 1.36 has no checksum settings
        msg = f"this botocore does not know these S3 options (need >= 1.36): {exc}"
        raise ConfigError(msg) from exc
    return ours.merge(config) if config is not None else ours


def _make_client(
    *,
    endpoint_url: str | None,
    region_name: str | None,
    aws_access_key_id: str | None,
    aws_secret_access_key: str | None,
    aws_session_token: str | None,
    profile_name: str | None,
    max_pool_connections: int,
    config: Config | None,
) -> S3Client:
    import boto3.session  # noqa: PLC0415  # lazily: `import cloudmap` never loads boto3
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    ours = Config(
        max_pool_connections=max_pool_connections,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    try:
        session = boto3.session.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            region_name=region_name,
            profile_name=profile_name,
        )
        return session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=ours.merge(config) if config is not None else ours,
        )
    except BotoCoreError as exc:  # an unknown profile, a bad region or endpoint
        msg = f"cannot build an S3 client: {exc}"
        raise ConfigError(msg) from exc


@contextlib.contextmanager
def _map_s3_errors(
    key: str | None,
    *,
    store: str,
    mode: PutMode,
) -> Iterator[None]:
    """Turn botocore exceptions into cloudmap's, keeping them as `__cause__`."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        ConnectionError,  # noqa: A004
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    try:
        yield
    except ClientError as exc:
        _raise_client_error(exc, key, store=store, mode=mode)
    except (ConnectionError, HTTPClientError, IncompleteReadError) as exc:
        msg = f"{store}: network failure on key {key!r}: {exc}"
        raise TransientStoreError(msg, key=key, store=store) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        msg = f"{store}: {exc}: {CREDENTIAL_CHAIN}"
        raise MissingCredentialsError(msg, key=key, store=store) from exc
    except BotoCoreError as exc:
        msg = f"{store}: S3 request failed on key {key!r}: {exc}"
        raise StoreError(msg, key=key, store=store) from exc


def _raise_client_error(
    exc: ClientError,
    key: str | None,
    *,
    store: str,
    mode: PutMode,
) -> NoReturn:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    meta = exc.response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode", 0))
    # botocore reports a 304 with the status as its code ("304"); some
    # S3-compatible services send "NotModified".
    if status == _NOT_MODIFIED or code in {"304", "NotModified"}:
        headers = meta.get("HTTPHeaders", {})
        raise _NotModifiedError(headers.get("etag"), _header_metadata(headers)) from exc
    if code == "PreconditionFailed" or status == _PRECONDITION_FAILED:
        raise precondition_failed(key, store=store, mode=mode) from exc
    if code == "NoSuchKey" or (
        status == _NOT_FOUND and key is not None and code != "NoSuchBucket"
    ):
        if isinstance(mode, Replace):
            raise EtagMismatchError(
                key or "", expected_etag=mode.etag, store=store
            ) from exc
        raise _NoSuchKeyError(f"{store}: no key {key!r}", key=key, store=store) from exc
    message = f"{store}: {code or status} on key {key!r}: {error.get('Message', exc)}"
    if code == "NoSuchBucket":
        message = f"{store} does not exist (pass create=True to create it)"
        raise ContainerNotFoundError(message, key=key, store=store) from exc
    # S3 answers 409 to a conditional request that raced another write or
    # delete of the key; AWS says to retry it, and the retry gets the real answer.
    conditional = mode != "overwrite"
    if (
        code in _TRANSIENT_CODES
        or status in _TRANSIENT_STATUSES
        or (conditional and status == _CONFLICT)
    ):
        raise TransientStoreError(message, key=key, store=store) from exc
    if code in _DENIED_CODES or status in _DENIED_STATUSES:
        raise AccessDeniedError(message, key=key, store=store) from exc
    raise StoreError(message, key=key, store=store) from exc


def precondition_failed(key: str | None, *, store: str, mode: PutMode) -> KeySyncError:
    """S3's 412, as the conflict it reports for the condition that was sent."""
    # S3 does not say what it holds now: actual_etag stays unknown.
    if mode == "create":
        return KeyExistsError(key or "", store=store)
    expected = mode.etag if isinstance(mode, Replace) else None
    return EtagMismatchError(
        key or "",
        expected_etag=expected,
        store=store,
        message=(
            f"key {key!r} in {store} changed or was deleted since it was "
            f"last seen (expected etag {expected!r}); "
            "call sync_with_cloud() to refresh it"
        ),
    )


def _header_metadata(headers: Mapping[str, str]) -> Mapping[str, str]:
    """User metadata from raw response headers (`x-amz-meta-<name>`)."""
    prefix = "x-amz-meta-"
    return MappingProxyType(
        {
            name[len(prefix) :]: value
            for name, value in headers.items()
            if name.startswith(prefix)
        }
    )
