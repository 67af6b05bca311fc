"""Mapping classes bound to one kind of store, mirroring cloud-mappings."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

from cloudmap.mapping import CloudMapping
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.local import LocalStore
from cloudmap.stores.s3 import S3Store

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, ContainerClient
    from mypy_boto3_s3 import S3Client

    from cloudmap.stores._protocol import Store

__all__ = [
    "AWSS3Mapping",
    "AzureBlobMapping",
    "GoogleCloudStorageMapping",
    "LocalMapping",
]

V = TypeVar("V")


def _start(mapping: CloudMapping[Any], store: Store, options: dict[str, Any]) -> None:
    """Initialise `mapping` over `store`, closing the store if the first sync fails."""
    try:
        CloudMapping.__init__(mapping, store, **options)
    except BaseException:
        store.close()  # the initial listing failed: do not leak the client
        raise


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
        _start(self, LocalStore(path, create=create, fsync=fsync), options)


class AzureBlobMapping(CloudMapping[V]):
    """A CloudMapping over an Azure Storage container (see `AzureBlobStore`).

    Takes the store's arguments (at most one of `account_url`,
    `connection_string`, `account_name` and `client`; with none, the account is
    found in the environment) plus `CloudMapping`'s keyword options, so the
    cloud-mappings constructors work unchanged:

    ```python
    m = AzureBlobMapping.with_pickle(
        container_name="CONTAINER_NAME",
        account_url="https://ACCOUNT.blob.core.windows.net",
        credential=DefaultAzureCredential(),
    )
    ```

    Unlike cloud-mappings, the container is created only with `create=True`.
    `engine="obstore"` (the `fast` extra) sends reads, writes and listings
    through obstore (see `AzureBlobStore`).
    """

    def __init__(
        self,
        container_name: str,
        *,
        account_url: str | None = None,
        credential: Any = None,
        connection_string: str | None = None,
        account_name: str | None = None,
        client: ContainerClient | BlobServiceClient | None = None,
        create: bool = False,
        engine: str = "sdk",
        **options: Any,
    ) -> None:
        store = AzureBlobStore(
            container_name,
            client=client,
            account_url=account_url,
            credential=credential,
            connection_string=connection_string,
            account_name=account_name,
            create=create,
            engine=engine,
        )
        _start(self, store, options)


class GoogleCloudStorageMapping(CloudMapping[V]):
    """A CloudMapping over a Google Cloud Storage bucket (see `GCSStore`).

    Examples:
        ```python
        m = GoogleCloudStorageMapping.with_json(bucket_name="jobs", project="p")
        m["config"] = {"workers": 4}
        ```
    """

    def __init__(
        self,
        bucket_name: str,
        *,
        project: str | None = None,
        credentials: Any = None,
        client: Any = None,
        endpoint_url: str | None = None,
        create: bool = False,
        **options: Any,
    ) -> None:
        from cloudmap.stores.gcs import GCSStore  # noqa: PLC0415  (imports the SDK)

        store = GCSStore(
            bucket_name,
            client=client,
            project=project,
            credentials=credentials,
            endpoint_url=endpoint_url,
            create=create,
        )
        _start(self, store, options)


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
        engine: `boto3` (the default) or `obstore` (the `fast` extra; see
            `S3Store`).
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
        engine: str = "boto3",
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
            engine=engine,
        )
        _start(self, store, options)
