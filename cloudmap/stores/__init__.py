"""Store implementations; the cloud ones import their SDK only when used."""

from __future__ import annotations

from cloudmap.stores.azure import AzureBlobStore as AzureBlobStore
from cloudmap.stores.gcs import GCSStore as GCSStore
from cloudmap.stores.local import LocalStore as LocalStore
from cloudmap.stores.memory import MemoryStore as MemoryStore
from cloudmap.stores.s3 import S3Store as S3Store

__all__ = ["AzureBlobStore", "GCSStore", "LocalStore", "MemoryStore", "S3Store"]
