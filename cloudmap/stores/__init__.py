"""The Store protocol, its implementations, and the registry that finds a store.

A store is found by provider, URL scheme or ini name.

Each registry line names a provider (the storage service: `s3`, `azure`, ...)
and its store class by import path, so a store module is imported only when a
target of its provider is opened. The class itself declares how targets name it:

| class attribute | meaning | default |
|---|---|---|
| `url_schemes` | URL schemes, the first one canonical (`("s3",)`) | `()` |
| `url_options` | URL query parameter -> constructor argument | `{}` |
| `ini_providers` | values of an ini section's `provider =` key | `()` |
| `ini_location` | ini options naming the bucket or directory, first found wins | `()` |
| `ini_options` | other ini options -> constructor argument (`""`: read apart) | `{}` |
| `extra` | the `cloudmap-dict` extra that installs its SDK | `None` |

and optionally one classmethod: `from_target(location, arguments, *, create,
read_only)` when the constructor cannot be called as `cls(location,
create=..., **arguments)`, or `ini_arguments(values, *, where)` for ini
options that need more than a rename. Adding a provider is one new package
and one line in `_REGISTRY` (or, outside cloudmap, one call to `register`).
"""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import TYPE_CHECKING, Any

from cloudmap._extras import install_hint
from cloudmap.errors import ConfigError, MissingDependencyError
from cloudmap.stores._protocol import MAX_KEY_BYTES as MAX_KEY_BYTES
from cloudmap.stores._protocol import Entry as Entry
from cloudmap.stores._protocol import ListedKey as ListedKey
from cloudmap.stores._protocol import PutMode as PutMode
from cloudmap.stores._protocol import Replace as Replace
from cloudmap.stores._protocol import Store as Store
from cloudmap.stores._protocol import check_mode as check_mode
from cloudmap.stores._protocol import check_precondition as check_precondition
from cloudmap.stores._protocol import folder_prefix as folder_prefix
from cloudmap.stores._protocol import validate_key as validate_key
from cloudmap.stores._wrapper import StoreWrapper as StoreWrapper

if TYPE_CHECKING:
    from cloudmap.stores.azure import AzureBlobStore
    from cloudmap.stores.gcs import GCSStore
    from cloudmap.stores.local import LocalStore
    from cloudmap.stores.memory import MemoryStore
    from cloudmap.stores.s3 import S3Store

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
    "StoreWrapper",
    "check_mode",
    "check_precondition",
    "folder_prefix",
    "memory_store",
    "open_provider",
    "provider_for_ini",
    "provider_for_scheme",
    "providers",
    "register",
    "store_class",
    "validate_key",
]

# provider -> "module:Class"; in this order for scheme and ini-name look-ups.
_REGISTRY: dict[str, str | type[Any]] = {
    "local": "cloudmap.stores.local:LocalStore",
    "memory": "cloudmap.stores.memory:MemoryStore",
    "s3": "cloudmap.stores.s3:S3Store",
    "azure": "cloudmap.stores.azure:AzureBlobStore",
    "gcs": "cloudmap.stores.gcs:GCSStore",
}
_LOCK = threading.Lock()
_SHARED: dict[str, Any] = {}
# The built-in classes, importable as `cloudmap.stores.S3Store` whatever is registered.
_EXPORTS = {str(path).partition(":")[2]: str(path) for path in _REGISTRY.values()}


def register(provider: str, store: str | type[Any]) -> None:
    """Register `store` (a class, or `"module:Class"` imported when used) as `provider`.

    A provider registered again is replaced, so a package can swap in its own store.
    """
    if isinstance(store, str) and ":" not in store:
        msg = f"register({provider!r}, {store!r}): name the class as 'module:Class'"
        raise ValueError(msg)
    with _LOCK:
        _REGISTRY[provider] = store


def providers() -> list[str]:
    """The registered providers, in look-up order."""
    with _LOCK:
        return list(_REGISTRY)


def store_class(provider: str) -> type[Any]:
    """The store class of `provider`, imported on first use.

    Raises:
        ConfigError: no store is registered under `provider`.
    """
    with _LOCK:
        entry = _REGISTRY.get(provider)
    if entry is None:
        raise ConfigError(f"unknown provider {provider!r}")
    if not isinstance(entry, str):
        return entry
    module_name, _, class_name = entry.partition(":")
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    with _LOCK:
        _REGISTRY[provider] = cls
    return cls


def provider_for_scheme(scheme: str) -> str | None:
    """The provider whose store declares URL scheme `scheme`, or None."""
    for provider in providers():
        if scheme in getattr(store_class(provider), "url_schemes", ()):
            return provider
    return None


def provider_for_ini(name: str) -> str | None:
    """The provider whose store declares ini `provider = name`, or None."""
    for provider in providers():
        if name in getattr(store_class(provider), "ini_providers", ()):
            return provider
    return None


def open_provider(
    provider: str,
    location: str,
    arguments: dict[str, Any],
    *,
    create: bool = False,
    read_only: bool = False,
) -> Store:
    """Construct `provider`'s store on `location` (bucket, container, directory, name).

    `arguments` go to the constructor; `create` and `read_only` only to a
    constructor that takes them.

    Raises:
        ConfigError: the provider is unknown.
        MissingDependencyError: its SDK is not installed (names the extra).
    """
    cls = store_class(provider)
    from_target = getattr(cls, "from_target", None)
    if from_target is not None:
        built: Store = from_target(
            location, arguments, create=create, read_only=read_only
        )
        return built
    parameters = inspect.signature(cls).parameters
    options = dict(arguments)
    if "create" in parameters:
        options["create"] = create
    if read_only and "read_only" in parameters:
        options["read_only"] = True
    try:
        store: Store = cls(location, **options)
    except MissingDependencyError:
        raise
    except ImportError as exc:
        extra = getattr(cls, "extra", None)
        hint = f": {install_hint(extra)}" if extra else ""
        msg = f"{cls.__name__} ({provider}) needs the {exc.name!r} package{hint}"
        raise MissingDependencyError(msg) from exc
    return store


def memory_store(name: str) -> MemoryStore:
    """The process-wide `MemoryStore` registered under `name`, created on first use.

    Every `memory://name` target in one process shares it, as clients of one
    server do.
    """
    from cloudmap.stores.memory import MemoryStore  # noqa: PLC0415

    with _LOCK:
        store = _SHARED.get(name)
        if store is None:
            store = _SHARED[name] = MemoryStore(name)
        shared: MemoryStore = store
        return shared


def __getattr__(name: str) -> Any:
    """The built-in store classes, imported on first use."""
    if name in _EXPORTS:
        module_name = _EXPORTS[name].partition(":")[0]
        return getattr(importlib.import_module(module_name), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
