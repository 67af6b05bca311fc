"""cloudmap: a dict whose items live in a cloud object store or a local directory.

Imports no cloud SDK: each provider's store loads its SDK when first used. The
top level holds what most programs need; stores, test doubles and the rarer
errors live in their modules (``cloudmap.stores``, ``cloudmap.testing``,
``cloudmap.errors``, ...).
"""

from __future__ import annotations

import importlib
import warnings

from cloudmap import codecs as codecs
from cloudmap._version import __version__ as __version__
from cloudmap.aio import AsyncCloudMapping as AsyncCloudMapping
from cloudmap.aio import open_async as open_async
from cloudmap.codecs import Codec as Codec
from cloudmap.errors import BulkError as BulkError
from cloudmap.errors import CloudMapError as CloudMapError
from cloudmap.errors import EtagMismatchError as EtagMismatchError
from cloudmap.errors import FencedError as FencedError
from cloudmap.errors import KeyExistsError as KeyExistsError
from cloudmap.errors import KeySyncError as KeySyncError
from cloudmap.errors import LockLost as LockLost
from cloudmap.errors import LockTimeout as LockTimeout
from cloudmap.errors import ReadOnlyError as ReadOnlyError
from cloudmap.errors import ReplicationError as ReplicationError
from cloudmap.errors import StoreError as StoreError
from cloudmap.errors import TransientStoreError as TransientStoreError
from cloudmap.lease import Lease as Lease
from cloudmap.mapping import CloudMapping as CloudMapping
from cloudmap.providers import AWSS3Mapping as AWSS3Mapping
from cloudmap.providers import AzureBlobMapping as AzureBlobMapping
from cloudmap.providers import GoogleCloudStorageMapping as GoogleCloudStorageMapping
from cloudmap.providers import LocalMapping as LocalMapping
from cloudmap.replication import ReplicatedMapping as ReplicatedMapping
from cloudmap.retry import retry_policy as retry_policy
from cloudmap.shelf import Shelf as Shelf
from cloudmap.shelf import open as open  # noqa: A004 - shelve's name, on purpose
from cloudmap.verify import verify as verify  # the function shadows its module

__all__ = [
    "__version__",
    "AsyncCloudMapping",
    "AWSS3Mapping",
    "AzureBlobMapping",
    "BulkError",
    "CloudMapError",
    "CloudMapping",
    "Codec",
    "codecs",
    "EtagMismatchError",
    "FencedError",
    "GoogleCloudStorageMapping",
    "KeyExistsError",
    "KeySyncError",
    "Lease",
    "LocalMapping",
    "LockLost",
    "LockTimeout",
    "open",
    "open_async",
    "ReadOnlyError",
    "ReplicatedMapping",
    "ReplicationError",
    "retry_policy",
    "Shelf",
    "StoreError",
    "TransientStoreError",
    "verify",
]

# Names that left the top level: each still resolves, with a
# DeprecationWarning naming its module, until the next release removes it.
_MOVED = {
    "AccessDeniedError": "cloudmap.errors",
    "AzureBlobStore": "cloudmap.stores",
    "CacheInfo": "cloudmap.cache",
    "CacheSpec": "cloudmap.cache",
    "Changes": "cloudmap.changes",
    "CodecError": "cloudmap.errors",
    "ConfigError": "cloudmap.errors",
    "ContainerNotFoundError": "cloudmap.errors",
    "default_retry": "cloudmap.retry",
    "Entry": "cloudmap.stores",
    "Fault": "cloudmap.testing",
    "FaultyStore": "cloudmap.testing",
    "GCSStore": "cloudmap.stores",
    "ListedKey": "cloudmap.stores",
    "LocalStore": "cloudmap.stores",
    "MemoryStore": "cloudmap.stores",
    "MissingCredentialsError": "cloudmap.errors",
    "MissingDependencyError": "cloudmap.errors",
    "NotSupportedError": "cloudmap.errors",
    "RandomFaults": "cloudmap.testing",
    "RepairReport": "cloudmap.replication",
    "RetryingStore": "cloudmap.retry",
    "S3Store": "cloudmap.stores",
    "Store": "cloudmap.stores",
    "Verdict": "cloudmap.verify",
}


def __getattr__(name: str) -> object:
    """Resolve a name that moved off the top level, with a DeprecationWarning."""
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'cloudmap' has no attribute {name!r}")
    warnings.warn(
        f"cloudmap.{name} is deprecated and will be removed from the top level "
        f"in the next release; import it from {module} instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
