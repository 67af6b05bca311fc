"""Mapping classes bound to one kind of store, mirroring cloud-mappings."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

from cloudmap.mapping import CloudMapping
from cloudmap.stores.local import LocalStore
from cloudmap.stores.s3 import S3Store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["AWSS3Mapping", "LocalMapping"]

V = TypeVar("V")


class LocalMapping(CloudMapping[V]):
    """A CloudMapping over a directory on disk (see `LocalStore`).

    Examples:
        >>> import tempfile
        >>> with LocalMapping.with_json(tempfile.mkdtemp()) as m:
        ...     m["config"] = {"workers": 4}
        ...     m["config"]["workers"]
        4
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        fsync: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(LocalStore(path, create=create, fsync=fsync), **options)


class AWSS3Mapping(CloudMapping[V]):
    """A CloudMapping over an S3 bucket (see `S3Store`).

    Args:
        bucket_name: the bucket.
        client: a ready boto3 S3 client (instead of the connection arguments).
        endpoint_url: an S3-compatible endpoint.
        region_name: the bucket's region.
        aws_access_key_id: credentials; boto3's usual chain applies by default.
        aws_secret_access_key: see `aws_access_key_id`.
        aws_session_token: see `aws_access_key_id`.
        profile_name: a profile of the AWS config files.
        create: create the bucket if it does not exist.
        silence_warning: accepted for cloud-mappings compatibility and ignored,
            with a `FutureWarning`: S3 writes are now conditional on the server,
            so there is no race left to warn about.
        **options: passed to `CloudMapping` (`codec`, `key_prefix`, ...).

    Examples:
        `AWSS3Mapping.with_json("my-bucket", region_name="eu-west-1")`
    """

    def __init__(
        self,
        bucket_name: str,
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile_name: str | None = None,
        create: bool = False,
        silence_warning: bool | None = None,
        **options: Any,
    ) -> None:
        if silence_warning is not None:
            warnings.warn(
                "AWSS3Mapping(silence_warning=...) is no longer needed: S3 writes "
                "are conditional on the server; drop the argument",
                FutureWarning,
                stacklevel=2,
            )
        store = S3Store(
            bucket_name,
            client=client,
            endpoint_url=endpoint_url,
            region_name=region_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            profile_name=profile_name,
            create=create,
        )
        try:
            super().__init__(store, **options)
        except BaseException:
            store.close()
            raise
