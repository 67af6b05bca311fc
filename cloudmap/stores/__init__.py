"""The Store protocol and its implementations (cloud SDKs imported only when used)."""

from __future__ import annotations

from cloudmap.stores._protocol import MAX_KEY_BYTES as MAX_KEY_BYTES
from cloudmap.stores._protocol import Entry as Entry
from cloudmap.stores._protocol import ListedKey as ListedKey
from cloudmap.stores._protocol import PutMode as PutMode
from cloudmap.stores._protocol import Replace as Replace
from cloudmap.stores._protocol import Store as Store
from cloudmap.stores._protocol import check_precondition as check_precondition
from cloudmap.stores._protocol import folder_prefix as folder_prefix
from cloudmap.stores._protocol import validate_key as validate_key
from cloudmap.stores.azure import AzureBlobStore as AzureBlobStore
from cloudmap.stores.gcs import GCSStore as GCSStore
from cloudmap.stores.local import LocalStore as LocalStore
from cloudmap.stores.memory import MemoryStore as MemoryStore
from cloudmap.stores.s3 import S3Store as S3Store

__all__ = [
    "MAX_KEY_BYTES",
    "AzureBlobStore",
    "Entry",
    "GCSStore",
    "ListedKey",
    "LocalStore",
    "MemoryStore",
    "PutMode",
    "Replace",
    "S3Store",
    "Store",
    "check_precondition",
    "folder_prefix",
    "validate_key",
]
