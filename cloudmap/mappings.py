"""Mappings bound to one provider's store, mirroring cloud-mappings' classes.

`ProviderMapping` opens the store of the provider a subclass names (through
the registry of `cloudmap.stores`, so an SDK is imported only when used) and
owns it; the `with_pickle`, `with_json`, `with_json_zlib` and `with_buffers`
constructors come from `CloudMapping`.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from cloudmap.mapping import CloudMapping
from cloudmap.stores import store_class

if TYPE_CHECKING:
    from cloudmap.stores.azure import BlobServiceClient, ContainerClient
    from cloudmap.stores.s3 import S3Client

__all__ = [
    "AWSS3Mapping",
    "AzureBlobMapping",
    "GoogleCloudStorageMapping",
    "LocalMapping",
    "ProviderMapping",
]

V = TypeVar("V")


class ProviderMapping(CloudMapping[V]):
    """A `CloudMapping` over a store it opens, and closes, of one provider.

    Subclasses set `provider` (a name registered in `cloudmap.stores`) and call
    `_open` from their constructor with the store's arguments and the
    mapping's options apart.
    """

    provider: ClassVar[str]

    def _open(
        self,
        location: str | os.PathLike[str],
        arguments: dict[str, Any],
        options: dict[str, Any],
    ) -> None:
        """Open the store on `location`, then start the mapping over it.

        The store is closed if the mapping cannot start (its first listing failed).
        """
        store = store_class(self.provider)(location, **arguments)
        try:
            CloudMapping.__init__(self, store, **options)
        except BaseException:
            store.close()  # the initial listing failed: do not leak the client
            raise


class LocalMapping(ProviderMapping[V]):
    """A CloudMapping over a directory on disk (see `LocalStore`).

    Examples:
        >>> import tempfile
        >>> with LocalMapping.with_json(tempfile.mkdtemp()) as m:
        ...     m["config"] = {"workers": 4}
        ...     m["config"]["workers"]
        4
    """

    provider = "local"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        fsync: bool = True,
        **options: Any,
    ) -> None:
        self._open(path, {"create": create, "fsync": fsync}, options)


class AzureBlobMapping(ProviderMapping[V]):
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

    provider = "azure"

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
        arguments = {
            "client": client,
            "account_url": account_url,
            "credential": credential,
            "connection_string": connection_string,
            "account_name": account_name,
            "create": create,
            "engine": engine,
        }
        self._open(container_name, arguments, options)


class GoogleCloudStorageMapping(ProviderMapping[V]):
    """A CloudMapping over a Google Cloud Storage bucket (see `GCSStore`).

    Examples:
        ```python
        m = GoogleCloudStorageMapping.with_json(bucket_name="jobs", project="p")
        m["config"] = {"workers": 4}
        ```
    """

    provider = "gcs"

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
        arguments = {
            "client": client,
            "project": project,
            "credentials": credentials,
            "endpoint_url": endpoint_url,
            "create": create,
        }
        self._open(bucket_name, arguments, options)


class AWSS3Mapping(ProviderMapping[V]):
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

    provider = "s3"

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
        arguments = {
            "client": client,
            "endpoint_url": endpoint_url,
            "region_name": region_name,
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
            "profile_name": profile_name,
            "create": create,
            "engine": engine,
        }
        self._open(bucket_name, arguments, options)
