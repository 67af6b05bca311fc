"""boto3 uploads of `S3Store`: one PutObject, or a multipart upload.

The condition rides in the request that makes the value visible: `PutObject`,
or the `CompleteMultipartUpload` of a value over the threshold. boto3's managed
transfer cannot send `If-None-Match` or `If-Match`, so the parts go one at a
time from here, one part in memory at a time.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from cloudmap.errors import ConfigError
from cloudmap.stores._protocol import PutMode, Replace

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_s3 import S3Client

__all__ = ["MIN_PART_SIZE", "check_part_size", "conditions", "put_multipart", "upload"]

MIN_PART_SIZE = 5 * 1024 * 1024
"""S3 refuses smaller parts, except the last."""

# What UploadPart may return and CompleteMultipartUpload wants back per part.
_PART_CHECKSUMS = (
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
)


def check_part_size(size: int) -> None:
    """Refuse a multipart threshold (also the part size) S3 would refuse.

    Raises:
        ConfigError: `size` is under 5 MiB.
    """
    if size < MIN_PART_SIZE:
        msg = f"multipart_threshold must be at least 5 MiB, not {size}"
        raise ConfigError(msg)


def conditions(
    *, if_match: str | None = None, if_none_match: str | None = None
) -> dict[str, Any]:
    """The `IfMatch` / `IfNoneMatch` arguments of a boto3 call, those given."""
    sent = {"IfMatch": if_match, "IfNoneMatch": if_none_match}
    return {name: value for name, value in sent.items() if value is not None}


def upload(
    client: S3Client,
    bucket: str,
    key: str,
    data: bytes,
    *,
    mode: PutMode,
    metadata: Mapping[str, str] | None,
    threshold: int,
    part_size: int,
) -> str:
    """Write `key` under `mode`, as a multipart upload if over `threshold` bytes.

    Returns the new etag; SDK errors propagate unmapped.
    """
    condition = conditions(
        if_match=mode.etag if isinstance(mode, Replace) else None,
        if_none_match="*" if mode == "create" else None,
    )
    if len(data) > threshold:
        return put_multipart(
            client,
            bucket,
            key,
            data,
            part_size=part_size,
            metadata=dict(metadata or {}),
            condition=condition,
        )
    response = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=bytes(data),
        Metadata=dict(metadata or {}),
        **condition,
    )
    return response["ETag"]


def put_multipart(
    client: S3Client,
    bucket: str,
    key: str,
    data: bytes,
    *,
    part_size: int,
    metadata: dict[str, str],
    condition: dict[str, Any],
) -> str:
    """Upload parts, then complete under `condition`; abort on any failure.

    Returns the etag of the completed object; SDK errors propagate unmapped.
    """
    upload_id = client.create_multipart_upload(
        Bucket=bucket, Key=key, Metadata=metadata
    )["UploadId"]
    try:
        view = memoryview(data)
        parts: list[dict[str, Any]] = []
        for number, start in enumerate(range(0, len(data), part_size), 1):
            response = client.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                # One part copied at a time keeps memory near the value's size.
                Body=view[start : start + part_size].tobytes(),
            )
            answer: Mapping[str, Any] = response
            part = {"PartNumber": number, "ETag": answer["ETag"]}
            part.update({n: answer[n] for n in _PART_CHECKSUMS if n in answer})
            parts.append(part)
        done = client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            **condition,
        )
    except BaseException:
        # The parts are billed until aborted; the original error wins.
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return done["ETag"]
