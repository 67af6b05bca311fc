"""Mapping classes bound to one kind of store, mirroring cloud-mappings."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

from cloudmap.mapping import CloudMapping
from cloudmap.stores.azure import AzureBlobStore
from cloudmap.stores.local import LocalStore

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, ContainerClient

__all__ = ["AzureBlobMapping", "GoogleCloudStorageMapping", "LocalMapping"]

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


class AzureBlobMapping(CloudMapping[V]):
    """A CloudMapping over an Azure Storage container (see `AzureBlobStore`).

    Takes the store's arguments (one of `account_url`, `connection_string` and
    `client`) plus `CloudMapping`'s keyword options, so the cloud-mappings
    constructors work unchanged:

    ```python
    m = AzureBlobMapping.with_pickle(
        container_name="CONTAINER_NAME",
        account_url="https://ACCOUNT.blob.core.windows.net",
        credential=DefaultAzureCredential(),
    )
    ```

    Unlike cloud-mappings, the container is created only with `create=True`.
    """

    def __init__(
        self,
        container_name: str,
        *,
        account_url: str | None = None,
        credential: Any = None,
        connection_string: str | None = None,
        client: ContainerClient | BlobServiceClient | None = None,
        create: bool = False,
        **options: Any,
    ) -> None:
        store = AzureBlobStore(
            container_name,
            client=client,
            account_url=account_url,
            credential=credential,
            connection_string=connection_string,
            create=create,
        )
        try:
            super().__init__(store, **options)
        except BaseException:
            store.close()  # the initial listing failed: do not leak the client
            raise


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
        super().__init__(store, **options)
