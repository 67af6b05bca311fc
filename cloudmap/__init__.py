"""cloudmap: a dict whose items live in a cloud object store or a local directory.

Imports no cloud SDK: each provider's store loads its SDK when first used.
"""

from __future__ import annotations

from cloudmap import codecs as codecs
from cloudmap._version import __version__ as __version__
from cloudmap.aio import AsyncCloudMapping as AsyncCloudMapping
from cloudmap.aio import open_async as open_async
from cloudmap.cache import CacheInfo as CacheInfo
from cloudmap.cache import CacheSpec as CacheSpec
from cloudmap.changes import Changes as Changes
from cloudmap.codecs import Codec as Codec
from cloudmap.errors import AccessDeniedError as AccessDeniedError
from cloudmap.errors import BulkError as BulkError
from cloudmap.errors import CloudMapError as CloudMapError
from cloudmap.errors import CodecError as CodecError
from cloudmap.errors import ConfigError as ConfigError
from cloudmap.errors import ContainerNotFoundError as ContainerNotFoundError
from cloudmap.errors import EtagMismatchError as EtagMismatchError
from cloudmap.errors import FencedError as FencedError
from cloudmap.errors import KeyExistsError as KeyExistsError
from cloudmap.errors import KeySyncError as KeySyncError
from cloudmap.errors import LockLost as LockLost
from cloudmap.errors import LockTimeout as LockTimeout
from cloudmap.errors import MissingCredentialsError as MissingCredentialsError
from cloudmap.errors import MissingDependencyError as MissingDependencyError
from cloudmap.errors import NotSupportedError as NotSupportedError
from cloudmap.errors import ReadOnlyError as ReadOnlyError
from cloudmap.errors import ReplicationError as ReplicationError
from cloudmap.errors import StoreError as StoreError
from cloudmap.errors import TransientStoreError as TransientStoreError
from cloudmap.faults import Fault as Fault
from cloudmap.faults import FaultyStore as FaultyStore
from cloudmap.faults import RandomFaults as RandomFaults
from cloudmap.lease import Lease as Lease
from cloudmap.mapping import CloudMapping as CloudMapping
from cloudmap.providers import AWSS3Mapping as AWSS3Mapping
from cloudmap.providers import AzureBlobMapping as AzureBlobMapping
from cloudmap.providers import GoogleCloudStorageMapping as GoogleCloudStorageMapping
from cloudmap.providers import LocalMapping as LocalMapping
from cloudmap.replication import RepairReport as RepairReport
from cloudmap.replication import ReplicatedMapping as ReplicatedMapping
from cloudmap.retry import RetryingStore as RetryingStore
from cloudmap.retry import default_retry as default_retry
from cloudmap.retry import retry_policy as retry_policy
from cloudmap.shelf import Shelf as Shelf
from cloudmap.shelf import open as open  # noqa: A004 - shelve's name, on purpose
from cloudmap.stores import AzureBlobStore as AzureBlobStore
from cloudmap.stores import GCSStore as GCSStore
from cloudmap.stores import LocalStore as LocalStore
from cloudmap.stores import MemoryStore as MemoryStore
from cloudmap.stores import S3Store as S3Store
from cloudmap.stores._protocol import Entry as Entry
from cloudmap.stores._protocol import ListedKey as ListedKey
from cloudmap.stores._protocol import Store as Store
from cloudmap.verify import Verdict as Verdict
from cloudmap.verify import verify as verify  # the function shadows its module

__all__ = [
    "__version__",
    "AccessDeniedError",
    "AsyncCloudMapping",
    "AWSS3Mapping",
    "AzureBlobMapping",
    "AzureBlobStore",
    "BulkError",
    "CacheInfo",
    "CacheSpec",
    "Changes",
    "CloudMapError",
    "CloudMapping",
    "Codec",
    "CodecError",
    "codecs",
    "ConfigError",
    "ContainerNotFoundError",
    "default_retry",
    "Entry",
    "EtagMismatchError",
    "Fault",
    "FaultyStore",
    "FencedError",
    "GCSStore",
    "GoogleCloudStorageMapping",
    "KeyExistsError",
    "KeySyncError",
    "Lease",
    "ListedKey",
    "LocalMapping",
    "LocalStore",
    "LockLost",
    "LockTimeout",
    "MemoryStore",
    "MissingCredentialsError",
    "MissingDependencyError",
    "NotSupportedError",
    "open",
    "open_async",
    "RandomFaults",
    "ReadOnlyError",
    "RepairReport",
    "ReplicatedMapping",
    "ReplicationError",
    "retry_policy",
    "RetryingStore",
    "S3Store",
    "Shelf",
    "Store",
    "StoreError",
    "TransientStoreError",
    "Verdict",
    "verify",
]
