"""Mapping classes bound to one kind of store, mirroring cloud-mappings."""

from __future__ import annotations

import os
from typing import Any, TypeVar

from cloudmap.mapping import CloudMapping
from cloudmap.stores.local import LocalStore

__all__ = ["GoogleCloudStorageMapping", "LocalMapping"]

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
